"""Stripe Checkout (card; BankAxept cards are cards) through the official `stripe` client.

The webhook is a trigger, not the truth: `webhook_parse` verifies the signature, `webhook_read`
re-reads the session or charge from Stripe and says what it means; billing/services/checkout.py records it.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from django.conf import settings

from billing.models import CheckoutAttempt, Payment

from .base import (
    ChargeRefunded,
    CheckoutFailed,
    CheckoutPaid,
    PaymentProvider,
    ProviderRefund,
    ProviderUnavailable,
    Session,
    WebhookRejected,
    from_ore,
    to_ore,
)

# Stripe refund states that mean the money is (or is being) sent back.
REFUND_ACTIVE = ("succeeded", "pending")


def stripe_client():
    """The Stripe client for the configured key; STRIPE_API_BASE points it at a local fake in tests."""
    import stripe

    kwargs = {"max_network_retries": settings.PORTAL_STRIPE_MAX_NETWORK_RETRIES}
    if settings.STRIPE_API_BASE:
        kwargs["base_addresses"] = {"api": settings.STRIPE_API_BASE}
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, **kwargs)


def _id(value) -> str:
    """An expandable field: the id string, or the expanded object's id."""
    if not value or isinstance(value, str):
        return value or ""
    return (value.get("id") if isinstance(value, dict) else value.id) or ""


class StripeProvider(PaymentProvider):
    identifier = "stripe"
    verbose_name = "Stripe"
    supports_checkout = True
    supports_refund = True
    method = Payment.Method.CARD

    def is_available(self) -> bool:
        return bool(settings.STRIPE_SECRET_KEY)

    def checkout_key(self, *, invoice, attempt):
        return f"kf-checkout-{invoice.pk}-{attempt}"

    def checkout_note(self):
        return "Stripe Checkout"

    def checkout_create(self, *, invoice, amount, key, attempt, success_url, cancel_url) -> Session:
        params = {
            "mode": "payment",
            "payment_method_types": ["card"],
            "line_items": [{
                "quantity": 1,
                "price_data": {"currency": invoice.currency.lower(), "unit_amount": to_ore(amount),
                               "product_data": {"name": f"{invoice.get_kind_display()} {invoice.number}"}},
            }],
            "client_reference_id": str(invoice.pk),
            # An abandoned checkout ends as checkout.session.expired → the attempt is marked failed.
            "expires_at": int(time.time()) + 60 * 60,
            "metadata": {"invoice_id": str(invoice.pk), "invoice_number": str(invoice.number),
                         "kid": invoice.kid, "attempt": attempt},
            "success_url": success_url + ("&" if "?" in success_url else "?") + "session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": cancel_url + ("&" if "?" in cancel_url else "?") + "session_id={CHECKOUT_SESSION_ID}",
        }
        email = (invoice.buyer or {}).get("email")
        if email:
            params["customer_email"] = email
        # The idempotency key makes a retried or doubled request return the same session.
        session = stripe_client().v1.checkout.sessions.create(params=params, options={"idempotency_key": key})
        return Session(id=session.id, url=session.url or "")

    def checkout_expire(self, attempt: CheckoutAttempt) -> bool:
        import stripe

        client = stripe_client()
        try:
            session = client.v1.checkout.sessions.expire(attempt.session_id)
        except stripe.InvalidRequestError:
            # Only an open session can be expired: re-read it to see whether it was paid or already ended.
            session = client.v1.checkout.sessions.retrieve(attempt.session_id)
        return session.status == "expired"

    def form_action_origins(self) -> list[str]:
        origins = ["https://checkout.stripe.com"]
        if settings.STRIPE_API_BASE:  # a local fake serves its checkout page on its own origin
            parts = urlsplit(settings.STRIPE_API_BASE)
            origins.append(f"{parts.scheme}://{parts.netloc}")
        return origins

    def refund(self, payment: Payment) -> str:
        """Refund through Stripe: the checkout session's payment intent, the amount in øre, an idempotency
        key per refund row (so a retried task never refunds twice). Returns the Stripe refund id."""
        client = stripe_client()
        intent = payment.refund_of.provider_reference
        if intent.startswith("cs_"):
            intent = _id(client.v1.checkout.sessions.retrieve(intent).payment_intent)
        refund = client.v1.refunds.create(params={"payment_intent": intent, "amount": to_ore(payment.amount),
                                                  "metadata": {"refund_payment_id": str(payment.pk),
                                                               "invoice_id": str(payment.invoice_id)}},
                                          options={"idempotency_key": f"kf-refund-{payment.pk}"})
        return refund.id

    # --- webhooks ---------------------------------------------------------------------------------

    def webhook_parse(self, *, body: bytes, headers):
        import stripe

        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            raise WebhookRejected("webhook secret not configured")
        try:
            return stripe.Webhook.construct_event(body, headers.get("Stripe-Signature", ""), secret)
        except (ValueError, stripe.SignatureVerificationError):
            raise WebhookRejected("invalid signature") from None

    def webhook_read(self, event):
        import stripe

        reader = READERS.get(event["type"])
        if reader is None:
            return None
        try:
            return reader(stripe_client(), event["data"]["object"])
        except stripe.StripeError as exc:
            raise ProviderUnavailable(f"could not re-read {event['type']} {event['id']}") from exc


# Each reader re-reads the event's object from Stripe and translates it.


def _session_paid(client, obj) -> CheckoutPaid:
    session = client.v1.checkout.sessions.retrieve(obj["id"]).to_dict()
    amount = from_ore(session["amount_total"]) if session.get("amount_total") is not None else None
    return CheckoutPaid(session_id=session["id"],
                        # anything else is a delayed method: async_payment_succeeded follows
                        paid=session.get("payment_status") in ("paid", "no_payment_required"),
                        payment_intent_id=_id(session.get("payment_intent")), amount=amount)


def _session_failed(client, obj) -> CheckoutFailed:
    session = client.v1.checkout.sessions.retrieve(obj["id"]).to_dict()
    return CheckoutFailed(session_id=session["id"], paid=session.get("payment_status") == "paid",
                          reason="expired" if session.get("status") == "expired" else "async payment failed")


def _charge_refunded(client, obj) -> ChargeRefunded:
    charge = client.v1.charges.retrieve(obj["id"]).to_dict()
    refunds = client.v1.refunds.list(params={"charge": charge["id"], "limit": 100})
    return ChargeRefunded(payment_intent_id=_id(charge.get("payment_intent")),
                          refunds=[ProviderRefund(reference=r["id"], amount=from_ore(r["amount"]))
                                   for r in (x.to_dict() for x in refunds.data)
                                   if r.get("status") in REFUND_ACTIVE])


READERS = {
    "checkout.session.completed": _session_paid,
    "checkout.session.async_payment_succeeded": _session_paid,
    "checkout.session.async_payment_failed": _session_failed,
    "checkout.session.expired": _session_failed,
    "charge.refunded": _charge_refunded,
}
