"""Which language people read: the browser (and the language switch's cookie) before login, the
customer's own preference after; case workers choose between bokmål and English. Documents and
e-mails follow the customer's language; an issued invoice keeps the language it was issued in."""

import pytest
from django.conf import settings
from django.urls import reverse

from billing.models import AuditEvent, Customer, InvoiceBasis
from offers.documents import document_html
from offers.models import OutboundEmail
from tests.support.factories import customer_basis

pytestmark = pytest.mark.django_db

LOGIN = "/login/"


def page(response) -> str:
    return response.content.decode()


def test_before_login_the_browser_decides_and_the_switch_overrides_it(client, company):
    assert '<html lang="en">' in page(client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8"))
    assert '<html lang="nn">' in page(client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="nn-NO"))
    german = page(client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="de"))
    assert '<html lang="nb">' in german and "Logg inn" in german
    english = page(client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en"))
    assert "Log in" in english and "Logg inn" not in english

    response = client.post(reverse("portal:language"), {"language": "nn", "next": LOGIN},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "nn"
    assert '<html lang="nn">' in page(client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en"))


def test_the_switch_refuses_unknown_languages_and_foreign_redirects(client, company):
    assert client.post(reverse("portal:language"), {"language": "de"}).status_code == 400
    response = client.post(reverse("portal:language"), {"language": "en", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get(reverse("portal:language")).status_code == 405


def test_a_customers_preference_wins_after_login_and_the_switch_saves_it(customer_client, customer_user, company):
    basis = customer_basis(customer_user, language="en")
    html = page(customer_client.get(reverse("portal:basis", args=[basis.pk]), HTTP_ACCEPT_LANGUAGE="nb"))
    assert '<html lang="en">' in html and "Accept the offer" in html and "Aksepter tilbudet" not in html
    assert "1\u00a0" in html and ",90\u00a0kr" in html  # Norwegian amounts in English text

    response = customer_client.post(reverse("portal:language"), {"language": "nn", "next": "/portal/"})
    assert response.status_code == 302
    assert Customer.objects.get(pk=basis.customer_id).language == "nn"
    assert AuditEvent.objects.filter(action="billing.customer.language_set").count() == 1
    html = page(customer_client.get(reverse("portal:basis", args=[basis.pk]), HTTP_ACCEPT_LANGUAGE="en"))
    assert '<html lang="nn">' in html and "Aksepter tilbodet" in html
    # Choosing the same language again changes nothing.
    customer_client.post(reverse("portal:language"), {"language": "nn"})
    assert AuditEvent.objects.filter(action="billing.customer.language_set").count() == 1


def test_case_workers_choose_bokmål_or_english(caseworker_client, caseworker, company):
    assert '<html lang="nb">' in page(caseworker_client.get(reverse("billing:worklist"), HTTP_ACCEPT_LANGUAGE="nb"))
    assert caseworker_client.post(reverse("portal:language"), {"language": "nn"}).status_code == 400
    caseworker_client.post(reverse("portal:language"), {"language": "en"})
    caseworker.refresh_from_db()
    assert caseworker.language == "en"
    html = page(caseworker_client.get(reverse("billing:worklist"), HTTP_ACCEPT_LANGUAGE="nb"))
    assert '<html lang="en">' in html and "Work list" in html
    # The header offers the staff languages only, each named in itself.
    assert 'lang="en"' in html and 'value="nn"' not in html


def test_the_case_worker_sets_a_new_customers_language(caseworker_client, company):
    response = caseworker_client.post(reverse("billing:basis_create"), {
        "title": "Ny tilknytning", "new_customer_name": "John Smith", "new_customer_email": "john@example.com",
        "new_customer_street": "Lia 4", "new_customer_postal_code": "5009", "new_customer_city": "Bergen",
        "new_customer_language": "en"})
    assert response.status_code == 302
    assert InvoiceBasis.objects.get(title="Ny tilknytning").customer.language == "en"
    form = page(caseworker_client.get(reverse("billing:basis_create")))
    assert '<option value="nn" lang="nn">Norsk nynorsk</option>' in form


def test_the_case_worker_changes_an_existing_customers_language_on_the_basis_page(caseworker_client, caseworker,
                                                                                 company):
    from tests.support.factories import accepted_basis, make_customer

    customer = make_customer(name="Nils Nynorsk")
    basis = accepted_basis(by=caseworker, customer=customer)
    page_url = reverse("billing:basis_detail", args=[basis.pk])
    header_form = reverse("billing:basis_header_form", args=[basis.pk])  # loaded when its panel opens
    assert '<option value="nb" selected lang="nb">' in page(caseworker_client.get(header_form))
    response = caseworker_client.post(page_url, {
        "title": basis.title, "customer": customer.pk, "new_customer_name": customer.name,
        "new_customer_email": customer.email, "new_customer_street": customer.street,
        "new_customer_postal_code": customer.postal_code, "new_customer_city": customer.city,
        "new_customer_language": "nn"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.language == "nn"


def test_the_api_takes_and_shows_the_customers_language(api):
    from tests.support.api import basis_payload

    payload = basis_payload()
    payload["customer"]["language"] = "nn"
    response = api.post("/api/v1/invoice-bases", payload)
    assert response.status_code == 201, response.content
    assert response.json()["customer"]["language"] == "nn"
    bad = basis_payload(reference="NM-2")
    bad["customer"]["language"] = "de"
    assert api.post("/api/v1/invoice-bases", bad).status_code == 422
    schema = api.get("/api/v1/openapi.json", token=None).json()
    assert "nn" in str(schema["components"]["schemas"]["CustomerIn"]["properties"]["language"])


def test_documents_and_emails_come_in_the_customers_language(customer_user, company, caseworker):
    from billing import services

    basis = customer_basis(customer_user, prepayment=True, language="en", email="kari@example.com")
    offer = basis.offers.get()
    letter = document_html("offer", offer)
    assert '<html lang="en">' in letter and "Connection charge (anleggsbidrag)" in letter
    assert "Kostnadsspesifikasjon" not in letter and "57\u00a0392,90\u00a0kr" in letter
    mail = OutboundEmail.objects.get(kind="offer", basis=basis)
    assert mail.subject.startswith("Offer FG-") and "Dear " in mail.body_text and "Hei" not in mail.body_text

    services.offer_accept(basis=basis, by=customer_user)
    invoice = basis.invoices.order_by("pk").first()
    assert invoice.buyer["language"] == "en"
    # The customer changes language later: the issued invoice keeps the language it was issued in,
    # a new document follows the new preference.
    services.customer_language_set(customer=basis.customer, language="nn", by=customer_user)
    assert '<html lang="en">' in document_html("invoice", invoice)
    assert "Tilbodsnummer" in document_html("rough_estimate", InvoiceBasis.objects.get(pk=basis.pk))


def test_text_written_into_a_customers_document_is_in_the_customers_language(customer_user, company, caseworker):
    """A case worker working in English credits a nynorsk customer's invoice: the credit note's own
    words (its note and line) are nynorsk, like the rest of the customer's document."""
    from django.utils import translation

    from billing import services

    basis = customer_basis(customer_user, prepayment=True, language="nn")
    services.offer_accept(basis=basis, by=customer_user)
    invoice = basis.invoices.order_by("pk").first()
    with translation.override("en"):
        credit = services.invoice_credit(invoice=invoice, by=caseworker, reason="Feil adresse", amount="100.00")
    assert credit.note.startswith("Krediterer faktura") and "Grunn: Feil adresse" in credit.note
    assert credit.lines.get().description.startswith("Kreditering av faktura")
    letter = document_html("invoice", credit)
    assert '<html lang="nn">' in letter and "Kreditnotanummer" in letter
