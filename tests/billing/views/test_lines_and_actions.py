"""Inline line editing (htmx) and the actions on a basis, allowed and refused by status."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from billing import services
from billing.models import Acceptance, CostLine, Invoice, Payment
from billing.status import Status
from tests.support.factories import NO_CUSTOMER, accepted_basis, add_line, make_basis, make_customer

D = Decimal
NBSP = "\u00a0"
HX = {"HTTP_HX_REQUEST": "true"}
pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


def line_data(prefix="new", **overrides):
    data = {"category": "connection_contribution", "description": "Materiell", "quantity": "2", "unit": "stk",
            "unit_price": "1000,50", "vat_code": ""}
    data.update(overrides)
    return {f"{prefix}-{k}": v for k, v in data.items()}


# --- inline lines -----------------------------------------------------------------------------------


def test_add_line_inline_returns_lines_and_new_totals_out_of_band(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker)
    response = caseworker_client.post(reverse("billing:line_add", args=[basis.pk]), line_data(), **HX)
    body = html(response)
    assert response.status_code == 200
    assert '<section id="lines"' in body and "Materiell" in body
    assert 'id="totals" class="card totals" hx-swap-oob="true"' in body
    assert f"2{NBSP}001,00{NBSP}kr" in body  # 2 × 1 000,50, Norwegian decimal comma accepted
    assert 'id="actions" class="actions" hx-swap-oob="true"' in body
    assert basis.lines.get().amount == D("2001.00")


def test_add_line_error_is_shown_beside_the_field(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker)
    response = caseworker_client.post(reverse("billing:line_add", args=[basis.pk]),
                                      line_data(quantity="0", description=""), **HX)
    body = html(response)
    assert response.status_code == 422
    assert "Antall må være større enn null." in body and "Feltet er påkrevet." in body
    assert 'aria-invalid="true"' in body
    assert not basis.lines.exists()


def test_edit_line_inline_and_cancel(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker)
    line = add_line(basis, caseworker, description="Gammel", unit_price="100")
    url = reverse("billing:line_edit", args=[basis.pk, line.pk])
    form = html(caseworker_client.get(url, **HX))
    assert f'form="line-form-{line.pk}"' in form and 'value="Gammel"' in form
    response = caseworker_client.post(url, line_data(f"l{line.pk}", description="Ny tekst", quantity="3",
                                                     unit_price="250"), **HX)
    assert response.status_code == 200
    line.refresh_from_db()
    assert line.description == "Ny tekst" and line.amount == D("750.00")
    assert f"750,00{NBSP}kr" in html(response)
    bad = caseworker_client.post(url, line_data(f"l{line.pk}", unit_price="abc"), **HX)
    assert bad.status_code == 422 and "Oppgi et tall." in html(bad)
    cancel = caseworker_client.post(url, {"cancel": "1"}, **HX)
    assert cancel.status_code == 200 and "editing" not in html(cancel)


def test_delete_line_inline(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker)
    line = add_line(basis, caseworker, description="Skal bort")
    response = caseworker_client.post(reverse("billing:line_delete", args=[basis.pk, line.pk]), **HX)
    assert response.status_code == 200 and "Skal bort" not in html(response)
    assert not basis.lines.exists()


def test_line_from_other_system_is_read_only(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker)
    ext = add_line(basis, caseworker, description="Fra Nettmelding", source="nettmelding",
                   source_reference="NM-1", line_reference="NM-1-1")
    response = caseworker_client.post(reverse("billing:line_edit", args=[basis.pk, ext.pk]),
                                      line_data(f"l{ext.pk}", description="Endret"), **HX)
    assert response.status_code == 409 and "endres i kildesystemet" in html(response)
    response = caseworker_client.post(reverse("billing:line_delete", args=[basis.pk, ext.pk]), **HX)
    assert response.status_code == 409
    ext.refresh_from_db()
    assert ext.description == "Fra Nettmelding"


def test_line_on_issued_invoice_is_locked(caseworker_client, caseworker, company):
    basis = accepted_basis(by=caseworker)
    services.invoices_issue(basis=basis, by=caseworker)
    line = basis.lines.first()
    page = html(caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])))
    assert 'class="lock-icon"' in page and reverse("billing:line_edit", args=[basis.pk, line.pk]) not in page
    response = caseworker_client.post(reverse("billing:line_edit", args=[basis.pk, line.pk]),
                                      line_data(f"l{line.pk}", description="Endret"), **HX)
    assert response.status_code == 409 and "utstedt faktura" in html(response)
    response = caseworker_client.post(reverse("billing:line_delete", args=[basis.pk, line.pk]), **HX)
    assert response.status_code == 409
    assert CostLine.objects.filter(pk=line.pk, description="Materiell").exists()


def test_lines_of_another_basis_are_404(caseworker_client, caseworker, company):
    a, b = make_basis(by=caseworker), make_basis(by=caseworker)
    line = add_line(a, caseworker)
    assert caseworker_client.post(reverse("billing:line_edit", args=[b.pk, line.pk]), {}).status_code == 404


# --- actions ---------------------------------------------------------------------------------------------


def action_url(basis, action):
    return reverse("billing:basis_action", args=[basis.pk, action])


def test_send_offer_with_confirmation_step(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker)
    add_line(basis, caseworker)
    page = html(caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])))
    assert action_url(basis, "send_offer") in page
    assert action_url(basis, "accept") not in page and action_url(basis, "invoice") not in page
    confirm = caseworker_client.get(action_url(basis, "send_offer"))
    assert confirm.status_code == 200 and "Bekreft: Send tilbud" in html(confirm)
    basis.refresh_from_db()
    assert basis.status == Status.DRAFT  # the GET only asks
    response = caseworker_client.post(action_url(basis, "send_offer"), follow=True)
    body = html(response)
    assert "Tilbud sendt" in body and "versjon 1" in body
    basis.refresh_from_db()
    assert basis.status == Status.OFFER_SENT


def test_send_offer_refused_with_the_guard_reasons(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker, customer=make_customer(email=""))
    page = html(caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])))
    assert "Tilbudet må ha minst én kostnadslinje." in page and "Kunden mangler e-postadresse." in page
    assert action_url(basis, "send_offer") not in page
    response = caseworker_client.post(action_url(basis, "send_offer"))
    assert response.status_code == 409 and "minst én kostnadslinje" in html(response)
    basis.refresh_from_db()
    assert basis.status == Status.DRAFT


def test_send_offer_htmx_post_redirects_client(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker)
    add_line(basis, caseworker)
    response = caseworker_client.post(action_url(basis, "send_offer"), **HX)
    assert response.status_code == 200 and response["HX-Redirect"].endswith(f"/grunnlag/{basis.pk}/")


def test_send_offer_with_past_validity_shows_service_error(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker)
    add_line(basis, caseworker)
    response = caseworker_client.post(action_url(basis, "send_offer"),
                                      {"valid_until": (dt.date.today() - dt.timedelta(days=1)).isoformat()})
    assert response.status_code == 422 and "Gyldighetsdatoen er passert." in html(response)


def test_register_acceptance_on_behalf_needs_a_note(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker)
    add_line(basis, caseworker)
    assert caseworker_client.post(action_url(basis, "accept"), {"channel": "phone", "note": "x"}).status_code == 409
    services.offer_send(basis=basis, by=caseworker)
    response = caseworker_client.post(action_url(basis, "accept"), {"channel": "phone", "note": ""})
    assert response.status_code == 422 and "Skriv et notat" in html(response)
    response = caseworker_client.post(action_url(basis, "accept"),
                                      {"channel": "phone", "note": "Ringte 10:15, kunden sa ja."}, follow=True)
    assert "Aksept registrert" in html(response) and "Akseptert" in html(response)
    acc = Acceptance.objects.get(basis=basis)
    assert acc.channel == "phone" and acc.note == "Ringte 10:15, kunden sa ja." and acc.user == caseworker


def test_issue_invoices_then_register_payment_then_credit(caseworker_client, caseworker, company):
    basis = accepted_basis(by=caseworker)
    response = caseworker_client.post(action_url(basis, "invoice"), follow=True)
    assert "Utstedt:" in html(response)
    invoices = {i.vat_regime: i for i in Invoice.objects.filter(basis=basis)}
    assert invoices["O"].gross_total == D("57392.90") and invoices["taxable"].gross_total == D("1500.00")
    page = html(caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])))
    assert "Faktura sendt" in page and f"57{NBSP}392,90{NBSP}kr" in page
    # nothing left to invoice: the action is gone and a direct POST is refused
    assert action_url(basis, "invoice") not in page
    assert caseworker_client.post(action_url(basis, "invoice")).status_code == 409

    taxable = invoices["taxable"]
    response = caseworker_client.post(action_url(basis, "payment"),
                                      {"invoice": taxable.pk, "amount": "1500,00", "note": "Kontant"}, follow=True)
    assert "Betaling registrert" in html(response)
    assert Payment.objects.get(invoice=taxable).amount == D("1500.00")
    taxable.refresh_from_db()
    assert taxable.status == Invoice.Status.PAID

    o = invoices["O"]
    bad = caseworker_client.post(action_url(basis, "credit"), {"invoice": o.pk, "mode": "amount", "amount": "100"})
    assert bad.status_code == 422 and "Oppgi en grunn" in html(bad)
    response = caseworker_client.post(action_url(basis, "credit"),
                                      {"invoice": o.pk, "mode": "amount", "amount": "1000", "reason": "Rabatt"},
                                      follow=True)
    assert "Kreditnota" in html(response)
    credit = Invoice.objects.get(credited_invoice=o)
    assert credit.gross_total == D("1000.00") and credit.number is not None


def test_credit_chosen_lines(caseworker_client, caseworker, company):
    basis = accepted_basis(by=caseworker)
    o = [i for i in services.invoices_issue(basis=basis, by=caseworker) if i.vat_regime == "O"][0]
    first = o.lines.order_by("position").first()
    response = caseworker_client.post(action_url(basis, "credit"), {"invoice": o.pk, "mode": "lines",
                                                                    "lines": [first.pk], "reason": "Feil"})
    assert response.status_code == 302
    assert Invoice.objects.get(credited_invoice=o).gross_total == first.amount


def test_cancel_needs_a_reason_and_is_refused_after_invoicing(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker)
    response = caseworker_client.post(action_url(basis, "cancel"), {"reason": ""})
    assert response.status_code == 422 and "Oppgi en grunn" in html(response)
    response = caseworker_client.post(action_url(basis, "cancel"), {"reason": "Kunden trakk bestillingen"},
                                      follow=True)
    assert "Kansellert" in html(response)
    invoiced = accepted_basis(by=caseworker)
    services.invoices_issue(basis=invoiced, by=caseworker)
    response = caseworker_client.post(action_url(invoiced, "cancel"), {"reason": "x"})
    assert response.status_code == 409 and "ikke tilgjengelig" in html(response)
    invoiced.refresh_from_db()
    assert invoiced.status == Status.INVOICED


def test_payment_refused_when_nothing_is_invoiced(caseworker_client, caseworker, company):
    basis = make_basis(by=caseworker, customer=NO_CUSTOMER)
    assert caseworker_client.get(action_url(basis, "payment")).status_code == 409
    assert caseworker_client.get(action_url(basis, "credit")).status_code == 409
    assert caseworker_client.get(action_url(basis, "nonsense")).status_code == 404
