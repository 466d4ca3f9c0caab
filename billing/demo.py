"""Demo data for `make run` (called by `manage.py seed_demo`). Idempotent: bases are keyed by an
external reference, so a second run finds them and changes nothing."""

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from . import providers, services
from .access import company_admin_grant
from .models import CompanyProfile, Customer, InvoiceBasis

D = Decimal

COMPANY = dict(name="Fjordnett AS", orgnr="914588200", vat_registered=True, foretaksregisteret=True,
               street="Kraftveien 1", postal_code="5003", city="Bergen", email="kundeservice@fjordnett.example",
               phone="55 00 00 00", website="fjordnett.example", bank_account="12345678903", kid_scheme="MOD10",
               kid_length=10, letterhead_note="Nettselskapet for Vestlandet")

CUSTOMER_ORGNR = "923456783"  # Vestbygg AS: a valid org.nr. that is not the seller's

EXAMPLE1 = [
    ("connection_contribution", "Materiell (kabel, kabelskap, sikringer)", "1", "stk", "18450.00"),
    ("connection_contribution", "Eget arbeid, montør", "12.5", "t", "845.00"),
    ("connection_contribution", "Gravemaskin", "4", "t", "1150.00"),
    ("connection_contribution", "Entreprenør, graving og legging", "1", "stk", "23780.40"),
    ("resealing", "Replombering av måler", "1", "stk", "1200.00"),
]


def _ensure_company():
    profile = CompanyProfile.objects.filter(pk=1).first()
    if profile:
        return profile, False
    profile = CompanyProfile(pk=1, **COMPANY)
    profile.full_clean()
    profile.save()
    return profile, True


def _customer(name, email, user=None, **fields):
    customer = Customer.objects.filter(email=email, name=name).first()
    if customer is None:
        customer = services.customer_create(name=name, email=email, **fields)
    elif fields.get("orgnr") and customer.orgnr != fields["orgnr"]:
        customer.orgnr = fields["orgnr"]  # an older demo gave the customer the seller's own org.nr.
        customer.save(update_fields=["orgnr"])
    if user is not None and customer.user_id != user.pk:
        customer.user = user
        customer.save(update_fields=["user"])
    return customer


def _basis(ref, title, customer, by, lines, steps, **fields):
    existing = InvoiceBasis.objects.filter(reference=ref).first()
    if existing:
        return existing, False
    basis, _ = services.basis_create(by=by, title=title, customer=customer, reference=ref, **fields)
    for category, text, qty, unit, price in lines:
        services.line_add(basis=basis, by=by, category=category, description=text, quantity=D(qty),
                          unit=unit, unit_price=D(price))
    if "offer" in steps:
        services.offer_send(basis=basis, by=by)
    if "accept" in steps:
        services.offer_accept(basis=basis, by=None, channel="phone", note="Demo: akseptert på telefon")
    if "invoice" in steps:
        services.invoices_issue(basis=basis, by=by)
    if "pay" in steps:
        for invoice in basis.invoices.filter(number__isnull=False):
            services.payment_register(invoice=invoice, by=by, amount=invoice.gross_total, method="bank_transfer",
                                      provider=providers.BANK, provider_reference=f"DEMO-{invoice.number}")
    if "decline" in steps:
        services.offer_decline(basis=basis, by=None, channel="phone", reason="Demo: for dyrt, vil vente et år")
    if "expire" in steps:
        basis.refresh_from_db()
        services.offer_expire(basis=basis, by=None, on=basis.offer_valid_until + dt.timedelta(days=1))
    if "cancel" in steps:
        services.basis_cancel(basis=basis, by=by, reason="Demo: kunden trakk bestillingen")
    return basis, True


@transaction.atomic
def seed(stdout=None):
    def say(msg):
        if stdout:
            stdout.write(msg)

    profile, created = _ensure_company()
    say(f"  selskap: {profile.name} ({'opprettet' if created else 'uendret'})")
    User = get_user_model()
    worker = User.objects.filter(username="saksbehandler").first()
    if worker is not None:
        # The demo case worker is also the company admin, so the settings page can be tried out.
        company_admin_grant(user=worker)
        say("  saksbehandler er selskapsadministrator (selskapsinnstillinger)")
    kunde = User.objects.filter(username="kunde").first()
    kari = _customer("Kari Kunde", "kunde@example.com", user=kunde, phone="+47 400 00 000",
                     street="Bakkeveien 2", postal_code="5010", city="Bergen")
    ola = _customer("Ola Nordmann", "ola@example.com", street="Fjellveien 9", postal_code="5019", city="Bergen")
    bygg = _customer("Vestbygg AS", "faktura@vestbygg.example", orgnr=CUSTOMER_ORGNR, kind="organisation",
                     street="Havnegata 4", postal_code="5004", city="Bergen")
    site = dict(site_street="Bakkeveien 2", site_postal_code="5010", site_city="Bergen",
                metering_point_id="707057500012345671", order_date=dt.date.today() - dt.timedelta(days=20))
    plans = [
        ("DEMO-1", "Ny tilknytning, Bakkeveien 2", kari, EXAMPLE1, ["offer"], site),
        ("DEMO-2", "Utvidet kapasitet, Fjellveien 9", ola, EXAMPLE1[:3], [], {}),
        ("DEMO-3", "Boligfelt Solsiden, byggetrinn 1", bygg, EXAMPLE1, ["offer", "accept"], {}),
        ("DEMO-4", "Flytting av stikkledning, Havnegata 4", bygg,
         [("relocation", "Omlegging av kabel", "1", "stk", "14500.00")], ["offer", "accept", "invoice"], {}),
        ("DEMO-5", "Målerbytte, Fjellveien 9", ola,
         [("meter_work", "Bytte av måler", "1", "stk", "2400.00")], ["offer", "accept", "invoice", "pay"], {}),
        ("DEMO-6", "Ny tilknytning, Strandveien 1", ola, EXAMPLE1[:1], ["cancel"], {}),
        ("DEMO-7", "Garasje med lader, Bakkeveien 2", kari,
         [("connection_contribution", "Kabel og tilkobling", "1", "stk", "9800.00"),
          ("meter_work", "Ekstra måler", "1", "stk", "1950.00")], ["offer", "accept", "invoice"], {}),
        ("DEMO-8", "Effektøkning, Fjellveien 9", ola,
         [("connection_contribution", "Ny kabel og sikringer", "1", "stk", "21500.00")], ["offer", "decline"], {}),
        ("DEMO-9", "Byggestrøm, Havnegata 4", bygg,
         [("connection_contribution", "Midlertidig tilknytning", "1", "stk", "6400.00")], ["offer", "expire"], {}),
    ]
    made = 0
    for ref, title, customer, lines, steps, fields in plans:
        _, new = _basis(ref, title, customer, worker, lines, steps, **fields)
        made += new
    say(f"  fakturagrunnlag: {made} opprettet, {len(plans) - made} fantes fra før")
    return profile
