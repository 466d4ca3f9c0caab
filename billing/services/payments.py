"""Payments: register, confirm, fail; and the paid state of an invoice and its basis, derived from
confirmed payments, credits, refunds and reminder fees."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import money
from billing.errors import InvalidInput
from billing.models import Invoice, Payment
from billing.selectors import amount_owed, invoice_credited_amount, invoice_outstanding
from billing.services.audit import actor, audit
from billing.services.locking import lock_basis
from billing.services.work_release import work_release_refresh
from billing.status import Status, transition


def payment_state_refresh(invoice, *, by=None) -> None:
    """Derive invoice and basis 'paid' from confirmed payments, credits and refunds."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    outstanding = invoice_outstanding(invoice)
    credited = invoice_credited_amount(invoice)
    if credited >= invoice.gross_total and invoice.gross_total > 0:
        new_status = Invoice.Status.CREDITED
    elif outstanding <= 0:
        new_status = Invoice.Status.PAID
    else:
        new_status = Invoice.Status.SENT if invoice.sent_at else Invoice.Status.ISSUED
    if invoice.status != new_status:
        invoice.status = new_status
        invoice.save(update_fields=["status"])
    basis = lock_basis(invoice.basis_id)
    docs = list(basis.invoices.filter(number__isnull=False).exclude(kind=Invoice.Kind.CREDIT_NOTE))
    # «Faktura betalt» only when nothing is owed: unpaid reminder fees are owed too.
    all_settled = bool(docs) and all(amount_owed(d) <= 0 for d in docs)
    if all_settled and basis.status == Status.INVOICED:
        old, new = transition(basis, "paid")
        basis.save(update_fields=["status", "updated_at"])
        audit(action="billing.basis.paid", by=by, basis=basis, from_status=old, to_status=new)
    elif not all_settled and basis.status == Status.PAID:
        old, new = transition(basis, "unpaid")
        basis.save(update_fields=["status", "updated_at"])
        audit(action="billing.basis.unpaid", by=by, basis=basis, from_status=old, to_status=new)
    work_release_refresh(basis, by=by)


@transaction.atomic
def payment_register(*, invoice, by, amount, method: str, provider: str = "manual",
                     provider_reference: str = "", status: str = Payment.Status.CONFIRMED,
                     note: str = "") -> tuple[Payment, bool]:
    """Record a payment (or an attempt, status=pending). Idempotent by (provider, provider_reference)."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if provider_reference:
        existing = Payment.objects.filter(provider=provider, provider_reference=provider_reference,
                                          direction=Payment.Direction.PAYMENT).first()
        if existing:
            return existing, False
    if invoice.number is None or invoice.kind == Invoice.Kind.CREDIT_NOTE:
        raise InvalidInput(_("Betaling kan bare registreres på en utstedt faktura."))
    amount = money.round_ore(Decimal(str(amount)))
    if amount <= 0:
        raise InvalidInput(_("Beløpet må være større enn null."), fields={"amount": ["min"]})
    payment = Payment.objects.create(invoice=invoice, method=method, amount=amount, status=status,
                                     provider=provider, provider_reference=provider_reference, note=note,
                                     created_by=actor(by)[0],
                                     confirmed_at=timezone.now() if status == Payment.Status.CONFIRMED else None)
    if status == Payment.Status.CONFIRMED:
        audit(action="billing.payment.confirmed", by=by, basis=invoice.basis,
              data={"invoice": invoice.pk, "number": invoice.number, "amount": str(amount), "method": method,
                    "payment": payment.pk})
        payment_state_refresh(invoice, by=by)
    return payment, True


@transaction.atomic
def payment_confirm(*, payment, by, amount=None) -> Payment:
    """A pending attempt (card checkout) is confirmed. Confirming twice changes nothing."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status == Payment.Status.CONFIRMED or payment.status == Payment.Status.REFUNDED:
        return payment
    if amount is not None:
        payment.amount = money.round_ore(Decimal(str(amount)))
    payment.status = Payment.Status.CONFIRMED
    payment.confirmed_at = timezone.now()
    payment.save(update_fields=["status", "confirmed_at", "amount"])
    audit(action="billing.payment.confirmed", by=by, basis=payment.invoice.basis,
          data={"invoice": payment.invoice_id, "number": payment.invoice.number, "amount": str(payment.amount),
                "method": payment.method, "payment": payment.pk})
    payment_state_refresh(payment.invoice, by=by)
    return payment


@transaction.atomic
def payment_fail(*, payment, by, error: str = "") -> Payment:
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != Payment.Status.PENDING:
        return payment
    payment.status = Payment.Status.FAILED
    payment.error = error
    payment.save(update_fields=["status", "error"])
    audit(action="billing.payment.failed", by=by, basis=payment.invoice.basis,
          data={"invoice": payment.invoice_id, "payment": payment.pk, "error": error[:200]})
    return payment

