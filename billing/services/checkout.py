"""Online payment through a provider (billing/providers/): start a checkout, end the other open ones,
and record what a provider's webhook event means.

Every attempt is a billing Payment row with status pending, created through `payment_register`; the
webhook (or the local test page) confirms or fails it. A webhook is a trigger, not the truth: the
provider verifies it and re-reads the object, then, in one transaction with a lock timeout, the event id
is recorded and the payment confirmed, failed or refunded idempotently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from billing import providers
from billing.models import CheckoutAttempt, Payment, WebhookEvent
from billing.providers import (
    ChargeRefunded,
    CheckoutFailed,
    CheckoutPaid,
    PaymentProvider,
    ProviderUnavailable,
)
from billing.services.payments import payment_confirm, payment_fail, payment_register
from billing.services.refunds import payment_refund_record

log = logging.getLogger(__name__)


@dataclass
class Checkout:
    payment: Payment
    redirect_url: str


def checkout_start(*, invoice, amount, attempt: str, by, success_url: str, cancel_url: str,
                   provider: PaymentProvider | None = None) -> Checkout:
    """Open a checkout for `amount` of `invoice` (the settings' provider unless one is given) and say where
    to send the customer. The same attempt twice (a double click) gives the same checkout."""
    provider = provider or providers.checkout_provider()
    if not provider.is_available():
        raise ProviderUnavailable(f"{provider.identifier} is not configured")
    key = provider.checkout_key(invoice=invoice, attempt=attempt)
    existing = CheckoutAttempt.objects.filter(idempotency_key=key).select_related("payment").first()
    if existing:
        return Checkout(existing.payment, provider.checkout_url(existing))
    checkouts_expire_others(provider=provider, invoice=invoice, keep=key, by=by)
    session = provider.checkout_create(invoice=invoice, amount=amount, key=key, attempt=attempt,
                                       success_url=success_url, cancel_url=cancel_url)
    with transaction.atomic():
        payment, _created = payment_register(
            invoice=invoice, by=by, amount=amount, method=provider.method, provider=provider.identifier,
            provider_reference=session.id, status=Payment.Status.PENDING, note=provider.checkout_note())
        row, _ = CheckoutAttempt.objects.get_or_create(
            session_id=session.id, defaults={"payment": payment, "provider": provider.identifier,
                                             "idempotency_key": key, "checkout_url": session.url})
    return Checkout(payment, provider.checkout_url(row))


def checkouts_expire_others(*, provider: PaymentProvider, invoice, keep: str, by) -> list[str]:
    """Starting a checkout ends the invoice's other open ones (another tab, an older attempt), so the
    customer cannot pay twice. A session the provider says is already paid stays pending: its webhook
    confirms it, and the excess is refunded. Returns the ended session ids."""
    ended = []
    open_attempts = (CheckoutAttempt.objects.filter(provider=provider.identifier, payment__invoice=invoice,
                                                    payment__status=Payment.Status.PENDING,
                                                    payment__direction=Payment.Direction.PAYMENT)
                     .exclude(idempotency_key=keep).select_related("payment"))
    for attempt in open_attempts:
        try:
            expired = provider.checkout_expire(attempt)
        except Exception:  # noqa: BLE001 - the provider's own expiry (or its webhook) ends it later
            log.warning("could not expire checkout %s", attempt.session_id, exc_info=True)
            continue
        if expired:
            payment_fail(payment=attempt.payment, by=by, error="erstattet av en ny betaling")
            ended.append(attempt.session_id)
    return ended


# --- webhook events -------------------------------------------------------------------------------


def _set_lock_timeout():
    """Waiting for a row lock longer than this raises OperationalError → the view answers 503."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)",
                           [f"{int(settings.PORTAL_WEBHOOK_LOCK_TIMEOUT_MS)}ms"])


def webhook_event_handle(*, provider: PaymentProvider, event) -> str:
    """Process one verified event once; returns what it did (stored on the WebhookEvent row). Raises
    OperationalError on a lock timeout and ProviderUnavailable when re-reading fails; both mean "retry
    later" and leave nothing recorded."""
    event_id, event_type = event["id"], event["type"]
    if WebhookEvent.objects.filter(provider=provider.identifier, event_id=event_id).exists():
        return "duplicate"
    fact = provider.webhook_read(event)  # outside the transaction: a network call
    with transaction.atomic():
        _set_lock_timeout()
        try:
            with transaction.atomic():
                record = WebhookEvent.objects.create(provider=provider.identifier, event_id=event_id,
                                                     type=event_type)
        except IntegrityError:
            return "duplicate"  # a concurrent delivery of the same event won
        result = _apply(provider, fact) if fact is not None else "ignored"
        record.result = result[:40]
        record.save(update_fields=["result"])
    log.info("%s event %s %s: %s", provider.identifier, event_type, event_id, result)
    return result


def _attempt(provider, **lookup) -> CheckoutAttempt | None:
    return CheckoutAttempt.objects.filter(provider=provider.identifier, **lookup).select_related("payment").first()


def _apply(provider: PaymentProvider, fact) -> str:
    if isinstance(fact, CheckoutPaid):
        attempt = _attempt(provider, session_id=fact.session_id)
        if attempt is None:
            return "unknown_session"
        if not fact.paid:
            return "awaiting_payment"  # e.g. a delayed method: its success event follows
        if fact.payment_intent_id and attempt.payment_intent_id != fact.payment_intent_id:
            attempt.payment_intent_id = fact.payment_intent_id
            attempt.save(update_fields=["payment_intent_id"])
        payment = payment_confirm(payment=attempt.payment, by=None, amount=fact.amount)
        return "confirmed" if payment.status == Payment.Status.CONFIRMED else payment.status
    if isinstance(fact, CheckoutFailed):
        attempt = _attempt(provider, session_id=fact.session_id)
        if attempt is None:
            return "unknown_session"
        if fact.paid:
            return "already_paid"  # a late "failed"/"expired" never undoes a payment the provider says is made
        payment_fail(payment=attempt.payment, by=None, error=f"{provider.verbose_name}: {fact.reason}")
        return "failed"
    if isinstance(fact, ChargeRefunded):
        attempt = _attempt(provider, payment_intent_id=fact.payment_intent_id) if fact.payment_intent_id else None
        if attempt is None:
            return "unknown_charge"
        recorded = 0
        for refund in fact.refunds:
            _row, created = payment_refund_record(
                payment=attempt.payment, by=None, amount=refund.amount, provider_reference=refund.reference,
                note=f"{provider.verbose_name} refund")
            recorded += created
        return f"refunds_recorded:{recorded}"
    raise TypeError(f"unknown provider fact {fact!r}")
