"""The e-mail outbox. `email_queue` writes a row inside the caller's transaction and queues the delivery
task (`offers.email_send`) after commit; `email_deliver` (run by the task) claims the row with a
conditional UPDATE, sends it, and retries with exponential backoff; `outbox_sweep` re-queues rows whose
task was lost; `email_resend` puts a row back in the queue. What each customer e-mail says is in
`offers/emails.py`."""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.conf import settings
from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone, translation

from billing import textinput
from billing.selectors import company_profile
from kundefaktura.queue import enqueue, enqueue_on_commit

from . import documents
from .models import OutboundEmail

log = logging.getLogger(__name__)

SEND_TASK = "offers.email_send"
PREPARE_TASK = "offers.email_prepare"


def email_language(*, basis=None, invoice=None, user=None) -> str:
    """The language of an e-mail: the invoice's snapshot (the language it was issued in), else the
    customer's preference (through the basis, or the portal user), else the active language."""
    for doc in (invoice, basis):
        if doc is not None:
            return documents.document_language(doc)
    customer = getattr(user, "customer", None) if user is not None else None
    if customer is not None:
        return documents.document_language(customer)
    return translation.get_language() or settings.LANGUAGE_CODE


def email_queue(*, kind, to, subject, template, context, basis=None, invoice=None,
                attachments=(), dedupe_key: str = "", language: str | None = None) -> OutboundEmail:
    """Render `documents/email/<template>.txt` (+ `.html` if present) into an outbox row and queue
    its delivery when the caller's transaction commits.

    The subject and body are written in `language` (default: `email_language` of the basis or
    invoice), whatever language the request that caused the e-mail is in; `subject` may be a callable
    so its words are translated in that language too.
    `attachments`: items as described on `OutboundEmail.attachments`. `dedupe_key`: when a row with
    this key exists already, it is returned and nothing new is queued (one e-mail per document).
    `context["company"]`, when the caller has the company profile at hand, saves loading it again.
    """
    if dedupe_key:
        existing = OutboundEmail.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    ctx = {"site_url": settings.SITE_URL, "basis": basis, "invoice": invoice, **(context or {})}
    if "company" not in ctx:
        ctx["company"] = company_profile()
    with translation.override(language or email_language(basis=basis, invoice=invoice)):
        subject = str(subject() if callable(subject) else subject)
        body_text = render_to_string(f"documents/email/{template}.txt", ctx)
        try:
            body_html = render_to_string(f"documents/email/{template}.html", ctx)
        except TemplateDoesNotExist:
            body_html = ""
    row = OutboundEmail.objects.create(
        kind=kind, to=to, subject=textinput.header_text(subject), body_text=body_text, body_html=body_html,
        attachments=list(attachments), basis=basis, invoice=invoice, dedupe_key=dedupe_key)
    if _unstored_documents(row):
        # The PDF is rendered on the render queue first and that task hands the e-mail to the e-mail
        # queue: an e-mail worker never waits on a render, so a slow render delays no other e-mail. A
        # lost task is caught by the outbox sweeper, whose delivery renders what is still missing.
        enqueue_on_commit(PREPARE_TASK, row.pk)
    else:
        enqueue_on_commit(SEND_TASK, row.pk)
    return row


def _unstored_documents(row: OutboundEmail) -> list[tuple[str, int]]:
    """(kind, id) of each document the row carries whose PDF is not stored yet."""
    return [(item["document"], item["pk"]) for item in row.attachments or []
            if item.get("document") and not documents.document_stored(item["document"], item["pk"])]


def email_prepare(pk: int) -> str:
    """Render and store every document a queued e-mail carries, then queue its delivery. Returns
    "prepared", or "skipped" when the row is no longer waiting to be sent."""
    row = OutboundEmail.objects.filter(pk=pk, status=OutboundEmail.Status.QUEUED).first()
    if row is None:
        return "skipped"
    for item in row.attachments or []:
        if item.get("document"):
            documents.document_pdf_ensure(item["document"], item["pk"])  # nothing to do when stored
    enqueue(SEND_TASK, row.pk)
    return "prepared"


# --- delivery -------------------------------------------------------------------------------------


def _max_attempts() -> int:
    return settings.EMAIL_MAX_ATTEMPTS


def _backoff(attempts: int) -> dt.timedelta:
    """Delay before attempt `attempts + 1`: base · 2^(attempts-1), capped."""
    base = settings.EMAIL_RETRY_BASE_SECONDS
    cap = settings.EMAIL_RETRY_MAX_SECONDS
    return dt.timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def _claim(pk: int) -> OutboundEmail | None:
    """queued → sending, only if due; None when another worker has it or it is not due/queued."""
    now = timezone.now()
    lease = now + dt.timedelta(seconds=settings.EMAIL_SEND_LEASE_SECONDS)
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

    files = []
    for item in row.attachments or []:
        if item.get("document"):
            filename, content = documents.document_pdf_bytes(item["document"], item["pk"])
            files.append((item.get("filename") or filename, content, "application/pdf"))
        else:
            with default_storage.open(item["path"], "rb") as fh:
                content = fh.read()
            files.append((item.get("filename") or item["path"].rsplit("/", 1)[-1], content,
                          item.get("mimetype") or "application/pdf"))
    return files


class UnbuildableEmail(Exception):
    """The row cannot become an e-mail (a header with a line break, say): retrying will not help."""


def from_address(company) -> str:
    """The From header: the grid company's name (CompanyProfile) as display name on the configured sender
    address, e.g. `"Fjordnett AS" <noreply@…>`. The name is cleaned of control characters (no header
    injection, no folded lines) and quoted by `formataddr`; without a company the setting is used as is."""
    from email.utils import formataddr, parseaddr

    name = re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", getattr(company, "name", "") or "")
    name = " ".join(name.split())[:120]
    display, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    if not address:
        return settings.DEFAULT_FROM_EMAIL
    return formataddr((name or display, address))


def _build_message(row: OutboundEmail):
    from django.core.mail import BadHeaderError, EmailMultiAlternatives

    company = company_profile()
    reply_to = [company.email] if company and company.email else None
    msg = EmailMultiAlternatives(subject=row.subject, body=row.body_text, to=[row.to], reply_to=reply_to,
                                 from_email=from_address(company))
    try:
        msg.message()  # builds and checks the headers
    except (BadHeaderError, ValueError, UnicodeError) as exc:
        raise UnbuildableEmail(f"{type(exc).__name__}: {exc}") from exc
    if row.body_html:
        msg.attach_alternative(row.body_html, "text/html")
    for filename, content, mimetype in _attachment_files(row):
        msg.attach(filename, content, mimetype)
    return msg


def _audit_email(row: OutboundEmail, action: str, note: str = "") -> None:
    from billing.services.audit import audit

    audit(action=action, basis=row.basis, note=note,
          data={"email": row.pk, "kind": row.kind, "to": row.to, "subject": row.subject,
                "attempts": row.attempts, "invoice": row.invoice_id})


# Links that log someone in (one-time login link, set-password link). The outbox row needs them until the
# e-mail is sent; afterwards the stored copy keeps the text but not the working link (a copy of the
# database must not be a way into the portal).
REDACTED_LINK = "[lenke fjernet etter sending]"


def _secret_link_prefixes() -> list[str]:
    from django.urls import NoReverseMatch, reverse

    prefixes = []
    for name, args in (("portal:login_link_confirm", ["T"]), ("portal:set_password", ["U", "T"])):
        try:
            prefixes.append(reverse(name, args=args).rsplit("/U/", 1)[0].rsplit("/T/", 1)[0] + "/")
        except NoReverseMatch:  # the portal is not installed
            continue
    return prefixes


def redact_secret_links(text: str) -> str:
    """`…/portal/innlogging/lenke/<token>/` → `…/portal/innlogging/lenke/[lenke fjernet etter sending]`."""
    if not text:
        return text or ""
    for prefix in _secret_link_prefixes():
        text = re.sub(re.escape(prefix) + r"[^\s\"'<>]+", lambda m, p=prefix: p + REDACTED_LINK, text)
    return text


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
            if row.attempts >= _max_attempts() or isinstance(exc, UnbuildableEmail):
                row.status = OutboundEmail.Status.FAILED
                row.next_attempt_at = None
                row.save(update_fields=["status", "last_error", "next_attempt_at"])
                _audit_email(row, "offers.email.failed", note=error)
            else:
                row.status = OutboundEmail.Status.QUEUED
                delay = _backoff(row.attempts)
                row.next_attempt_at = timezone.now() + delay
                row.save(update_fields=["status", "last_error", "next_attempt_at"])
                if not settings.CELERY_TASK_ALWAYS_EAGER:
                    # Eager mode (no broker) would retry at once, in the request: the sweeper retries then.
                    enqueue_on_commit(SEND_TASK, row.pk, countdown=int(delay.total_seconds()) + 1)
        log.warning("e-mail %s attempt %s failed: %s", row.pk, row.attempts, error)
        return row.status
    with transaction.atomic():
        row.status = OutboundEmail.Status.SENT
        row.sent_at = timezone.now()
        row.next_attempt_at = None
        row.last_error = ""
        row.body_text, row.body_html = redact_secret_links(row.body_text), redact_secret_links(row.body_html)
        row.save(update_fields=["status", "sent_at", "next_attempt_at", "last_error", "body_text", "body_html"])
        if row.invoice_id and row.kind in (OutboundEmail.Kind.INVOICE, OutboundEmail.Kind.CREDIT_NOTE):
            from billing.models import Invoice
            from billing.status import claim

            Invoice.objects.filter(pk=row.invoice_id, sent_at__isnull=True).update(sent_at=row.sent_at)
            # Same rule as billing's payment state: an issued, unpaid invoice that went out is "sent".
            lookup, change = claim(Invoice, "send")
            Invoice.objects.filter(pk=row.invoice_id, **lookup).update(**change)
        _audit_email(row, "offers.email.sent")
    return row.status


def email_resend(*, email: OutboundEmail, by=None) -> OutboundEmail:
    """The case worker sends an e-mail again: a failed/sent row goes back to the queue with fresh attempts
    (a row being sent right now is left alone). Audited on the basis timeline."""
    from billing.services.audit import audit

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
        enqueue_on_commit(SEND_TASK, row.pk)
    return row


def outbox_sweep(now=None) -> int:
    """Re-queue e-mails whose task was lost: queued rows that are due (older than a grace period when
    never tried), and `sending` rows whose lease ran out (worker died mid-send)."""
    from django.db.models import Q

    now = now or timezone.now()
    grace = dt.timedelta(seconds=settings.EMAIL_SWEEP_GRACE_SECONDS)
    OutboundEmail.objects.filter(status=OutboundEmail.Status.SENDING, next_attempt_at__lt=now).update(
        status=OutboundEmail.Status.QUEUED, next_attempt_at=now)
    due = list(OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED).filter(
        Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, created_at__lte=now - grace))
        .values_list("pk", flat=True)[:500])
    for pk in due:
        enqueue(SEND_TASK, pk)
    return len(due)


