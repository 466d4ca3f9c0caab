"""The demo's parties are believable: every customer and installer the demo creates, and every ERP demo
customer, has a valid organisation number (mod 11, checked with python-stdnum) of its own — none has the
grid company's, which would put the seller on the buyer line of an invoice."""

import json

import pytest
from django.core.management import call_command
from stdnum.no import orgnr as stdnum_orgnr

from billing.models import CompanyProfile, Customer
from integrations.models import Installer, RelatedCase
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.django_db
ERP_DEMO = REPO_ROOT / "integrations" / "erp" / "fixtures" / "demo_customers.json"


def _demo_parties() -> dict[str, str]:
    parties = {f"kunde {c.name}": c.orgnr for c in Customer.objects.exclude(orgnr="")}
    parties.update({f"installatør {i.name}": i.orgnr for i in Installer.objects.all()})
    parties.update({f"ERP-kunde {c['name']}": c["orgnr"] for c in json.loads(ERP_DEMO.read_text()) if c.get("orgnr")})
    return parties


def test_no_demo_party_has_the_sellers_org_nr_and_every_one_is_valid_and_distinct(capsys):
    call_command("seed_demo")
    seller = CompanyProfile.objects.get(pk=1).orgnr
    parties = _demo_parties()
    assert {"kunde Vestbygg AS", "installatør Elektro Vest AS"} <= set(parties)
    assert [name for name, number in parties.items() if number == seller] == []
    assert [name for name, number in parties.items() if not stdnum_orgnr.is_valid(number)] == []
    assert len(set(parties.values())) == len(parties), parties  # no two parties share one
    assert stdnum_orgnr.is_valid(seller)


def test_an_older_demo_with_the_sellers_org_nr_is_repaired(capsys):
    call_command("seed_demo")
    seller = CompanyProfile.objects.get(pk=1).orgnr
    Installer.objects.filter(name="Elektro Vest AS").update(orgnr=seller)
    Customer.objects.filter(name="Vestbygg AS").update(orgnr=seller)
    call_command("seed_demo")
    assert Installer.objects.filter(name="Elektro Vest AS").count() == 1
    assert Installer.objects.get(name="Elektro Vest AS").orgnr not in ("", seller)
    assert Customer.objects.get(name="Vestbygg AS").orgnr not in ("", seller)
    # The demo cases still belong to the one demo installer, which the demo installer user sees.
    assert set(RelatedCase.objects.values_list("installer__name", flat=True)) == {"Elektro Vest AS"}
    assert Installer.objects.get(name="Elektro Vest AS").users.filter(username="installator").exists()
