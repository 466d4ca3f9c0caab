"""Picking an ERP customer fills the whole customer: name, org.nr., e-mail, phone and the postal address
(street, postcode, city), so the new customer can be invoiced (bokføringsforskriften § 5-1-1 needs the
buyer's address). ERPs that name the address fields differently, or nest them, are read too."""

import pytest
from playwright.sync_api import expect

from billing.models import Customer
from integrations.erp.adapters import _normalise
from tests.support.browser import fill_login


def test_address_fields_are_read_flat_nested_or_under_other_names():
    flat = _normalise({"number": "1", "name": "A", "street": "Kaia 4", "postal_code": "6900", "city": "Florø"})
    assert (flat["street"], flat["postal_code"], flat["city"]) == ("Kaia 4", "6900", "Florø")
    nested = _normalise({"id": 7, "name": "B", "address": {"line1": "Torget 1", "postcode": "5014", "town": "Bergen"}})
    assert (nested["number"], nested["street"], nested["postal_code"], nested["city"]) == (
        "7", "Torget 1", "5014", "Bergen")
    other = _normalise({"number": "2", "name": "C", "address": "Storgata 3", "zip": "0155", "postal_place": "Oslo"})
    assert (other["street"], other["postal_code"], other["city"]) == ("Storgata 3", "0155", "Oslo")
    none = _normalise({"number": "3", "name": "D"})
    assert (none["street"], none["postal_code"], none["city"]) == ("", "", "")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_picking_an_erp_hit_fills_the_postal_address_and_the_customer_is_created_with_it(
        role_groups, live_server, page, caseworker, company, settings):
    settings.ERP_ADAPTER = "demo"
    page.goto(f"{live_server.url}/arbeid/grunnlag/ny/")
    fill_login(page, caseworker.username)
    expect(page.get_by_role("heading", name="Nytt fakturagrunnlag")).to_be_visible()

    page.get_by_label("Hent kunde fra ERP").fill("Bergen Boligbygg")
    hit = page.locator("#erp-customer-hits button.erp-hit")
    expect(hit).to_have_count(1)
    hit.click()

    expect(page.get_by_label("Navn på ny kunde")).to_have_value("Bergen Boligbygg AS")
    expect(page.locator("[name=new_customer_orgnr]")).to_have_value("914500001")
    expect(page.locator("[name=new_customer_email]")).to_have_value("post@bergenboligbygg.example")
    expect(page.locator("[name=new_customer_phone]")).to_have_value("55 12 34 01")
    expect(page.locator("[name=new_customer_street]")).to_have_value("Sandviksveien 12")
    expect(page.locator("[name=new_customer_postal_code]")).to_have_value("5035")
    expect(page.locator("[name=new_customer_city]")).to_have_value("Bergen")
    expect(page.locator("[name=site_street]")).to_have_value("")  # the site is not the postal address

    page.get_by_label("Tittel").fill("Nytt bygg, Sandviksveien 12")
    page.get_by_role("button", name="Opprett grunnlag").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nytt bygg, Sandviksveien 12")
    customer = Customer.objects.get(name="Bergen Boligbygg AS")
    assert (customer.street, customer.postal_code, customer.city, customer.orgnr, customer.erp_customer_number) == (
        "Sandviksveien 12", "5035", "Bergen", "914500001", "10001")
