"""The buyer on the basis page: address captured and edited, fields checked at once, and no invoice or
credit note to a buyer without postal address or organisation number."""

import pytest
from django.urls import reverse

from billing import services
from billing.models import Customer, Invoice, InvoiceBasis
from tests.support.factories import accepted_basis, make_customer

pytestmark = pytest.mark.django_db

MISSING = "Kunden mangler postadresse (gate, postnummer og sted) eller organisasjonsnummer"


def html(response) -> str:
    return response.content.decode()


def action_url(basis, action):
    return reverse("billing:basis_action", args=[basis.pk, action])


def test_new_basis_takes_the_new_customers_postal_address(caseworker_client, caseworker, company):
    response = caseworker_client.post(reverse("billing:basis_create"), {
        "title": "Ny tilknytning", "new_customer_name": "Lise Lia", "new_customer_email": "lise@example.com",
        "new_customer_phone": "+47 912 34 567", "new_customer_street": "Lia 4", "new_customer_postal_code": "5009",
        "new_customer_city": "Bergen"})
    assert response.status_code == 302
    customer = InvoiceBasis.objects.get(title="Ny tilknytning").customer
    assert (customer.street, customer.postal_code, customer.city, customer.phone) == (
        "Lia 4", "5009", "Bergen", "+47 912 34 567")


def test_new_basis_reports_every_invalid_field_at_once_beside_the_field(caseworker_client, caseworker, company):
    response = caseworker_client.post(reverse("billing:basis_create"), {
        "title": "Ny tilknytning", "new_customer_name": "Lise Lia", "new_customer_phone": "abc",
        "new_customer_orgnr": "123456789", "new_customer_postal_code": "50x9", "site_postal_code": "50x9",
        "metering_point_id": "707057500012345678"})  # check digit should be 1
    assert response.status_code == 422
    body = html(response)
    for field in ("new_customer_phone", "new_customer_orgnr", "new_customer_postal_code", "site_postal_code",
                  "metering_point_id"):
        assert f'id="id_{field}_error"' in body, field
    assert "8–15 siffer" in body and "Postnummeret må være fire siffer" in body
    assert "Ugyldig organisasjonsnummer" in body and "kontrollsiffer (GS1)" in body
    assert not InvoiceBasis.objects.exists() and not Customer.objects.exists()


def test_new_customer_details_without_a_name_are_refused_beside_the_name(caseworker_client, caseworker, company):
    response = caseworker_client.post(reverse("billing:basis_create"), {
        "title": "Ny tilknytning", "new_customer_street": "Lia 4"})
    assert response.status_code == 422 and 'id="id_new_customer_name_error"' in html(response)
    assert not Customer.objects.exists()


def test_no_invoice_to_a_private_buyer_without_address_until_the_case_worker_fills_it_in(
        caseworker_client, caseworker, company):
    customer = make_customer(name="Per Uten Adresse", street="", postal_code="", city="")
    basis = accepted_basis(by=caseworker, customer=customer)
    page_url = reverse("billing:basis_detail", args=[basis.pk])
    page = html(caseworker_client.get(page_url))
    assert MISSING in page and action_url(basis, "invoice") not in page
    refused = caseworker_client.post(action_url(basis, "invoice"))
    assert refused.status_code == 409 and MISSING in html(refused)
    assert not Invoice.objects.exists()

    # the address is filled in from the basis page; a bad postcode is shown beside the field first
    header = {"title": basis.title, "customer": customer.pk, "new_customer_name": customer.name,
              "new_customer_email": customer.email, "new_customer_phone": customer.phone,
              "new_customer_street": "Elvegata 3", "new_customer_postal_code": "50x9",
              "new_customer_city": "Bergen"}
    bad = caseworker_client.post(page_url, header)
    assert bad.status_code == 422 and 'id="id_new_customer_postal_code_error"' in html(bad)
    assert caseworker_client.post(page_url, {**header, "new_customer_postal_code": "5009"}).status_code == 302
    customer.refresh_from_db()
    assert (customer.street, customer.postal_code, customer.city) == ("Elvegata 3", "5009", "Bergen")

    page = html(caseworker_client.get(page_url))
    assert MISSING not in page and action_url(basis, "invoice") in page
    issued = caseworker_client.post(action_url(basis, "invoice"), follow=True)
    assert "Utstedt:" in html(issued)
    assert Invoice.objects.filter(basis=basis).first().buyer["street"] == "Elvegata 3"


def test_an_organisation_number_is_enough_and_the_name_and_phone_can_be_edited(
        caseworker_client, caseworker, company):
    customer = make_customer(name="Vestbygg", orgnr="914588200", street="", postal_code="", city="")
    basis = accepted_basis(by=caseworker, customer=customer)
    page_url = reverse("billing:basis_detail", args=[basis.pk])
    page = html(caseworker_client.get(page_url))
    assert MISSING not in page and action_url(basis, "invoice") in page
    form = html(caseworker_client.get(reverse("billing:basis_header_form", args=[basis.pk])))
    assert 'value="Vestbygg"' in form  # the picked customer's fields are prefilled
    response = caseworker_client.post(page_url, {"title": basis.title, "customer": customer.pk,
                                                 "new_customer_name": "Vestbygg AS",
                                                 "new_customer_phone": "55 12 34 56"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == "Vestbygg AS" and customer.phone == "55 12 34 56" and customer.orgnr == "914588200"
    blank = caseworker_client.post(page_url, {"title": basis.title, "customer": customer.pk,
                                              "new_customer_name": " "})
    assert blank.status_code == 422 and "Kunden må ha et navn" in html(blank)


def test_no_credit_note_to_a_buyer_whose_address_was_removed(caseworker_client, caseworker, company):
    basis = accepted_basis(by=caseworker)
    caseworker_client.post(action_url(basis, "invoice"))
    invoice = Invoice.objects.filter(basis=basis, vat_regime="O").get()
    services.customer_update(customer=basis.customer, street="", postal_code="", city="")
    page = html(caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])))
    assert MISSING in page and action_url(basis, "credit") not in page
    refused = caseworker_client.post(action_url(basis, "credit"), {"invoice": invoice.pk, "mode": "full",
                                                                   "reason": "Feil"})
    assert refused.status_code == 409 and MISSING in html(refused)
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()
