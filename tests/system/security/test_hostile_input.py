"""Hostile input through the paths users and other systems take: full-width digits, line breaks in
single-line fields, oversized bodies, and what the error page promises."""

import json

import pytest
from django.core import mail

from billing.models import CostLine, InvoiceBasis
from offers.models import OutboundEmail
from offers.services import email_deliver, email_queue
from tests.support.api import basis_payload, line_payload
from tests.support.factories import make_basis

pytestmark = pytest.mark.django_db

BASES = "/api/v1/invoice-bases"


def _error(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"]
    return body["error"]


# --- full-width and other non-ASCII digits ---------------------------------------------------------


@pytest.mark.parametrize("field,value", [("unit_price", "１２３"), ("unit_price", "١٢٣"), ("quantity", "１")])
def test_api_refuses_non_ascii_digits_in_amounts(api, field, value):
    basis = api.post(BASES, basis_payload()).json()
    response = api.post(f"{BASES}/{basis['id']}/cost-lines/batch", {"lines": [line_payload(**{field: value})]})
    error = _error(response, 422)
    assert any(field in key for key in error["fields"])
    assert not CostLine.objects.exists()


def test_api_refuses_non_ascii_digits_in_dates(api):
    error = _error(api.post(BASES, basis_payload(order_date="２０２６-03-01")), 422)
    assert "order_date" in error["fields"]


def test_line_form_refuses_full_width_amount(caseworker_client, company, caseworker):
    basis = make_basis(by=caseworker)
    response = caseworker_client.post(f"/arbeid/grunnlag/{basis.pk}/linjer/ny/", {
        "new-category": "connection_contribution", "new-description": "Kabel", "new-quantity": "1",
        "new-unit": "stk", "new-unit_price": "１２３"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "Skriv tallet med sifrene 0–9" in response.content.decode()
    assert not basis.lines.exists()


def test_company_settings_refuse_full_width_integer(company):
    from django.forms.models import model_to_dict

    from billing.forms import CompanyProfileForm

    data = {k: v for k, v in model_to_dict(company).items() if v is not None and k != "logo"}
    data["due_days"] = "１４"
    form = CompanyProfileForm(data, instance=company)
    assert not form.is_valid()
    assert "0–9" in str(form.errors["due_days"])


# --- line breaks in single-line fields --------------------------------------------------------------


@pytest.mark.parametrize("payload", [
    basis_payload(title="Ny tilknytning\r\nBcc: alle@example.com"),
    basis_payload(reference="NM-1\n2"),
    basis_payload(customer={"name": "Kari\nNordmann", "email": "kari@example.com",
                            "address": {"street": "Bakkeveien 2", "postal_code": "5010", "city": "Bergen"}}),
    basis_payload(site={"street": "Bakkeveien 2", "postal_code": "5010", "city": "Ber\u2028gen"}),
])
def test_api_refuses_line_breaks_in_single_line_fields(api, payload):
    error = _error(api.post(BASES, payload), 422)
    assert "linjeskift" in json.dumps(error, ensure_ascii=False)
    assert not InvoiceBasis.objects.exists()


def test_basis_form_refuses_line_breaks_in_title(caseworker_client, company):
    response = caseworker_client.post("/arbeid/grunnlag/ny/", {
        "title": "Ny tilknytning\r\nBcc: x@example.com", "new_customer_name": "Kari Nordmann",
        "new_customer_email": "kari@example.com"})
    assert response.status_code == 422
    assert "linjeskift" in response.content.decode()
    assert not InvoiceBasis.objects.exists()


def test_email_subject_is_one_line_whatever_the_caller_passes(company):
    row = email_queue(kind="other", to="kari@example.com", subject="Endringsvarsel for A\r\nBcc: x@example.com",
                      template="portal_login_link", context={"link": "https://example.com/x"})
    assert row.subject == "Endringsvarsel for A Bcc: x@example.com"
    assert email_deliver(row.pk) == OutboundEmail.Status.SENT
    assert mail.outbox[-1].subject == "Endringsvarsel for A Bcc: x@example.com"


def test_email_that_cannot_be_built_fails_once_with_the_reason(company, settings):
    settings.EMAIL_MAX_ATTEMPTS = 5
    row = OutboundEmail.objects.create(kind="other", to="kari@example.com", subject="Tittel\nBcc: x@example.com",
                                       body_text="hei")
    assert email_deliver(row.pk) == OutboundEmail.Status.FAILED
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.FAILED and row.attempts == 1
    assert "BadHeaderError" in row.last_error
    assert row.next_attempt_at is None
    assert not mail.outbox


# --- oversized bodies ---------------------------------------------------------------------------------


def test_api_body_over_the_limit_is_413_in_the_api_error_shape(api):
    big = {"lines": [line_payload(ref=f"L{i}", description="x" * 290) for i in range(40_000)]}
    raw = json.dumps(big)
    assert len(raw) > 10_000_000
    response = api.post(f"{BASES}/1/cost-lines/batch", raw=raw)
    error = _error(response, 413)
    assert error["code"] == "payload_too_large"


def test_form_post_over_the_limit_is_a_clear_413_page(caseworker_client, company):
    response = caseworker_client.post("/arbeid/grunnlag/ny/", {"title": "x" * 11_000_000})
    assert response.status_code == 413
    page = response.content.decode()
    assert "for stor" in page
    assert not InvoiceBasis.objects.exists()


# --- the 500 page -------------------------------------------------------------------------------------


def test_500_page_says_what_is_true_and_shows_the_logged_reference(caseworker, settings, caplog):
    from django.test import Client

    settings.ROOT_URLCONF = "tests.system.security.boom_urls"
    client = Client(raise_request_exception=False)
    client.force_login(caseworker, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get("/__boom__/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "halvveis" not in page
    rid = response["X-Request-ID"]
    assert rid and rid in page
    assert "Referanse" in page
    assert any(rid in r.getMessage() for r in caplog.records)


def test_api_500_carries_the_reference(api, settings):
    from django.test import Client

    settings.ROOT_URLCONF = "tests.system.security.boom_urls"
    response = Client(raise_request_exception=False).get("/api/__boom__/")
    assert response.status_code == 500
    assert response["X-Request-ID"] in response.json()["error"]["message"]
