"""A local test provider for development without Stripe keys: the checkout is a clearly marked page
(portal:local_checkout, shown only with DEBUG on) that approves or declines; refunds succeed at once."""

from __future__ import annotations

from django.urls import reverse

from billing.models import CheckoutAttempt, Payment

from .base import PaymentProvider, Session


class LocalProvider(PaymentProvider):
    identifier = "local"
    verbose_name = "Lokal testbetaling"
    supports_checkout = True
    supports_refund = True
    method = Payment.Method.CARD

    def checkout_key(self, *, invoice, attempt):
        return f"kf-local-{invoice.pk}-{attempt}"

    def checkout_create(self, *, invoice, amount, key, attempt, success_url, cancel_url) -> Session:
        return Session(id=key)

    def checkout_url(self, attempt: CheckoutAttempt) -> str:
        return reverse("portal:local_checkout", args=[attempt.payment_id])

    def refund(self, payment: Payment) -> str:
        return f"local-refund-{payment.pk}"
