"""Worked examples 4 and 5 of docs/billing-rules.md end to end (services, PDFs, refunds), offer versions,
refunds through Stripe."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse

from billing import selectors, services
from billing.errors import TransitionError
from billing.models import Invoice, Payment, TenYearRefund
from billing.status import Status
from offers import documents
from tests.support.documents import pdf_text
from tests.support.factories import add_line, example1_lines, make_basis, make_customer


def _prepaid_case(caseworker, *, method=Payment.Method.MANUAL, provider="manual", reference=""):
    customer = make_customer(bank_account="12345678903")
    basis = make_basis(by=caseworker, customer=customer, prepayment_required=True)
    add_line(basis, caseworker, description="Anleggsbidrag, estimat", unit_price="80000.00")
    services.offer_send(basis=basis, by=caseworker)
    services.offer_accept(basis=basis, by=None)
    prepay = basis.invoices.get()
    services.payment_register(invoice=prepay, by=caseworker, amount=D("80000.00"), method=method,
                              provider=provider, provider_reference=reference)
    return basis, prepay


def test_example5_capped_final_invoice_through_the_settlement_page_and_pdf(company, caseworker, caseworker_client):
    basis, _ = _prepaid_case(caseworker)
    url = reverse("billing:settlement", args=[basis.pk])
    resp = caseworker_client.post(url, {"action": "add_actual", "category": "connection_contribution",
                                        "description": "Faktisk kostnad", "quantity": "1", "unit": "stk",
                                        "unit_price": "97350.00"})
    assert resp.status_code == 302
    page = caseworker_client.get(url).content.decode().replace("\xa0", " ")
    table = page.split('id="settlement-table"')[1]
    for figure in ("80 000,00", "92 000,00", "97 350,00", "Sluttfaktura 12 000,00"):
        assert figure in table
    caseworker_client.post(url, {"action": "settle"})
    final = basis.invoices.get(kind=Invoice.Kind.FINAL)
    assert final.gross_total == D("12000.00")
    _, pdf = documents.document_pdf_bytes("invoice", final.pk)
    text = pdf_text(pdf)
    assert "Sluttfaktura" in text and "12 000,00" in text
    assert "92 000,00" in text and "80 000,00" in text, "the PDF shows the cap and what was invoiced before"


def test_example5_customer_caused_overrun_is_outside_the_cap(company, caseworker):
    basis, _ = _prepaid_case(caseworker)
    add_line(basis, caseworker, description="Faktisk kostnad", unit_price="80000.00", phase="actual")
    add_line(basis, caseworker, description="Kundens endring", unit_price="17350.00", phase="actual",
             customer_caused=True)
    [row] = selectors.settlement_rows(basis)
    assert (row["customer_caused"], row["to_invoice"]) == (D("17350.00"), D("17350.00"))
    [final] = services.final_settle(basis=basis, by=caseworker)
    assert final.gross_total == D("17350.00")


def test_example5_credit_note_refund_is_paid_out_to_the_customers_account(company, caseworker, caseworker_client):
    basis, prepay = _prepaid_case(caseworker)
    add_line(basis, caseworker, description="Faktisk kostnad", unit_price="71234.56", phase="actual")
    [credit] = services.final_settle(basis=basis, by=caseworker)
    assert credit.kind == Invoice.Kind.CREDIT_NOTE and credit.gross_total == D("8765.44")
    _, pdf = documents.document_pdf_bytes("invoice", credit.pk)
    text = pdf_text(pdf)
    assert "Kreditnota" in text and "8 765,44" in text and "71 234,56" in text
    [payout] = selectors.refund_payouts()
    assert (payout.amount, payout.payout_account, payout.invoice) == (D("8765.44"), "12345678903", prepay)
    assert services.refunds_prepare(invoice=prepay) == [], "preparing again creates nothing"
    page = caseworker_client.get(reverse("billing:refunds")).content.decode().replace("\xa0", " ")
    assert "8 765,44" in page and "12345678903" in page
    resp = caseworker_client.post(reverse("billing:refund_paid_out", args=[payout.pk]), {"account": "1234.56.78903"})
    assert resp.status_code == 302
    payout.refresh_from_db()
    assert payout.status == Payment.Status.CONFIRMED
    assert services.invoice_outstanding(prepay) == D("0.00")
    basis.refresh_from_db()
    assert basis.status == Status.PAID
    assert "Ingen bankutbetalinger venter" in caseworker_client.get(reverse("billing:refunds")).content.decode()


def test_partial_credit_of_a_card_payment_is_refunded_through_stripe(company, caseworker, stripe_fake,
                                                                     django_capture_on_commit_callbacks):
    basis = make_basis(by=caseworker)
    example1_lines(basis, caseworker)
    services.offer_send(basis=basis, by=caseworker)
    services.offer_accept(basis=basis, by=None)
    o_inv, s_inv = sorted(services.invoices_issue(basis=basis, by=caseworker), key=lambda i: i.vat_regime)
    session = stripe_fake.paid_session(int(o_inv.gross_total * 100))
    services.payment_register(invoice=o_inv, by=None, amount=o_inv.gross_total, method=Payment.Method.CARD,
                              provider="stripe", provider_reference=session["id"])
    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_credit(invoice=o_inv, by=caseworker, reason="Rabatt på materiell", amount=D("1000.00"))
    [refund] = Payment.objects.filter(direction=Payment.Direction.REFUND)
    assert (refund.status, refund.amount, refund.method) == (Payment.Status.CONFIRMED, D("1000.00"), "card")
    [at_stripe] = stripe_fake.refunds.values()
    assert refund.provider_reference == at_stripe["id"] and refund.refund_of.provider_reference == session["id"]
    assert (at_stripe["amount"], at_stripe["payment_intent"]) == (100000, session["payment_intent"])
    assert services.refund_execute(payment=refund).status == Payment.Status.CONFIRMED
    assert len(stripe_fake.refunds) == 1, "running the refund again does not refund twice"
    assert services.invoice_outstanding(o_inv) == D("0.00")


def test_example4_ten_year_refund_uses_the_same_path(company, caseworker, stripe_fake,
                                                      django_capture_on_commit_callbacks):
    shared, _ = services.shared_cost_create(
        by=caseworker, description="Kabel", capacity=D("25"), capacity_unit="kW", allocation="ordered_capacity",
        energised_on=dt.date(2022, 1, 1),
        lines=[{"category": "connection_contribution", "description": "Kabel", "unit_price": "200000.00"}])
    basis_a = make_basis(by=caseworker, customer=make_customer(name="A", bank_account="12345678903"))
    services.shared_cost_add_participant(shared_cost=shared, basis=basis_a, capacity=D("25"), by=caseworker,
                                         connected_on=dt.date(2022, 1, 1))
    services.offer_send(basis=basis_a, by=caseworker)
    services.offer_accept(basis=basis_a, by=None)
    [inv_a] = services.invoices_issue(basis=basis_a, by=caseworker)
    services.payment_register(invoice=inv_a, by=None, amount=D("200000.00"), method=Payment.Method.MANUAL)
    basis_b = make_basis(by=caseworker)
    services.shared_cost_add_participant(shared_cost=shared, basis=basis_b, capacity=D("15"), by=caseworker,
                                         connected_on=dt.date(2026, 3, 1))
    refund = TenYearRefund.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        credit = services.credit_note_issue_draft(credit_note=refund.credit_note, by=caseworker)
    assert credit.gross_total == D("75000.00")
    text = pdf_text(documents.document_pdf_bytes("invoice", credit.pk)[1])
    assert "75 000,00" in text and "tiårsregelen" in text
    [payout] = selectors.refund_payouts()
    assert (payout.amount, payout.payout_account) == (D("75000.00"), "12345678903")
    b_line = basis_b.lines.get()
    assert b_line.amount == D("75000.00"), "B pays 75 000"


def test_offer_versions_old_pdf_kept_and_old_version_refused(company, caseworker, customer_user,
                                                             django_capture_on_commit_callbacks):
    customer = make_customer()
    customer.user = customer_user
    customer.save()
    basis = make_basis(by=caseworker, customer=customer)
    line = add_line(basis, caseworker, description="Materiell", unit_price="18450.00")
    with django_capture_on_commit_callbacks(execute=True):
        v1 = services.offer_send(basis=basis, by=caseworker)
    services.line_update(line=line, by=caseworker, unit_price=D("19000.00"))
    with django_capture_on_commit_callbacks(execute=True):
        v2 = services.offer_send(basis=basis, by=caseworker)
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.version, v2.version) == (1, 2) and services.current_offer(basis) == v2
    assert v1.pdf_sha256 and v2.pdf_sha256 and v1.pdf_sha256 != v2.pdf_sha256, "both PDFs are kept"
    assert "18 450,00" in pdf_text(v1.pdf.read()) and "19 000,00" in pdf_text(v2.pdf.read())
    with pytest.raises(TransitionError) as exc:
        services.offer_accept(basis=basis, by=customer_user, offer=v1)
    assert exc.value.code == "superseded"
    acceptance = services.offer_accept(basis=basis, by=customer_user, offer=v2, pdf_sha256=v2.pdf_sha256,
                                       ip_address="10.0.0.9", user_agent="UA")
    assert (acceptance.offer_version, acceptance.pdf_sha256) == (2, v2.pdf_sha256)
