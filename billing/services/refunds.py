"""Refunds: card payments go back through the payment provider (a pending row executed by the task
`billing.refund_execute` after commit); everything else is a bank payout to the customer's account,
marked paid out by the case worker. A refund the provider reports itself is recorded once."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import money, norwegian
from billing.errors import InvalidInput
from billing.models import Invoice, Payment
from billing.selectors import payment_refundable_left, refund_due
from billing.services.audit import actor, audit
from billing.services.payments import payment_state_refresh
from kundefaktura.queue import enqueue, enqueue_on_commit

log = logging.getLogger(__name__)


@transaction.atomic
def refunds_prepare(*, invoice, by=None) -> list[Payment]:
    """Create the refund rows an over-paid invoice needs: card payments back through their provider
    (executed by a task after commit), the rest as a bank payout to the customer's account number.
    Running it again creates nothing new."""
    invoice = Invoice.objects.select_for_update(of=("self",)).select_related("basis", "basis__customer").get(
        pk=getattr(invoice, "pk", invoice))
    if invoice.number is None or invoice.kind == Invoice.Kind.CREDIT_NOTE:
        return []
    amount = refund_due(invoice)
    if amount <= 0:
        return []
    payments = list(invoice.payments.filter(direction=Payment.Direction.PAYMENT, status=Payment.Status.CONFIRMED)
                    .order_by("-confirmed_at", "-id"))
    rows = []
    for p in [p for p in payments if p.method == Payment.Method.CARD and p.provider in REFUNDERS]:
        take = min(payment_refundable_left(p), amount)
        if take <= 0:
            continue
        rows.append(Payment.objects.create(
            invoice=invoice, direction=Payment.Direction.REFUND, method=Payment.Method.CARD, amount=take,
            status=Payment.Status.PENDING, provider=p.provider, refund_of=p, created_by=actor(by)[0],
            note=_("Tilbakebetaling til kortet")))
        amount -= take
    if amount > 0:
        customer = invoice.basis.customer
        source = next((p for p in payments if p.method != Payment.Method.CARD), None)
        rows.append(Payment.objects.create(
            invoice=invoice, direction=Payment.Direction.REFUND, method=Payment.Method.BANK_TRANSFER,
            amount=amount, status=Payment.Status.PENDING, provider="bank", refund_of=source,
            payout_account=(customer.bank_account if customer else "") or "", created_by=actor(by)[0],
            note=_("Utbetaling til kundens bankkonto")))
    audit(action="billing.refund.created", by=by, basis=invoice.basis,
          data={"invoice": invoice.pk, "number": invoice.number,
                "refunds": [{"payment": r.pk, "amount": str(r.amount), "method": r.method} for r in rows]})
    card = [r.pk for r in rows if r.method == Payment.Method.CARD]
    if card:
        for pk in card:
            enqueue_on_commit("billing.refund_execute", pk)
    return rows


def _stripe_refund(payment: Payment) -> str:
    """Refund through Stripe: the checkout session's payment intent, the amount in øre, an idempotency key
    per refund row (so a retried task never refunds twice). Returns the Stripe refund id."""
    from portal.payments import stripe_client, to_ore

    client = stripe_client()
    original = payment.refund_of
    intent = original.provider_reference
    if intent.startswith("cs_"):
        session = client.v1.checkout.sessions.retrieve(intent)
        intent = session.payment_intent if isinstance(session.payment_intent, str) else session.payment_intent.id
    refund = client.v1.refunds.create(params={"payment_intent": intent, "amount": to_ore(payment.amount),
                                              "metadata": {"refund_payment_id": str(payment.pk),
                                                           "invoice_id": str(payment.invoice_id)}},
                                      options={"idempotency_key": f"kf-refund-{payment.pk}"})
    return refund.id


def _local_refund(payment: Payment) -> str:
    return f"local-refund-{payment.pk}"


REFUNDERS = {"stripe": _stripe_refund, "local": _local_refund}


def refund_execute(*, payment, by=None) -> Payment:
    """Run one pending card refund at its provider, then confirm it. Safe to run twice."""
    payment = Payment.objects.select_related("refund_of").get(pk=getattr(payment, "pk", payment))
    if payment.status != Payment.Status.PENDING or payment.method != Payment.Method.CARD:
        return payment
    try:
        reference = REFUNDERS[payment.provider](payment)
    except Exception as exc:  # the provider said no: keep it visible for the case worker
        with transaction.atomic():
            Payment.objects.filter(pk=payment.pk, status=Payment.Status.PENDING).update(
                error=f"{type(exc).__name__}: {exc}"[:2000])
            audit(action="billing.refund.failed", by=by, basis=payment.invoice.basis,
                  data={"payment": payment.pk, "amount": str(payment.amount), "error": str(exc)[:200]})
        raise
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != Payment.Status.PENDING:
            return payment
        if Payment.objects.filter(provider=payment.provider, provider_reference=reference,
                                  direction=Payment.Direction.REFUND).exclude(pk=payment.pk).exists():
            # The provider's webhook recorded this refund first (payment_refund_record): that row
            # counts; this one is closed so the money is not counted twice.
            payment.status = Payment.Status.FAILED
            payment.error = f"recorded by webhook as {reference}"
            payment.save(update_fields=["status", "error"])
            return payment
        payment.status = Payment.Status.CONFIRMED
        payment.provider_reference = reference
        payment.confirmed_at = timezone.now()
        payment.error = ""
        payment.save(update_fields=["status", "provider_reference", "confirmed_at", "error"])
        audit(action="billing.refund.confirmed", by=by, basis=payment.invoice.basis,
              data={"payment": payment.pk, "invoice": payment.invoice_id, "amount": str(payment.amount),
                    "method": payment.method, "reference": reference})
        payment_state_refresh(payment.invoice, by=by)
    return payment


def refunds_sweep(now=None) -> int:
    """Outbox sweeper: re-queue card refunds whose task was lost (pending, no provider error, older than
    a grace period). A provider error stays on the row for the case worker instead."""
    now = now or timezone.now()
    pks = list(Payment.objects.filter(direction=Payment.Direction.REFUND, method=Payment.Method.CARD,
                                      status=Payment.Status.PENDING, error="",
                                      created_at__lte=now - dt.timedelta(minutes=2))
               .values_list("pk", flat=True)[:200])
    for pk in pks:
        enqueue("billing.refund_execute", pk)
    return len(pks)


@transaction.atomic
def refund_mark_paid_out(*, payment, by, account: str = "", note: str = "") -> Payment:
    """The case worker paid the refund out from the bank: confirm it (once)."""
    payment = Payment.objects.select_for_update().select_related("invoice").get(pk=getattr(payment, "pk", payment))
    if payment.direction != Payment.Direction.REFUND or payment.method != Payment.Method.BANK_TRANSFER:
        raise InvalidInput(_("Bare bankutbetalinger markeres som utbetalt her."))
    if payment.status == Payment.Status.CONFIRMED:
        return payment
    account = "".join(ch for ch in (account or payment.payout_account) if ch.isdigit())
    if not account:
        raise InvalidInput(_("Oppgi kontonummeret pengene ble betalt til."), fields={"account": ["required"]})
    if not norwegian.kontonr_valid(account):
        raise InvalidInput(_("Ugyldig kontonummer: %s") % account, fields={"account": ["invalid"]})
    payment.status = Payment.Status.CONFIRMED
    payment.payout_account = account
    payment.confirmed_at = timezone.now()
    if note:
        payment.note = note[:300]
    payment.save(update_fields=["status", "payout_account", "confirmed_at", "note"])
    audit(action="billing.refund.paid_out", by=by, basis=payment.invoice.basis, note=note,
          data={"payment": payment.pk, "invoice": payment.invoice_id, "amount": str(payment.amount),
                "account": account})
    payment_state_refresh(payment.invoice, by=by)
    return payment


@transaction.atomic
def payment_refund_record(*, payment, by, amount, provider_reference: str, note: str = "") -> tuple[Payment, bool]:
    """Record a refund the provider has made (Stripe `charge.refunded`): one confirmed refund row per
    provider refund id, linked to the original payment. Idempotent by (provider, reference, direction)."""
    original = Payment.objects.select_for_update().get(pk=payment.pk)
    existing = Payment.objects.filter(provider=original.provider, provider_reference=provider_reference,
                                      direction=Payment.Direction.REFUND).first()
    if existing:
        return existing, False
    amount = money.round_ore(Decimal(str(amount)))
    if amount <= 0:
        raise InvalidInput(_("Beløpet må være større enn null."), fields={"amount": ["min"]})
    refund = Payment.objects.create(
        invoice=original.invoice, direction=Payment.Direction.REFUND, method=original.method, amount=amount,
        status=Payment.Status.CONFIRMED, provider=original.provider, provider_reference=provider_reference,
        refund_of=original, note=note, created_by=actor(by)[0], confirmed_at=timezone.now())
    audit(action="billing.payment.refunded", by=by, basis=original.invoice.basis,
          data={"invoice": original.invoice_id, "payment": original.pk, "refund": refund.pk, "amount": str(amount)})
    payment_state_refresh(original.invoice, by=by)
    return refund, True

