"""Demo data for `make run`: the demo installer's company and its Nettmelding cases on demo bases.
Idempotent (related cases are keyed by source and external id)."""

from django.contrib.auth import get_user_model
from django.db import transaction

from billing.models import InvoiceBasis

from . import services
from .models import Installer

CASES = [  # basis reference (billing.demo), source, external id, title
    ("DEMO-1", "nettmelding", "NM-2026-10411", "Forhåndsmelding: ny tilknytning, Bakkeveien 2"),
    ("DEMO-3", "nettmelding", "NM-2026-10387", "Forhåndsmelding: boligfelt Solsiden, trinn 1"),
    ("DEMO-4", "work_order", "AO-55120", "Arbeidsordre: omlegging av stikkledning"),
    ("DEMO-7", "nettmelding", "NM-2026-10502", "Forhåndsmelding: garasje med lader"),
]


INSTALLER = {"name": "Elektro Vest AS", "orgnr": "919876506", "email": "post@elektrovest.example",
             "phone": "55 20 30 40"}  # a valid org.nr. of its own, not the grid company's


@transaction.atomic
def seed(stdout=None):
    installer = (Installer.objects.filter(orgnr=INSTALLER["orgnr"]).first()
                 or Installer.objects.filter(name=INSTALLER["name"]).order_by("id").first())
    if installer is None:
        installer = Installer.objects.create(**INSTALLER)
    elif installer.orgnr != INSTALLER["orgnr"]:
        installer.orgnr = INSTALLER["orgnr"]  # an older demo gave the installer the seller's own org.nr.
        installer.save(update_fields=["orgnr"])
    user = get_user_model().objects.filter(username="installator").first()
    if user is not None:
        installer.users.add(user)
    made = 0
    for ref, source, external_id, title in CASES:
        basis = InvoiceBasis.objects.filter(reference=ref).first()
        if basis is None:
            continue
        _case, created = services.related_case_link(
            basis=basis, by=None, source=source, external_id=external_id, title=title,
            installer=installer)
        made += created
    if stdout:
        stdout.write(f"  installatør: {installer.name}, {made} relaterte saker opprettet")
