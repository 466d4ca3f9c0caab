"""What an invoice has been paid, credited and still owes; reminder fees; what must be refunded.

Each figure is computed here once. Lists compute the outstanding amount in SQL instead
(`billing/selectors/worklist.py`, `outstanding_expression`), which mirrors `invoice_outstanding`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from billing.models import Invoice, Payment
from billing.money import ZERO
from billing.status import AFTER_ACCEPTANCE, Status

REMINDER_PAYMENT_DAYS = 14  # inkassoloven § 9: a reminder gives at least 14 days to pay


MAX_REMINDERS = 2


ACTIVE = (Payment.Status.PENDING, Payment.Status.CONFIRMED)


def invoice_paid_amount(invoice, payments=None) -> Decimal:
    """`payments`: every payment of the invoice, when the caller has loaded them."""
    if payments is None:
        rows = invoice.payments.filter(status__in=[Payment.Status.CONFIRMED, Payment.Status.REFUNDED])
    else:
        rows = [p for p in payments if p.status in (Payment.Status.CONFIRMED, Payment.Status.REFUNDED)]
    paid = sum((p.amount for p in rows if p.direction == Payment.Direction.PAYMENT), ZERO)
    refunded = sum((p.amount for p in rows if p.direction == Payment.Direction.REFUND
                    and p.status == Payment.Status.CONFIRMED), ZERO)
    return paid - refunded


def invoice_credited_amount(invoice, credit_notes=None) -> Decimal:
    """`credit_notes`: the invoice's issued credit notes, when the caller has loaded them."""
    if credit_notes is None:
        credit_notes = invoice.credit_notes.filter(number__isnull=False)
    return sum((cn.gross_total for cn in credit_notes if cn.number is not None), ZERO)


def invoice_outstanding(invoice, *, payments=None, credit_notes=None) -> Decimal:
    """What the customer still owes on an invoice (negative: they paid too much → refund). `payments`
    (all of the invoice's) and `credit_notes` (its issued ones) may be passed when already loaded."""
    if invoice.kind == Invoice.Kind.CREDIT_NOTE or invoice.number is None:
        return ZERO
    return (invoice.gross_total - invoice_credited_amount(invoice, credit_notes)
            - invoice_paid_amount(invoice, payments))


def reminder_fees(invoice) -> Decimal:
    return sum((r.fee for r in invoice.reminders.all()), ZERO)


def _fees_unpaid(fees: Decimal, outstanding: Decimal) -> Decimal:
    """Payments beyond the invoice's own balance (a negative outstanding) settle the fees first."""
    return max(ZERO, fees - max(ZERO, -outstanding)) if fees else ZERO


def reminder_fees_unpaid(invoice) -> Decimal:
    """Fees not yet covered by payments beyond the invoice's own balance."""
    fees = reminder_fees(invoice)
    if not fees:
        return ZERO
    return _fees_unpaid(fees, invoice_outstanding(invoice))


def amount_owed(invoice) -> Decimal:
    """What the customer must pay now on this invoice: the balance plus unpaid reminder fees."""
    return invoice_dues(invoice)["owed"]


def invoice_dues(invoice, outstanding: Decimal | None = None) -> dict:
    """One invoice as the customer sees it: balance (`outstanding`), the reminders and the fees they
    charged (`fees`), the part of those still unpaid, and the total to pay now (`owed`, = amount_owed).
    Reads `invoice.reminders.all()`, so a list that prefetches "reminders" costs no query per invoice;
    `outstanding` may be passed when it is known (the SQL annotation of `invoices_with_outstanding`)."""
    outstanding = invoice_outstanding(invoice) if outstanding is None else outstanding
    reminders = sorted(invoice.reminders.all(), key=lambda r: r.step)
    fees = sum((r.fee for r in reminders), ZERO)
    unpaid = _fees_unpaid(fees, outstanding)
    return {"outstanding": outstanding, "reminders": reminders, "fees": fees, "fees_unpaid": unpaid,
            "owed": max(ZERO, outstanding) + unpaid}


def reminder_next(invoice, reminders, on: dt.date, profile) -> tuple[int, dt.date] | None:
    """(step, the day it is due) of the next reminder, or None after the second."""
    if len(reminders) >= MAX_REMINDERS:
        return None
    if not reminders:
        return 1, invoice.due_date + dt.timedelta(days=profile.reminder_days_after_due)
    last = reminders[-1]
    # The second only after the first one's payment deadline (≥ 14 days after it) has passed.
    return len(reminders) + 1, max(last.due_date + dt.timedelta(days=1),
                                   last.sent_at.date() + dt.timedelta(days=REMINDER_PAYMENT_DAYS))


def refund_due(invoice) -> Decimal:
    """What must go back to the customer: paid beyond the balance and unpaid reminder fees, less the
    refunds already under way (pending) — confirmed refunds already lower the paid amount."""
    overpaid = -invoice_outstanding(invoice)
    if overpaid <= 0:
        return ZERO
    pending = sum((p.amount for p in invoice.payments.filter(direction=Payment.Direction.REFUND,
                                                              status=Payment.Status.PENDING)), ZERO)
    return max(ZERO, overpaid - reminder_fees(invoice) - pending)


def payment_refundable_left(payment: Payment) -> Decimal:
    taken = sum((r.amount for r in payment.refunds.filter(status__in=ACTIVE)), ZERO)
    return payment.amount - taken


def work_release_due(basis) -> bool:
    """Released once accepted; with prepayment required, once the prepayment invoices are paid."""
    if basis.status in (Status.CANCELLED,) or basis.accepted_at is None:
        return False
    if basis.status not in AFTER_ACCEPTANCE:
        return False
    if not basis.prepayment_required:
        return True
    prepayments = [inv for inv in basis.invoices.filter(kind=Invoice.Kind.PREPAYMENT, number__isnull=False)]
    return bool(prepayments) and all(invoice_outstanding(inv) <= 0 for inv in prepayments)

