"""ERP customer search in the case worker's basis form: the search field is on the page, the hits
carry what erp.js fills in, and (in a browser) picking a hit fills the customer and its ERP number."""

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.urls import reverse

from integrations.erp import adapters


class _Hits(HTMLParser):
    def __init__(self):
        super().__init__()
        self.buttons, self.inputs, self.scripts = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "button" and "erp-hit" in (a.get("class") or "").split():
            self.buttons.append(a)
        elif tag == "input":
            self.inputs.append(a)
        elif tag == "script":
            self.scripts.append(a.get("src") or "")


def _parse(html: str) -> _Hits:
    p = _Hits()
    p.feed(html)
    return p


@pytest.mark.django_db
def test_basis_page_has_the_erp_customer_search(caseworker_client, company):
    page = _parse(caseworker_client.get(reverse("billing:basis_create")).content.decode())
    [search] = [i for i in page.inputs if i.get("id") == "id_erp_customer_q"]
    assert search["hx-get"] == reverse("erp:customer_search")
    assert search["hx-trigger"].startswith("input changed delay:300ms")
    assert search["hx-target"] == "#erp-customer-hits"
    assert any(i.get("name") == "new_customer_erp_number" and i.get("type") == "hidden" for i in page.inputs)
    assert any(src.endswith("js/erp.js") for src in page.scripts)


@pytest.mark.django_db
def test_hits_carry_every_field_the_form_is_filled_with(caseworker_client, settings):
    settings.ERP_ADAPTER = "demo"
    html = caseworker_client.get(reverse("erp:customer_search"), {"q": "Bergen Boligbygg"},
                                 HTTP_HX_REQUEST="true").content.decode()
    [hit] = _parse(html).buttons
    fixture = next(c for c in json.loads((Path(adapters.__file__).parent / "fixtures" / "demo_customers.json")
                                         .read_text("utf-8")) if c["number"] == "10001")
    for attr, key in [("data-erp-number", "number"), ("data-erp-name", "name"), ("data-erp-email", "email"),
                      ("data-erp-phone", "phone"), ("data-erp-orgnr", "orgnr"), ("data-erp-kind", "kind")]:
        assert hit[attr] == fixture[key], attr
    assert hit["type"] == "button", "picking a hit must not submit the basis form"


@pytest.mark.django_db
def test_hit_attributes_are_escaped(caseworker_client, settings, tmp_path):
    path = tmp_path / "customers.json"
    path.write_text(json.dumps([{"number": "77", "name": 'Ærlig & "Sønn" <AS>', "email": "a@b.no"}]), "utf-8")
    settings.ERP_ADAPTER, settings.ERP_DEMO_CUSTOMERS = "demo", str(path)
    html = caseworker_client.get(reverse("erp:customer_search"), {"q": "ærlig"}).content.decode()
    assert "<AS>" not in html
    [hit] = _parse(html).buttons
    assert hit["data-erp-name"] == 'Ærlig & "Sønn" <AS>'


def test_picked_erp_customer_is_saved_with_its_number_and_reused(caseworker_client, company):
    from billing.models import Customer, InvoiceBasis

    form = {"title": "Ny tilknytning", "new_customer_name": "Bergen Boligbygg AS",
            "new_customer_email": "post@bergenboligbygg.example", "new_customer_orgnr": "914588200",
            "new_customer_erp_number": "10001"}
    for _ in range(2):
        response = caseworker_client.post(reverse("billing:basis_create"), form)
        assert response.status_code in (200, 302)
    [customer] = Customer.objects.filter(erp_customer_number="10001")
    assert customer.name == "Bergen Boligbygg AS" and customer.kind == "organisation"
    assert InvoiceBasis.objects.filter(customer=customer).count() == 2, "the second basis reuses the ERP customer"
