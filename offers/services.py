"""Documents and e-mail workflows. The outbox: `email_queue` writes a row inside the caller's
transaction and queues the delivery task after commit; `email_deliver` (run by the task) claims the row
with a conditional UPDATE, sends it, and retries with exponential backoff."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone

from .models import OutboundEmail

log = logging.getLogger(__name__)


def _company():
    from billing.models import CompanyProfile

    return CompanyProfile.objects.filter(pk=1).first()


def _enqueue(pk: int, countdown: int | None = None) -> None:
    """Hand the row to Celery. A dead broker is logged, not raised: the sweeper delivers it later."""
    from . import tasks

    try:
        if countdown:
            tasks.email_send.apply_async(args=[pk], countdown=countdown)
        else:
            tasks.email_send.delay(pk)
    except Exception:  # noqa: BLE001 - the outbox row is safe; the sweeper picks it up
        log.warning("could not queue e-mail %s; the outbox sweeper will retry", pk, exc_info=True)


def email_queue(*, kind, to, subject, template, context, basis=None, invoice=None,
                attachments=()) -> OutboundEmail:
    """Render `documents/email/<template>.txt` (+ `.html` if present) into an outbox row and queue
    its delivery when the caller's transaction commits.

    `attachments`: items as described on `OutboundEmail.attachments`.
    """
    ctx = {"company": _company(), "site_url": settings.SITE_URL, "basis": basis, "invoice": invoice,
           **(context or {})}
    body_text = render_to_string(f"documents/email/{template}.txt", ctx)
    try:
        body_html = render_to_string(f"documents/email/{template}.html", ctx)
    except TemplateDoesNotExist:
        body_html = ""
    row = OutboundEmail.objects.create(
        kind=kind, to=to, subject=subject, body_text=body_text, body_html=body_html,
        attachments=list(attachments), basis=basis, invoice=invoice)
    transaction.on_commit(lambda: _enqueue(row.pk))
    return row


# --- delivery -------------------------------------------------------------------------------------


def _max_attempts() -> int:
    return getattr(settings, "EMAIL_MAX_ATTEMPTS", 5)


def _backoff(attempts: int) -> dt.timedelta:
    """Delay before attempt `attempts + 1`: base · 2^(attempts-1), capped."""
    base = getattr(settings, "EMAIL_RETRY_BASE_SECONDS", 60)
    cap = getattr(settings, "EMAIL_RETRY_MAX_SECONDS", 6 * 3600)
    return dt.timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def _claim(pk: int) -> OutboundEmail | None:
    """queued → sending, only if due; None when another worker has it or it is not due/queued."""
    now = timezone.now()
    lease = now + dt.timedelta(seconds=getattr(settings, "EMAIL_SEND_LEASE_SECONDS", 600))
    from django.db.models import F, Q

    claimed = (OutboundEmail.objects
               .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now), pk=pk,
                       status=OutboundEmail.Status.QUEUED)
               .update(status=OutboundEmail.Status.SENDING, attempts=F("attempts") + 1, next_attempt_at=lease))
    if not claimed:
        return None
    return OutboundEmail.objects.select_related("basis", "invoice").get(pk=pk)


def _attachment_files(row: OutboundEmail) -> list[tuple[str, bytes, str]]:
    """(filename, content, mimetype) for each attachment; documents are rendered first if missing."""
    from django.core.files.storage import default_storage

    from . import renderers

    files = []
    for item in row.attachments or []:
        if item.get("document"):
            filename, content = renderers.document_pdf_bytes(item["document"], item["pk"])
            files.append((item.get("filename") or filename, content, "application/pdf"))
        else:
            with default_storage.open(item["path"], "rb") as fh:
                content = fh.read()
            files.append((item.get("filename") or item["path"].rsplit("/", 1)[-1], content,
                          item.get("mimetype") or "application/pdf"))
    return files


def _build_message(row: OutboundEmail):
    from django.core.mail import EmailMultiAlternatives

    company = _company()
    headers = {"Reply-To": company.email} if company and company.email else {}
    msg = EmailMultiAlternatives(subject=row.subject, body=row.body_text, to=[row.to], headers=headers,
                                 from_email=settings.DEFAULT_FROM_EMAIL)
    if row.body_html:
        msg.attach_alternative(row.body_html, "text/html")
    for filename, content, mimetype in _attachment_files(row):
        msg.attach(filename, content, mimetype)
    return msg


def _audit_email(row: OutboundEmail, action: str, note: str = "") -> None:
    from billing.services import audit

    audit(action=action, basis=row.basis, note=note,
          data={"email": row.pk, "kind": row.kind, "to": row.to, "subject": row.subject,
                "attempts": row.attempts, "invoice": row.invoice_id})


def email_deliver(pk: int) -> str:
    """Send one outbox row (called by the Celery task). Returns the row's status afterwards, or
    "skipped" when the row was not claimable (already sent, being sent, or not due yet)."""
    row = _claim(pk)
    if row is None:
        return "skipped"
    try:
        msg = _build_message(row)
        msg.send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - any delivery error is recorded on the row
        error = f"{type(exc).__name__}: {exc}"[:2000]
        with transaction.atomic():
            row.last_error = error
            if row.attempts >= _max_attempts():
                row.status = OutboundEmail.Status.FAILED
                row.next_attempt_at = None
                row.save(update_fields=["status", "last_error", "next_attempt_at"])
                _audit_email(row, "offers.email.failed", note=error)
            else:
                row.status = OutboundEmail.Status.QUEUED
                delay = _backoff(row.attempts)
                row.next_attempt_at = timezone.now() + delay
                row.save(update_fields=["status", "last_error", "next_attempt_at"])
                if not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
                    # Eager mode (no broker) would retry at once, in the request: the sweeper retries then.
                    transaction.on_commit(lambda: _enqueue(row.pk, countdown=int(delay.total_seconds()) + 1))
        log.warning("e-mail %s attempt %s failed: %s", row.pk, row.attempts, error)
        return row.status
    with transaction.atomic():
        row.status = OutboundEmail.Status.SENT
        row.sent_at = timezone.now()
        row.next_attempt_at = None
        row.last_error = ""
        row.save(update_fields=["status", "sent_at", "next_attempt_at", "last_error"])
        if row.invoice_id and row.kind in (OutboundEmail.Kind.INVOICE, OutboundEmail.Kind.CREDIT_NOTE):
            from billing.models import Invoice

            Invoice.objects.filter(pk=row.invoice_id, sent_at__isnull=True).update(sent_at=row.sent_at)
        _audit_email(row, "offers.email.sent")
    return row.status


def email_resend(*, email: OutboundEmail, by=None) -> OutboundEmail:
    """The case worker sends an e-mail again: a failed/sent row goes back to the queue with fresh attempts
    (a row being sent right now is left alone). Audited on the basis timeline."""
    from billing.services import audit

    with transaction.atomic():
        row = OutboundEmail.objects.select_for_update().get(pk=email.pk)
        if row.status == OutboundEmail.Status.SENDING:
            return row
        row.status = OutboundEmail.Status.QUEUED
        row.attempts = 0
        row.next_attempt_at = None
        row.last_error = ""
        row.save(update_fields=["status", "attempts", "next_attempt_at", "last_error"])
        audit(action="offers.email.resend", by=by, basis=row.basis,
              data={"email": row.pk, "kind": row.kind, "to": row.to})
        transaction.on_commit(lambda: _enqueue(row.pk))
    return row


def outbox_sweep(now=None) -> int:
    """Re-queue e-mails whose task was lost: queued rows that are due (older than a grace period when
    never tried), and `sending` rows whose lease ran out (worker died mid-send)."""
    from django.db.models import Q

    now = now or timezone.now()
    grace = dt.timedelta(seconds=getattr(settings, "EMAIL_SWEEP_GRACE_SECONDS", 30))
    OutboundEmail.objects.filter(status=OutboundEmail.Status.SENDING, next_attempt_at__lt=now).update(
        status=OutboundEmail.Status.QUEUED, next_attempt_at=now)
    due = list(OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED).filter(
        Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, created_at__lte=now - grace))
        .values_list("pk", flat=True)[:500])
    for pk in due:
        _enqueue(pk)
    return len(due)
