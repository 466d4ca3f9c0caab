"""Stripe webhook handling. The webhook is a trigger, not the truth: verify the signature, skip an event
id seen before, re-read the object from Stripe, then (in one transaction, with a lock timeout) record the
event id and confirm/fail/refund idempotently through the billing services.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from billing import services
from billing.models import Payment

from .models import CheckoutAttempt, WebhookEvent
from .payments import from_ore, stripe_client

log = logging.getLogger(__name__)

PROVIDER = "stripe"


def _set_lock_timeout():
    """Waiting for a row lock longer than this raises OperationalError → the view answers 503."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)",
                           [f"{int(settings.PORTAL_WEBHOOK_LOCK_TIMEOUT_MS)}ms"])


def _attempt_for_session(session_id: str) -> CheckoutAttempt | None:
    return CheckoutAttempt.objects.filter(provider=PROVIDER, session_id=session_id).select_related("payment").first()


# Each handler gets the re-read object (a read step outside the transaction) and returns a function
# that applies it inside the transaction.


def _read_session(obj):
    return stripe_client().v1.checkout.sessions.retrieve(obj["id"]).to_dict()


def _apply_session_paid(session) -> str:
    attempt = _attempt_for_session(session["id"])
    if attempt is None:
        return "unknown_session"
    if session.get("payment_status") not in ("paid", "no_payment_required"):
        return "awaiting_payment"  # e.g. a delayed method: async_payment_succeeded follows
    pi = session.get("payment_intent")
    pi_id = pi if isinstance(pi, str) or pi is None else pi.get("id")
    if pi_id and attempt.payment_intent_id != pi_id:
        attempt.payment_intent_id = pi_id
        attempt.save(update_fields=["payment_intent_id"])
    amount = from_ore(session["amount_total"]) if session.get("amount_total") is not None else None
    payment = services.payment_confirm(payment=attempt.payment, by=None, amount=amount)
    return "confirmed" if payment.status == Payment.Status.CONFIRMED else payment.status


def _apply_session_failed(session) -> str:
    attempt = _attempt_for_session(session["id"])
    if attempt is None:
        return "unknown_session"
    if session.get("payment_status") == "paid":
        return "already_paid"  # a late "failed"/"expired" never undoes a payment Stripe says is made
    reason = "expired" if session.get("status") == "expired" else "async payment failed"
    services.payment_fail(payment=attempt.payment, by=None, error=f"Stripe: {reason}")
    return "failed"


def _read_charge(obj):
    client = stripe_client()
    charge = client.v1.charges.retrieve(obj["id"]).to_dict()
    refunds = client.v1.refunds.list(params={"charge": charge["id"], "limit": 100})
    return {"charge": charge, "refunds": [r.to_dict() for r in refunds.data]}


def _apply_charge_refunded(data) -> str:
    charge = data["charge"]
    pi = charge.get("payment_intent")
    pi_id = pi if isinstance(pi, str) or pi is None else pi.get("id")
    attempt = (CheckoutAttempt.objects.filter(provider=PROVIDER, payment_intent_id=pi_id).select_related("payment")
               .first() if pi_id else None)
    if attempt is None:
        return "unknown_charge"
    recorded = 0
    for refund in data["refunds"]:
        if refund.get("status") not in ("succeeded", "pending"):
            continue
        _row, created = services.payment_refund_record(
            payment=attempt.payment, by=None, amount=from_ore(refund["amount"]), provider_reference=refund["id"],
            note="Stripe refund")
        recorded += created
    return f"refunds_recorded:{recorded}"


HANDLERS = {
    "checkout.session.completed": (_read_session, _apply_session_paid),
    "checkout.session.async_payment_succeeded": (_read_session, _apply_session_paid),
    "checkout.session.async_payment_failed": (_read_session, _apply_session_failed),
    "checkout.session.expired": (_read_session, _apply_session_failed),
    "charge.refunded": (_read_charge, _apply_charge_refunded),
}


def handle_event(event) -> str:
    """Process one verified event. Raises OperationalError on a lock timeout, stripe.StripeError when
    re-reading fails; both mean "retry later" and leave nothing recorded."""
    event_id, event_type = event["id"], event["type"]
    if WebhookEvent.objects.filter(provider=PROVIDER, event_id=event_id).exists():
        return "duplicate"
    handler = HANDLERS.get(event_type)
    fresh = handler[0](event["data"]["object"]) if handler else None
    with transaction.atomic():
        _set_lock_timeout()
        try:
            with transaction.atomic():
                record = WebhookEvent.objects.create(provider=PROVIDER, event_id=event_id, type=event_type)
        except IntegrityError:
            return "duplicate"  # a concurrent delivery of the same event won
        result = handler[1](fresh) if handler else "ignored"
        record.result = result[:40]
        record.save(update_fields=["result"])
    log.info("stripe event %s %s: %s", event_type, event_id, result)
    return result
