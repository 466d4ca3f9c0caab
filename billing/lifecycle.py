"""The life of a case after acceptance: change notices, offer expiry, reminders and refund payouts.

Same rules as billing/services.py (whose helpers this module reuses): keyword-only, atomic, locks the
row it changes, re-checks state, idempotent, audited through `services.audit`, side effects as outbox
rows (e-mails through `offers.services.email_queue`, provider refunds as pending Payment rows executed by
a task after commit).

Decisions (README.md, "Changes after acceptance, final settlement, refunds, expiry and reminders"):
- A change line (added after acceptance) is invoiced only once the customer accepted the change notice
  that carried it (`services.change_line_accepted`). Declined lines stay on the basis, marked declined;
  so do the lines of a notice that expired unanswered (silence is not acceptance).
- The reminder fee is a claim on the reminder document (a reminder fee is not a sale and is outside the
  VAT scope), payable with the invoice's KID. Payments beyond the invoice balance settle unpaid fees
  before anything counts as overpaid and is refunded.
- Refunds: card payments go back through the payment provider (Stripe refund); everything else is listed
  for a bank payout to the customer's account number and marked paid out by the case worker.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import money, norwegian, services
from .errors import BillingError, ConflictError, InvalidInput, TransitionError
from .models import (
    AuditEvent,
    ChangeNotice,
    CompanyProfile,
    CostLine,
    Invoice,
    InvoiceBasis,
    Payment,
    Reminder,
)
from .services import ZERO, _actor, _lock_basis, audit, today
from .signals import audit_recorded
from .status import AFTER_ACCEPTANCE, Status

log = logging.getLogger(__name__)

REMINDER_PAYMENT_DAYS = 14  # inkassoloven § 9: a reminder gives at least 14 days to pay
MAX_REMINDERS = 2


# --- documents and e-mail -------------------------------------------------------------------------


def render_pdf(template: str, context: dict) -> bytes:
    """A document template → PDF bytes through the documents app's renderer (same letterhead, CSS and
    fonts as offers and invoices; nothing fetched from the network)."""
    from offers import renderers

    company = getattr(renderers, "_company_context", lambda: {})()
    return renderers.get_renderer().pdf(template, {**company, **context})


def _store_pdf(instance, filename: str, content: bytes) -> None:
    instance.pdf.save(filename, ContentFile(content), save=False)
    instance.pdf_sha256 = hashlib.sha256(content).hexdigest()
    instance.save(update_fields=["pdf", "pdf_sha256"])


def _email(*, kind, to, subject, template, context, basis=None, invoice=None, attachments=()):
    from offers.services import email_queue

    if not to:
        log.warning("no e-mail address for %s (%s); nothing queued", kind, basis or invoice)
        return None
    return email_queue(kind=kind, to=to, subject=subject, template=template, context=context, basis=basis,
                       invoice=invoice, attachments=list(attachments))


def _pdf_attachment(instance, filename: str) -> dict:
    return {"path": instance.pdf.name, "filename": filename, "mimetype": "application/pdf"}


def _portal_url(name: str, *args) -> str:
    return settings.SITE_URL + reverse(name, args=args)


# --- change notices (endringsvarsel) ---------------------------------------------------------------


def _change_snapshot(lines) -> dict:
    return {"lines": [{"id": ln.pk, "category": ln.category.code, "category_label": ln.category.label,
                       "description": ln.description, "quantity": str(ln.quantity), "unit": ln.unit,
                       "unit_price": str(ln.unit_price), "amount": str(ln.amount), "vat_code": ln.vat_code.code,
                       "vat_rate": str(ln.vat_code.rate), "customer_caused": ln.customer_caused}
                      for ln in sorted(lines, key=lambda x: (x.position, x.pk))]}


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


def accepted_estimate(basis, extra_lines=()) -> money.Totals:
    """The accepted estimate: offer lines plus accepted change lines (plus `extra_lines`, a proposal)."""
    return money.totals(services.accepted_estimate_rows(basis, extra_lines))


def change_notice_send_refusals(basis, lines: list[CostLine] | None = None) -> list[services.Refusal]:
    """Why a change notice cannot be sent now (empty: it may be)."""
    Refusal = services.Refusal
    if basis.status not in AFTER_ACCEPTANCE:
        return [Refusal(_("Endringsvarsel sendes etter at kunden har akseptert tilbudet."), code="not_accepted")]
    if basis.settled_at:
        return [Refusal(_("Sluttoppgjøret er utført; endringer varsles ikke lenger."), code="settled")]
    refusals = []
    if not (change_lines_pending(basis) if lines is None else lines):
        refusals.append(Refusal(_("Det er ingen nye endringer å varsle kunden om."), code="no_changes",
                                error=InvalidInput))
    if not basis.customer or not basis.customer.email:
        refusals.append(Refusal(_("Kunden mangler e-postadresse."), code="no_email", error=InvalidInput))
    return refusals


@transaction.atomic
def change_notice_send(*, basis, by, valid_until: dt.date | None = None) -> ChangeNotice:
    """Send the pending change to the customer as a change notice (PDF + e-mail). A newer send supersedes
    an unanswered older version; the same content and validity again returns the same notice."""
    basis = _lock_basis(basis)
    lines = change_lines_pending(basis) if basis.status in AFTER_ACCEPTANCE else []
    services.refuse(change_notice_send_refusals(basis, lines))
    customer = basis.customer
    profile = CompanyProfile.load()
    valid_until = valid_until or (today() + dt.timedelta(days=profile.offer_validity_days))
    if valid_until < today():
        raise InvalidInput(_("Svarfristen er passert."), fields={"valid_until": ["past"]})
    snapshot = _change_snapshot(lines)
    current = basis.change_notices.filter(status=ChangeNotice.Status.SENT).order_by("-version").first()
    if current and current.snapshot == snapshot and current.valid_until == valid_until:
        return current
    if current:
        current.status = ChangeNotice.Status.SUPERSEDED
        current.save(update_fields=["status"])
    change = money.totals((ln.vat_code.code, ln.vat_code.rate, ln.amount) for ln in lines)
    before = accepted_estimate(basis)
    after = accepted_estimate(basis, extra_lines=lines)
    version = (basis.change_notices.aggregate(m=Max("version"))["m"] or 0) + 1
    notice = ChangeNotice.objects.create(
        basis=basis, version=version, valid_until=valid_until, snapshot=snapshot, net=change.net,
        vat=change.vat, gross=change.gross, new_estimate_gross=after.gross, sent_by=_actor(by)[0])
    CostLine.objects.filter(pk__in=[ln.pk for ln in lines]).update(change_notice=notice)
    offer = services.current_offer(basis)
    context = {"notice": notice, "basis": basis, "customer": customer, "company": profile,
               "lines": snapshot["lines"], "change": change, "before": before, "after": after, "offer": offer,
               "superseded": current}
    filename = f"endringsvarsel-{basis.number}-v{version}.pdf"
    _store_pdf(notice, filename, render_pdf("documents/change_notice.html", context))
    audit(action="billing.change_notice.sent", by=by, basis=basis,
          data={"change_notice": notice.pk, "version": version, "gross": str(change.gross),
                "new_estimate_gross": str(after.gross), "valid_until": valid_until.isoformat(),
                "pdf_sha256": notice.pdf_sha256, "lines": [ln.pk for ln in lines],
                "superseded": current.version if current else None})
    _email(kind="change_notice", to=customer.email, basis=basis,
           subject=_("Endringsvarsel for %(t)s (%(n)s)") % {"t": basis.title, "n": basis.number},
           template="change_notice",
           context={"notice": notice, "change": change, "after": after, "customer": customer,
                    "portal_url": _portal_url("portal_changes:detail", notice.pk)},
           attachments=[_pdf_attachment(notice, filename)])
    return notice


@transaction.atomic
def change_notice_answer(*, notice, by, decision: str, channel: str = "portal", ip_address: str | None = None,
                         user_agent: str = "", pdf_sha256: str = "", note: str = "") -> ChangeNotice:
    """The customer accepts or declines a change notice (bound to its version and PDF hash).
    The same answer twice returns the notice unchanged; the other answer after one is refused."""
    if decision not in ("accepted", "declined"):
        raise InvalidInput(_("Ukjent svar."), fields={"decision": ["invalid"]})
    # Lock order basis → notice, as in change_notice_send and change_notice_expire.
    basis = _lock_basis(ChangeNotice.objects.values_list("basis_id", flat=True).get(pk=notice.pk))
    notice = ChangeNotice.objects.select_for_update().get(pk=notice.pk)
    target = ChangeNotice.Status.ACCEPTED if decision == "accepted" else ChangeNotice.Status.DECLINED
    if notice.status == target:
        return notice
    if notice.status in (ChangeNotice.Status.ACCEPTED, ChangeNotice.Status.DECLINED):
        raise TransitionError(_("Endringsvarselet er allerede besvart (%s).") % notice.get_status_display(),
                              code="already_answered")
    if notice.status == ChangeNotice.Status.EXPIRED:
        raise TransitionError(_("Svarfristen for endringsvarselet gikk ut %s. Be nettselskapet om et nytt varsel.")
                              % notice.valid_until.strftime("%d.%m.%Y"), code="expired")
    if notice.status == ChangeNotice.Status.SUPERSEDED:
        newest = basis.change_notices.order_by("-version").first()
        raise TransitionError(_("Dette endringsvarselet er erstattet av en nyere versjon (versjon %d). "
                                "Åpne det nyeste varselet.") % newest.version, code="superseded")
    if basis.status == Status.CANCELLED:
        raise TransitionError(_("Saken er kansellert."), code="cancelled")
    if decision == "accepted" and notice.valid_until < today():
        raise TransitionError(_("Svarfristen for endringsvarselet gikk ut %s. Be nettselskapet om et nytt varsel.")
                              % notice.valid_until.strftime("%d.%m.%Y"), code="expired")
    if pdf_sha256 and notice.pdf_sha256 and pdf_sha256 != notice.pdf_sha256:
        raise ConflictError(_("Dokumentet du svarte på er ikke det gjeldende endringsvarselet."),
                            code="document_mismatch")
    current = _change_snapshot(notice.lines.select_related("category", "vat_code"))
    if current != notice.snapshot:
        raise ConflictError(_("Endringene er justert etter at varselet ble sendt; nettselskapet må sende et "
                              "nytt endringsvarsel."), code="stale")
    if channel != "portal" and not (note or "").strip():
        raise InvalidInput(_("Skriv et notat om hvordan kunden svarte (papir eller telefon)."),
                           fields={"note": ["required"]})
    notice.status = target
    notice.answered_by = _actor(by)[0]
    notice.answered_at = timezone.now()
    notice.answer_channel = channel
    notice.ip_address = ip_address or None
    notice.user_agent = (user_agent or "")[:500]
    notice.answer_pdf_sha256 = pdf_sha256 or notice.pdf_sha256
    notice.answer_note = note or ""
    notice.save()
    audit(action=f"billing.change_notice.{decision}", by=by, basis=basis, note=note,
          data={"change_notice": notice.pk, "version": notice.version, "gross": str(notice.gross),
                "channel": channel, "pdf_sha256": notice.answer_pdf_sha256, "ip": ip_address or ""})
    return notice


@transaction.atomic
def change_notice_expire(*, notice, by=None, on: dt.date | None = None) -> bool:
    """Mark an unanswered change notice past its answer deadline as expired (Utløpt). True if it moved;
    False when it was answered, superseded or expired already, or is still within its deadline (so the
    job may run any number of times). Its lines are then handled like a declined notice's: they stay on
    the basis, shown as expired, and are neither invoiced nor part of the accepted estimate."""
    on = on or today()
    pk = getattr(notice, "pk", notice)
    basis = _lock_basis(ChangeNotice.objects.values_list("basis_id", flat=True).get(pk=pk))
    notice = ChangeNotice.objects.select_for_update().get(pk=pk)
    if notice.status != ChangeNotice.Status.SENT or notice.valid_until >= on:
        return False
    notice.status = ChangeNotice.Status.EXPIRED
    notice.save(update_fields=["status"])
    audit(action="billing.change_notice.expired", by=by, basis=basis,
          data={"change_notice": notice.pk, "version": notice.version, "gross": str(notice.gross),
                "valid_until": notice.valid_until.isoformat(),
                "lines": list(notice.lines.order_by("pk").values_list("pk", flat=True))})
    customer = basis.customer
    _email(kind="change_notice", to=customer.email if customer else "", basis=basis,
           subject=_("Endringsvarselet for %(t)s (%(n)s) er utløpt") % {"t": basis.title, "n": basis.number},
           template="change_notice_expired",
           context={"notice": notice, "customer": customer,
                    "portal_url": _portal_url("portal_changes:detail", notice.pk)})
    return True


def change_notices_expire_due(*, on: dt.date | None = None) -> list[tuple[str, int]]:
    """The daily job: every unanswered change notice past its deadline → Utløpt, each in its own
    transaction. Returns (basis number, version) of each notice that expired now."""
    on = on or today()
    expired = []
    for pk in ChangeNotice.objects.filter(status=ChangeNotice.Status.SENT, valid_until__lt=on) \
            .values_list("pk", flat=True).order_by("pk"):
        try:
            if change_notice_expire(notice=pk, on=on):
                expired.append(pk)
        except ChangeNotice.DoesNotExist:
            continue  # its basis was deleted meanwhile
        except BillingError:
            log.exception("change notice expiry failed for notice %s", pk)
    return [(n.basis.number, n.version) for n in
            ChangeNotice.objects.filter(pk__in=expired).select_related("basis").order_by("pk")]


def customer_change_notices(user):
    """The change notices a portal user may see: those of bases whose customer is this user."""
    return (ChangeNotice.objects.filter(basis__customer__user=user).select_related("basis")
            .order_by("-sent_at", "-id"))


# --- offer expiry ---------------------------------------------------------------------------------


@transaction.atomic
def offer_expire_notify(*, basis, by=None, on: dt.date | None = None) -> bool:
    """Expire one unanswered offer past its validity and tell the customer. False when nothing moved."""
    if not services.offer_expire(basis=basis, by=by, on=on):
        return False
    basis = InvoiceBasis.objects.select_related("customer").get(pk=getattr(basis, "pk", basis))
    customer = basis.customer
    _email(kind="offer", to=customer.email if customer else "", basis=basis,
           subject=_("Tilbudet på %(t)s (%(n)s) er utløpt") % {"t": basis.title, "n": basis.number},
           template="change_offer_expired",
           context={"customer": customer, "valid_until": basis.offer_valid_until,
                    "portal_url": settings.SITE_URL + reverse("portal:home")})
    return True


def offers_expire_due(*, on: dt.date | None = None) -> list[str]:
    """The daily job: every offer past its validity → Utløpt (each in its own transaction)."""
    on = on or today()
    expired = []
    for pk in InvoiceBasis.objects.filter(status=Status.OFFER_SENT, offer_valid_until__lt=on) \
            .values_list("pk", flat=True).order_by("pk"):
        try:
            if offer_expire_notify(basis=pk, on=on):
                expired.append(pk)
        except BillingError:
            log.exception("offer expiry failed for basis %s", pk)
    return [b.number for b in InvoiceBasis.objects.filter(pk__in=expired)]


def offers_expired():
    return (InvoiceBasis.objects.filter(status=Status.EXPIRED).select_related("customer")
            .order_by("offer_valid_until", "pk"))


# --- reminders (purring) --------------------------------------------------------------------------


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
    return _fees_unpaid(fees, services.invoice_outstanding(invoice))


def amount_owed(invoice) -> Decimal:
    """What the customer must pay now on this invoice: the balance plus unpaid reminder fees."""
    return invoice_dues(invoice)["owed"]


def invoice_dues(invoice) -> dict:
    """One invoice as the customer sees it: balance (`outstanding`), the reminders and the fees they
    charged (`fees`), the part of those still unpaid, and the total to pay now (`owed`, = amount_owed).
    Reads `invoice.reminders.all()`, so a list that prefetches "reminders" costs no query per invoice."""
    outstanding = services.invoice_outstanding(invoice)
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
        outstanding = services.invoice_outstanding(inv)
        if outstanding <= 0:
            continue
        reminders = sorted(inv.reminders.all(), key=lambda r: r.step)
        nxt = reminder_next(inv, reminders, on, profile)
        rows.append({"invoice": inv, "outstanding": outstanding, "reminders": reminders,
                     "fees": sum((r.fee for r in reminders), ZERO), "days_overdue": (on - inv.due_date).days,
                     "next_step": nxt[0] if nxt else None, "next_due": nxt[1] if nxt else None})
    return rows


@transaction.atomic
def reminder_send(*, invoice, by=None, on: dt.date | None = None) -> Reminder | None:
    """Send the next reminder of an overdue invoice if one is due; None otherwise (so running the job
    twice sends nothing new). Each step at most once (unique constraint)."""
    on = on or today()
    invoice = Invoice.objects.select_for_update().get(pk=getattr(invoice, "pk", invoice))
    if invoice.number is None or invoice.kind == Invoice.Kind.CREDIT_NOTE or not invoice.due_date:
        return None
    outstanding = services.invoice_outstanding(invoice)
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
    basis = invoice.basis
    context = {"reminder": reminder, "invoice": invoice, "basis": basis, "company": profile,
               "outstanding": outstanding, "earlier_fees": unpaid_earlier, "total": total, "on": on,
               "earlier": reminders, "bank_account": norwegian.format_kontonr(profile.bank_account)}
    filename = f"purring-{step}-faktura-{invoice.number}.pdf"
    _store_pdf(reminder, filename, render_pdf("documents/reminder.html", context))
    audit(action="billing.invoice.reminder_sent", by=by, basis=basis,
          data={"invoice": invoice.pk, "number": invoice.number, "step": step, "fee": str(reminder.fee),
                "outstanding": str(outstanding), "total": str(total), "due_date": reminder.due_date.isoformat(),
                "earlier_fees": str(earlier_fees), "pdf_sha256": reminder.pdf_sha256})
    _email(kind="reminder", to=(invoice.buyer or {}).get("email") or (basis.customer.email if basis.customer else ""),
           basis=basis, invoice=invoice,
           subject=_("%(step)s. purring: faktura %(n)s") % {"step": step, "n": invoice.number},
           template=f"reminder_{step}", context={"reminder": reminder, "total": total, "outstanding": outstanding,
                                                 "earlier_fees": unpaid_earlier},
           attachments=[_pdf_attachment(reminder, filename)])
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


# --- refunds --------------------------------------------------------------------------------------

ACTIVE = (Payment.Status.PENDING, Payment.Status.CONFIRMED)


def refund_due(invoice) -> Decimal:
    """What must go back to the customer: paid beyond the balance and unpaid reminder fees, less the
    refunds already under way (pending) — confirmed refunds already lower the paid amount."""
    overpaid = -services.invoice_outstanding(invoice)
    if overpaid <= 0:
        return ZERO
    pending = sum((p.amount for p in invoice.payments.filter(direction=Payment.Direction.REFUND,
                                                              status=Payment.Status.PENDING)), ZERO)
    return max(ZERO, overpaid - reminder_fees(invoice) - pending)


def _refundable_left(payment: Payment) -> Decimal:
    taken = sum((r.amount for r in payment.refunds.filter(status__in=ACTIVE)), ZERO)
    return payment.amount - taken


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
        take = min(_refundable_left(p), amount)
        if take <= 0:
            continue
        rows.append(Payment.objects.create(
            invoice=invoice, direction=Payment.Direction.REFUND, method=Payment.Method.CARD, amount=take,
            status=Payment.Status.PENDING, provider=p.provider, refund_of=p, created_by=_actor(by)[0],
            note=_("Tilbakebetaling til kortet")))
        amount -= take
    if amount > 0:
        customer = invoice.basis.customer
        source = next((p for p in payments if p.method != Payment.Method.CARD), None)
        rows.append(Payment.objects.create(
            invoice=invoice, direction=Payment.Direction.REFUND, method=Payment.Method.BANK_TRANSFER,
            amount=amount, status=Payment.Status.PENDING, provider="bank", refund_of=source,
            payout_account=(customer.bank_account if customer else "") or "", created_by=_actor(by)[0],
            note=_("Utbetaling til kundens bankkonto")))
    audit(action="billing.refund.created", by=by, basis=invoice.basis,
          data={"invoice": invoice.pk, "number": invoice.number,
                "refunds": [{"payment": r.pk, "amount": str(r.amount), "method": r.method} for r in rows]})
    card = [r.pk for r in rows if r.method == Payment.Method.CARD]
    if card:
        transaction.on_commit(lambda: _queue_refunds(card))
    return rows


def _queue_refunds(pks):
    from .lifecycle_tasks import refund_execute

    for pk in pks:
        try:
            refund_execute.delay(pk)
        except Exception:  # noqa: BLE001 - the pending row stays and is listed; the job retries it
            log.warning("could not queue refund %s", pk, exc_info=True)


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
            # The provider's webhook recorded this refund first (services.payment_refund_record): that row
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
        services._refresh_payment_state(payment.invoice, by=by)
    return payment


def refunds_sweep(now=None) -> int:
    """Outbox sweeper: re-queue card refunds whose task was lost (pending, no provider error, older than
    a grace period). A provider error stays on the row for the case worker instead."""
    now = now or timezone.now()
    pks = list(Payment.objects.filter(direction=Payment.Direction.REFUND, method=Payment.Method.CARD,
                                      status=Payment.Status.PENDING, error="",
                                      created_at__lte=now - dt.timedelta(minutes=2))
               .values_list("pk", flat=True)[:200])
    _queue_refunds(pks)
    return len(pks)


def refund_payouts(*, include_done: bool = False):
    """Bank payouts for the case worker: customer, invoice, amount, account number."""
    qs = (Payment.objects.filter(direction=Payment.Direction.REFUND, method=Payment.Method.BANK_TRANSFER)
          .select_related("invoice", "invoice__basis", "invoice__basis__customer").order_by("created_at", "id"))
    return qs if include_done else qs.filter(status=Payment.Status.PENDING)


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
    services._refresh_payment_state(payment.invoice, by=by)
    return payment


def _refund_after_credit(sender, event: AuditEvent, **kwargs):
    """A credit note (ordinary, final settlement or ten-year rule) may leave an invoice over-paid:
    prepare its refunds in the same transaction."""
    if event.action == "billing.invoice.credited":
        invoice_ids = [event.data.get("invoice")]
    elif event.action == "billing.basis.final_settled":
        invoice_ids = list(Invoice.objects.filter(pk__in=event.data.get("documents") or [],
                                                  kind=Invoice.Kind.CREDIT_NOTE)
                           .values_list("credited_invoice_id", flat=True))
    else:
        return
    for pk in {i for i in invoice_ids if i}:
        refunds_prepare(invoice=pk, by=event.actor_user)


audit_recorded.connect(_refund_after_credit, dispatch_uid="billing.lifecycle.refund_after_credit")


def _refund_after_overpayment(sender, event: AuditEvent, **kwargs):
    """A payment that lands on an invoice with nothing left to pay (a second card checkout, a bank or
    manual payment) is flagged to the case worker and its excess refunded at once, in the same
    transaction."""
    if event.action != "billing.payment.confirmed" or not event.data.get("invoice"):
        return
    invoice = Invoice.objects.get(pk=event.data["invoice"])
    excess = refund_due(invoice)
    if excess <= 0:
        return
    audit(action="billing.payment.overpaid", by=event.actor_user, basis=invoice.basis,
          data={"invoice": invoice.pk, "number": invoice.number, "payment": event.data.get("payment"),
                "amount": event.data.get("amount"), "excess": str(excess)})
    refunds_prepare(invoice=invoice, by=event.actor_user)


audit_recorded.connect(_refund_after_overpayment, dispatch_uid="billing.lifecycle.refund_after_overpayment")


def overpayment_attention(basis) -> list[dict]:
    """Overpayments the case worker must know about: one row per flagged payment, with the refunds
    of its invoice (shown on the basis page until every refund of that invoice is confirmed)."""
    rows = []
    for event in basis.events.filter(action="billing.payment.overpaid").order_by("at", "pk"):
        refunds = list(Payment.objects.filter(invoice_id=event.data.get("invoice"),
                                              direction=Payment.Direction.REFUND).order_by("created_at", "pk"))
        rows.append({"event": event, "number": event.data.get("number"),
                     "excess": Decimal(event.data.get("excess") or "0"), "refunds": refunds,
                     "open": any(r.status == Payment.Status.PENDING for r in refunds)})
    return rows


# --- final settlement (read side for the pages and the PDF) ---------------------------------------


def settlement_rows(basis) -> list[dict]:
    """The § 16-11 calculation per VAT code (net amounts), for the preview page."""
    estimate = {g.code: g.base for g in accepted_estimate(basis).groups}
    actual: dict[str, Decimal] = {}
    for ln in basis.lines.filter(phase=CostLine.Phase.ACTUAL, customer_caused=False).select_related("vat_code"):
        actual[ln.vat_code.code] = actual.get(ln.vat_code.code, ZERO) + ln.amount
    rows = []
    for code, s in services.settlement_preview(basis).items():
        rows.append({"code": code, "estimate": estimate.get(code, ZERO), "cap": s.cap,
                     "actual": actual.get(code, ZERO), "capped_actual": s.capped_actual,
                     "customer_caused": s.customer_caused_actual, "recalculated": s.recalculated,
                     "already_invoiced": s.already_invoiced, "difference": s.difference,
                     "refund": -s.difference if s.difference < 0 else ZERO,
                     "to_invoice": s.difference if s.difference > 0 else ZERO})
    return rows


def settlement_calculation(invoice) -> dict | None:
    """For a final invoice or a settlement credit note: the calculation that produced it (from the audit
    event of the settlement), so the invoice PDF can print it."""
    event = (AuditEvent.objects.filter(basis_id=invoice.basis_id, action="billing.basis.final_settled",
                                       data__documents__contains=[invoice.pk]).order_by("-at").first())
    if event is None:
        return None
    return {"settlement": event.data.get("settlement", {}), "at": event.at}
