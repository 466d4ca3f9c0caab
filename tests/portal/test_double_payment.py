"""Two checkouts for one invoice (two tabs): the second start ends the first at the provider; a payment
that lands on an invoice with nothing left to pay is refunded at once and flagged to the case worker."""

import uuid

import pytest
from django.urls import reverse

from billing import selectors, services
from billing.models import AuditEvent, Invoice, Payment
from portal.models import CheckoutAttempt
from tests.portal.conftest import as_json, customer_basis, post_webhook

pytestmark = pytest.mark.django_db


def _prepaid_invoice(user):
    basis = customer_basis(user, prepayment=True)
    services.offer_accept(basis=basis, by=user)
    return Invoice.objects.filter(basis=basis, kind="prepayment", vat_regime="O").get()


def _start(client, invoice):
    response = client.post(reverse("portal:invoice_pay", args=[invoice.pk]), {"attempt": str(uuid.uuid4())})
    assert response.status_code == 302
    return CheckoutAttempt.objects.filter(payment__invoice=invoice).order_by("-pk").first()


def test_second_checkout_expires_the_first_at_the_provider(company, customer_client, customer_user, stripe_fake,
                                                           client):
    invoice = _prepaid_invoice(customer_user)
    first = _start(customer_client, invoice)
    second = _start(customer_client, invoice)
    assert first.session_id != second.session_id
    assert stripe_fake.sessions[first.session_id]["status"] == "expired"
    assert stripe_fake.sessions[second.session_id]["status"] == "open"
    assert any(r["path"] == f"/v1/checkout/sessions/{first.session_id}/expire" for r in stripe_fake.requests)
    first.payment.refresh_from_db()
    assert first.payment.status == "failed"
    # Stripe's own "expired" event for the first session changes nothing more.
    expired = stripe_fake.sessions[first.session_id]
    assert post_webhook(client, stripe_fake.event("checkout.session.expired", expired)).status_code == 200
    stripe_fake.pay(second.session_id)
    post_webhook(client, stripe_fake.event("checkout.session.completed", stripe_fake.sessions[second.session_id]))
    assert selectors.amount_owed(invoice) == 0
    assert not Payment.objects.filter(invoice=invoice, direction="refund").exists()


def test_both_checkouts_paid_refunds_the_second_and_flags_it(company, customer_client, customer_user, stripe_fake,
                                                             client, caseworker_client,
                                                             django_capture_on_commit_callbacks):
    invoice = _prepaid_invoice(customer_user)
    first = _start(customer_client, invoice)
    stripe_fake.pay(first.session_id)  # paid in tab 1; its webhook is still on its way
    second = _start(customer_client, invoice)  # tab 2: the first can no longer be expired
    assert stripe_fake.sessions[first.session_id]["status"] == "complete"
    stripe_fake.pay(second.session_id)
    with django_capture_on_commit_callbacks(execute=True):
        r1 = post_webhook(client, stripe_fake.event("checkout.session.completed", stripe_fake.sessions[first.session_id]))
    assert as_json(r1)["result"] == "confirmed"
    assert not Payment.objects.filter(invoice=invoice, direction="refund").exists()
    with django_capture_on_commit_callbacks(execute=True):
        r2 = post_webhook(client, stripe_fake.event("checkout.session.completed",
                                                    stripe_fake.sessions[second.session_id]))
    assert as_json(r2)["result"] == "confirmed"

    refund = Payment.objects.get(invoice=invoice, direction="refund")
    assert refund.amount == invoice.gross_total and refund.method == "card"
    assert refund.status == "confirmed", "executed through the provider"
    assert [r["params"]["amount"] for r in stripe_fake.requests if r["path"] == "/v1/refunds"] == ["5739290"]
    assert selectors.amount_owed(invoice) == 0 and services.invoice_outstanding(invoice) == 0
    assert AuditEvent.objects.filter(basis=invoice.basis, action="billing.payment.overpaid").count() == 1

    page = caseworker_client.get(reverse("billing:basis_detail", args=[invoice.basis_id])).content.decode()
    assert 'id="overpayment-attention"' in page
    assert "Betalt for mye" in page and "Tilbakebetalinger" in page
    assert "392,90" in page.split('id="refunds"')[1]


def test_bank_payment_on_a_paid_invoice_prepares_a_bank_refund(company, customer_user, caseworker_client):
    invoice = _prepaid_invoice(customer_user)
    services.payment_register(invoice=invoice, by=None, amount=invoice.gross_total, method="bank_transfer",
                              provider="bank", provider_reference="bank-1")
    services.payment_register(invoice=invoice, by=None, amount="100.00", method="bank_transfer",
                              provider="bank", provider_reference="bank-2")
    refund = Payment.objects.get(invoice=invoice, direction="refund")
    assert (refund.amount, refund.method, refund.status) == (services.money.round_ore(100), "bank_transfer", "pending")
    page = caseworker_client.get(reverse("billing:basis_detail", args=[invoice.basis_id])).content.decode()
    assert 'id="overpayment-attention"' in page
