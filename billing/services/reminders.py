"""Reminders (purring) for overdue invoices: at most two, each once, with a fee and a new payment
deadline of at least 14 days (inkassoloven § 9).

The reminder fee is a claim on the reminder document (a reminder fee is not a sale and is outside the
VAT scope), payable with the invoice's KID. Payments beyond the invoice balance settle unpaid fees
before anything counts as overpaid and is refunded (`billing.selectors.invoice_dues`).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction

from billing.clock import today
from billing.errors import BillingError
from billing.models import CompanyProfile, Invoice, Reminder
from billing.money import ZERO
from billing.selectors import REMINDER_PAYMENT_DAYS, invoice_outstanding, reminder_fees_unpaid, reminder_next
from billing.services.audit import audit

log = logging.getLogger(__name__)


@transaction.atomic
def reminder_send(*, invoice, by=None, on: dt.date | None = None) -> Reminder | None:
    """Send the next reminder of an overdue invoice if one is due; None otherwise (so running the job
    twice sends nothing new). Each step at most once (unique constraint)."""
    on = on or today()
    invoice = Invoice.objects.select_for_update().get(pk=getattr(invoice, "pk", invoice))
    if invoice.number is None or invoice.kind == Invoice.Kind.CREDIT_NOTE or not invoice.due_date:
        return None
    outstanding = invoice_outstanding(invoice)
    if outstanding <= 0:
        return None
    profile = CompanyProfile.load()
    reminders = list(invoice.reminders.order_by("step"))
    nxt = reminder_next(invoice, reminders, on, profile)
    if nxt is None or on < nxt[1]:
        return None
    step = nxt[0]
    earlier_fees = sum((r.fee for r in reminders), ZERO)
    unpaid_earlier = reminder_fees_unpaid(invoice)
    reminder = Reminder.objects.create(invoice=invoice, step=step, fee=profile.reminder_fee,
                                       outstanding=outstanding,
                                       due_date=on + dt.timedelta(days=REMINDER_PAYMENT_DAYS))
    total = outstanding + unpaid_earlier + reminder.fee
    # The reminder's PDF and its e-mail follow this event (offers/receivers.py), with its figures.
    audit(action="billing.invoice.reminder_sent", by=by, basis=invoice.basis,
          data={"reminder": reminder.pk, "invoice": invoice.pk, "number": invoice.number, "step": step,
                "date": on.isoformat(), "fee": str(reminder.fee), "outstanding": str(outstanding),
                "total": str(total), "due_date": reminder.due_date.isoformat(),
                "earlier_fees": str(earlier_fees)})
    return reminder


def reminders_send_due(*, on: dt.date | None = None) -> list[tuple[int, int]]:
    """The daily job: (invoice number, step) of every reminder sent now."""
    on = on or today()
    profile = CompanyProfile.load()
    latest_due = on - dt.timedelta(days=profile.reminder_days_after_due)
    sent = []
    candidates = (Invoice.objects.filter(number__isnull=False, due_date__lte=latest_due,
                                         status__in=[Invoice.Status.ISSUED, Invoice.Status.SENT])
                  .exclude(kind=Invoice.Kind.CREDIT_NOTE).values_list("pk", flat=True).order_by("pk"))
    for pk in candidates:
        try:
            reminder = reminder_send(invoice=pk, on=on)
        except BillingError:
            log.exception("reminder failed for invoice %s", pk)
            continue
        if reminder:
            sent.append((reminder.invoice.number, reminder.step))
    return sent

