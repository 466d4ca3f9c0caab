"""Read-side lists and overviews for the case worker and the customer: changes after acceptance,
overdue invoices, overpayments, refund payouts, expired offers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Q

from billing.clock import today
from billing.models import ChangeNotice, CompanyProfile, CostLine, Invoice, InvoiceBasis, Payment
from billing.money import ZERO
from billing.selectors.owed import invoice_outstanding, reminder_next
from billing.selectors.totals import accepted_estimate
from billing.status import Status


def change_lines_pending(basis) -> list[CostLine]:
    """Change lines that wait for the customer: not yet notified, or notified and not yet answered."""
    return list(basis.lines.filter(is_change=True, phase=CostLine.Phase.ESTIMATE, invoice__isnull=True)
                .filter(Q(change_notice__isnull=True) | Q(change_notice__status=ChangeNotice.Status.SENT))
                .select_related("category", "vat_code", "change_notice").order_by("position", "id"))


def change_overview(basis) -> dict:
    """Everything the case worker's and the customer's change pages show for one basis."""
    lines = list(basis.lines.filter(is_change=True, phase=CostLine.Phase.ESTIMATE)
                 .select_related("category", "vat_code", "change_notice", "invoice").order_by("position", "id"))
    groups = {"unnotified": [], "awaiting": [], "accepted_uninvoiced": [], "invoiced": [], "declined": [],
              "expired": []}
    for ln in lines:
        notice = ln.change_notice
        if ln.invoice_id:
            groups["invoiced"].append(ln)
        elif notice is None:
            groups["unnotified"].append(ln)
        elif notice.status == ChangeNotice.Status.SENT:
            groups["awaiting"].append(ln)
        elif notice.status == ChangeNotice.Status.ACCEPTED:
            groups["accepted_uninvoiced"].append(ln)
        elif notice.status == ChangeNotice.Status.DECLINED:
            groups["declined"].append(ln)
        elif notice.status == ChangeNotice.Status.EXPIRED:
            groups["expired"].append(ln)
        else:  # a superseded notice never keeps lines; show them as not notified
            groups["unnotified"].append(ln)
    return {"groups": groups, "notices": list(basis.change_notices.order_by("-version")),
            "accepted_estimate": accepted_estimate(basis)}


def customer_change_notices(user):
    """The change notices a portal user may see: those of bases whose customer is this user."""
    return (ChangeNotice.objects.filter(basis__customer__user=user).select_related("basis")
            .order_by("-sent_at", "-id"))


def offers_expired():
    return (InvoiceBasis.objects.filter(status=Status.EXPIRED).select_related("customer")
            .order_by("offer_valid_until", "pk"))


def overdue_invoices(*, on: dt.date | None = None) -> list[dict]:
    """Issued invoices past their due date with something left to pay, with their reminder state."""
    on = on or today()
    profile = CompanyProfile.load()
    rows = []
    qs = (Invoice.objects.filter(number__isnull=False, due_date__lt=on,
                                 status__in=[Invoice.Status.ISSUED, Invoice.Status.SENT])
          .exclude(kind=Invoice.Kind.CREDIT_NOTE).select_related("basis", "basis__customer")
          .prefetch_related("reminders").order_by("due_date", "number"))
    for inv in qs:
        outstanding = invoice_outstanding(inv)
        if outstanding <= 0:
            continue
        reminders = sorted(inv.reminders.all(), key=lambda r: r.step)
        nxt = reminder_next(inv, reminders, on, profile)
        rows.append({"invoice": inv, "outstanding": outstanding, "reminders": reminders,
                     "fees": sum((r.fee for r in reminders), ZERO), "days_overdue": (on - inv.due_date).days,
                     "next_step": nxt[0] if nxt else None, "next_due": nxt[1] if nxt else None})
    return rows


def overpayment_attention(basis, events=None, invoices=None) -> list[dict]:
    """Overpayments the case worker must know about: one row per flagged payment, with the refunds
    of its invoice (shown on the basis page until every refund of that invoice is confirmed). The basis
    page passes its loaded `events` and `invoices` (with payments): then no query is made."""
    if events is None:
        flagged = list(basis.events.filter(action="billing.payment.overpaid").order_by("at", "pk"))
    else:
        flagged = sorted((e for e in events if e.action == "billing.payment.overpaid"), key=lambda e: (e.at, e.pk))
    loaded = {inv.pk: inv for inv in invoices or ()}
    rows = []
    for event in flagged:
        invoice = loaded.get(event.data.get("invoice"))
        if invoice is not None:
            refunds = sorted((p for p in invoice.payments.all() if p.direction == Payment.Direction.REFUND),
                             key=lambda p: (p.created_at, p.pk))
        else:
            refunds = list(Payment.objects.filter(invoice_id=event.data.get("invoice"),
                                                  direction=Payment.Direction.REFUND).order_by("created_at", "pk"))
        rows.append({"event": event, "number": event.data.get("number"),
                     "excess": Decimal(event.data.get("excess") or "0"), "refunds": refunds,
                     "open": any(r.status == Payment.Status.PENDING for r in refunds)})
    return rows


def refund_payouts(*, include_done: bool = False):
    """Bank payouts for the case worker: customer, invoice, amount, account number."""
    qs = (Payment.objects.filter(direction=Payment.Direction.REFUND, method=Payment.Method.BANK_TRANSFER)
          .select_related("invoice", "invoice__basis", "invoice__basis__customer").order_by("created_at", "id"))
    return qs if include_done else qs.filter(status=Payment.Status.PENDING)

