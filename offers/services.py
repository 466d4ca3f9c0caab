"""Documents and e-mail workflows. The outbox: `email_queue` writes a row inside the caller's
transaction and queues the delivery task after commit; `email_deliver` (run by the task) claims the row
with a conditional UPDATE, sends it, and retries with exponential backoff."""

from __future__ import annotations

import datetime as dt
import logging
import re
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone

from billing import textinput

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
                attachments=(), dedupe_key: str = "") -> OutboundEmail:
    """Render `documents/email/<template>.txt` (+ `.html` if present) into an outbox row and queue
    its delivery when the caller's transaction commits.

    `attachments`: items as described on `OutboundEmail.attachments`. `dedupe_key`: when a row with
    this key exists already, it is returned and nothing new is queued (one e-mail per document).
    """
    if dedupe_key:
        existing = OutboundEmail.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    ctx = {"company": _company(), "site_url": settings.SITE_URL, "basis": basis, "invoice": invoice,
           **(context or {})}
    body_text = render_to_string(f"documents/email/{template}.txt", ctx)
    try:
        body_html = render_to_string(f"documents/email/{template}.html", ctx)
    except TemplateDoesNotExist:
        body_html = ""
    row = OutboundEmail.objects.create(
        kind=kind, to=to, subject=textinput.header_text(subject), body_text=body_text, body_html=body_html,
        attachments=list(attachments), basis=basis, invoice=invoice, dedupe_key=dedupe_key)
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


def duration_text(seconds: int) -> str:
    """A validity period in words: 604800 → "7 dager", 7200 → "2 timer": whole days as days, else
    hours, else minutes (never "168 timer")."""
    from django.utils.translation import ngettext

    seconds = int(seconds)
    if seconds >= 86400 and seconds % 86400 == 0:
        days = seconds // 86400
        return ngettext("%(n)d dag", "%(n)d dager", days) % {"n": days}
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = seconds // 3600
        return ngettext("%(n)d time", "%(n)d timer", hours) % {"n": hours}
    minutes = max(1, round(seconds / 60))
    return ngettext("%(n)d minutt", "%(n)d minutter", minutes) % {"n": minutes}


def _build_message(row: OutboundEmail):
    from django.core.mail import BadHeaderError, EmailMultiAlternatives

    company = _company()
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
    from billing.services import audit

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


# --- portal access ----------------------------------------------------------------------------------


def portal_user_ensure(customer):
    """The customer's portal user (role customer, no password), created and linked when missing.
    Username: the customer's e-mail in normal form (with "+<customer id>" if another customer has it)."""
    from django.contrib.auth import get_user_model

    from billing.models import Customer
    from kundefaktura.accounts.emails import email_normalize
    from kundefaktura.accounts.roles import CUSTOMER, is_customer_account
    from kundefaktura.accounts.services import user_create

    if customer.user_id:
        return customer.user
    email = email_normalize(customer.email)
    if not email:
        return None
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.user_id:
            return customer.user
        User = get_user_model()
        user = User.objects.filter(username=email).first()
        if user is not None and (Customer.objects.filter(user=user).exists() or not is_customer_account(user)):
            user, email = None, f"{email}+{customer.pk}"
            user = User.objects.filter(username=email).first()
        if user is None:
            first, _, last = customer.name.partition(" ") if customer.kind == "person" else (customer.name, "", "")
            # One account per address: when another account holds it already, this one is found
            # through its customer's address instead.
            address = customer.email if not User.objects.filter(email=email_normalize(customer.email)).exists() else ""
            user = user_create(username=email, role=CUSTOMER, password=None, email=address,
                               first_name=first[:150], last_name=last[:150])
        customer.user = user
        customer.save(update_fields=["user"])
    return user


def set_password_link(user) -> str:
    """Single-use, expiring (settings.PASSWORD_RESET_TIMEOUT) link for the user to choose a password."""
    from django.contrib.auth.tokens import default_token_generator
    from django.urls import NoReverseMatch, reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    try:
        path = reverse("portal:set_password", args=[uidb64, token])
    except NoReverseMatch:  # the portal view is not mounted (yet): keep its documented address
        log.warning("portal:set_password is not routed; using the documented path")
        path = f"/portal/passord/{uidb64}/{token}/"
    return f"{settings.SITE_URL}{path}"


# --- document e-mails -----------------------------------------------------------------------------


def offer_attachments(basis) -> list[dict]:
    """The company documents for this basis: marked `always`, chosen for one of its cost categories,
    or chosen for the basis itself."""
    from django.db.models import Q

    from .models import Attachment

    cats = basis.lines.values_list("category_id", flat=True)
    docs = (Attachment.objects.filter(active=True)
            .filter(Q(always=True) | Q(categories__in=cats) | Q(bases=basis)).distinct().order_by("title"))
    return [{"path": d.file.name, "filename": f"{d.title}.pdf" if not d.title.lower().endswith(".pdf")
             else d.title, "mimetype": "application/pdf"} for d in docs]


def offer_email_queue(*, offer_id: int) -> OutboundEmail | None:
    """The offer e-mail (PDF, company documents, portal access) — once per offer version."""
    from billing.models import Offer
    from kundefaktura.accounts.roles import is_customer_account

    from .receivers import _queue_render
    from .renderers import portal_url

    offer = Offer.objects.select_related("basis", "basis__customer").get(pk=offer_id)
    basis, customer = offer.basis, offer.basis.customer
    key = f"offer:{offer.pk}"
    if OutboundEmail.objects.filter(dedupe_key=key).exists():
        return None
    _queue_render("offer", offer.pk)
    if not customer or not customer.email:
        log.warning("offer %s: the customer has no e-mail address; no e-mail queued", offer.pk)
        return None
    user = portal_user_ensure(customer)
    company = _company()
    change = offer.kind == "change"
    subject = (f"Endringsvarsel {basis.number}" if change else f"Tilbud {basis.number}") + \
        (f" fra {company.name}" if company else "")
    return email_queue(
        kind=OutboundEmail.Kind.CHANGE_NOTICE if change else OutboundEmail.Kind.OFFER,
        to=customer.email, subject=subject, template="offer", basis=basis,
        context={"offer": offer, "customer": customer, "username": user.username if user else "",
                 "set_password_url": set_password_link(user) if user and is_customer_account(user) else "",
                 "has_password": bool(user and user.has_usable_password()),
                 "link_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
                 "link_validity": duration_text(settings.PASSWORD_RESET_TIMEOUT), "portal_url": portal_url()},
        attachments=[{"document": "offer", "pk": offer.pk}] + offer_attachments(basis), dedupe_key=key)


def invoice_email_queue(*, invoice_id: int) -> OutboundEmail | None:
    """The e-mail carrying an issued invoice's or credit note's PDF — once per document."""
    from billing.models import Invoice

    from .receivers import _queue_render
    from .renderers import portal_url

    invoice = Invoice.objects.select_related("basis", "credited_invoice").get(pk=invoice_id)
    if invoice.number is None:
        return None
    key = f"invoice:{invoice.pk}"
    if OutboundEmail.objects.filter(dedupe_key=key).exists():
        return None
    _queue_render("invoice", invoice.pk)
    to = (invoice.buyer or {}).get("email") or (invoice.basis.customer.email if invoice.basis.customer_id else "")
    if not to:
        log.warning("invoice %s: the buyer has no e-mail address; no e-mail queued", invoice.pk)
        return None
    credit = invoice.kind == Invoice.Kind.CREDIT_NOTE
    company = _company()
    subject = f"{invoice.get_kind_display()} {invoice.display_number}" + (f" fra {company.name}" if company else "")
    return email_queue(
        kind=OutboundEmail.Kind.CREDIT_NOTE if credit else OutboundEmail.Kind.INVOICE,
        to=to, subject=subject, template="invoice", basis=invoice.basis, invoice=invoice,
        context={"is_credit_note": credit, "portal_url": portal_url(), "buyer": invoice.buyer},
        attachments=[{"document": "invoice", "pk": invoice.pk}], dedupe_key=key)


# --- receipts -------------------------------------------------------------------------------------


def _oslo_time(value) -> str:
    """A moment as Norwegians read it, in Norwegian time: «04.12.2026 kl. 14:05»."""
    local = timezone.localtime(value, ZoneInfo("Europe/Oslo"))
    return local.strftime("%d.%m.%Y kl. %H:%M")


def _person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def _customer_email(basis) -> str:
    return basis.customer.email if basis.customer_id and basis.customer.email else ""


def _answer_context(*, channel: str, user, customer) -> dict:
    from billing.models import Acceptance

    portal = channel == Acceptance.Channel.PORTAL
    return {"by_portal": portal, "by_name": _person(user) or (customer.name if customer else ""),
            "channel_label": str(dict(Acceptance.Channel.choices).get(channel, channel)).lower()}


def acceptance_email_queue(*, basis_id: int, offer_version) -> OutboundEmail | None:
    """The confirmation to the customer that an offer version was accepted: what, when, by whom and
    through which channel, with a portal link to the accepted PDF — once per accepted offer."""
    from django.urls import reverse

    from billing.models import Acceptance

    answer = (Acceptance.objects.select_related("offer", "basis", "basis__customer", "user")
              .filter(basis_id=basis_id, decision="accepted", offer__kind="offer")
              .filter(**({"offer_version": offer_version} if offer_version else {}))
              .order_by("-at", "-pk").first())
    if answer is None:
        return None
    offer, basis = answer.offer, answer.basis
    key = f"accepted:offer:{offer.pk}"
    if OutboundEmail.objects.filter(dedupe_key=key).exists():
        return None
    to = _customer_email(basis)
    if not to:
        log.warning("offer %s accepted: the customer has no e-mail address; no confirmation queued", offer.pk)
        return None
    company = _company()
    subject = f"Bekreftelse: tilbud {basis.number} er akseptert" + (f" – {company.name}" if company else "")
    return email_queue(
        kind=OutboundEmail.Kind.ACCEPTANCE, to=to, subject=subject, template="acceptance_receipt", basis=basis,
        context={"customer": basis.customer, "offer": offer, "is_change": False, "number": basis.number,
                 "version": offer.version, "gross": offer.gross, "accepted_at": _oslo_time(answer.at),
                 **_answer_context(channel=answer.channel, user=answer.user, customer=basis.customer),
                 "pdf_url": settings.SITE_URL + reverse("portal:offer_pdf", args=[offer.pk]),
                 "detail_url": settings.SITE_URL + reverse("portal:basis", args=[basis.pk])},
        dedupe_key=key)


def change_acceptance_email_queue(*, notice_id: int) -> OutboundEmail | None:
    """The confirmation that a change notice was accepted — once per notice."""
    from django.urls import reverse

    from billing.models import ChangeNotice

    notice = ChangeNotice.objects.select_related("basis", "basis__customer", "answered_by").get(pk=notice_id)
    if notice.status != ChangeNotice.Status.ACCEPTED:
        return None
    basis = notice.basis
    key = f"accepted:change_notice:{notice.pk}"
    if OutboundEmail.objects.filter(dedupe_key=key).exists():
        return None
    to = _customer_email(basis)
    if not to:
        log.warning("change notice %s accepted: the customer has no e-mail address; no confirmation queued",
                    notice.pk)
        return None
    company = _company()
    subject = f"Bekreftelse: endringsvarsel for {basis.number} er akseptert" + \
        (f" – {company.name}" if company else "")
    return email_queue(
        kind=OutboundEmail.Kind.ACCEPTANCE, to=to, subject=subject, template="acceptance_receipt", basis=basis,
        context={"customer": basis.customer, "notice": notice, "is_change": True, "number": basis.number,
                 "version": notice.version, "gross": notice.gross, "new_estimate_gross": notice.new_estimate_gross,
                 "accepted_at": _oslo_time(notice.answered_at),
                 **_answer_context(channel=notice.answer_channel, user=notice.answered_by,
                                   customer=basis.customer),
                 "pdf_url": settings.SITE_URL + reverse("portal_changes:pdf", args=[notice.pk]),
                 "detail_url": settings.SITE_URL + reverse("portal_changes:detail", args=[notice.pk])},
        dedupe_key=key)


def payment_receipt_queue(*, payment_id: int) -> OutboundEmail | None:
    """The receipt for a confirmed payment: invoice, amount, method, date and what is still owed
    (`billing.selectors.amount_owed`) — once per payment."""
    from django.urls import reverse

    from billing import selectors as billing_selectors
    from billing.models import Payment

    payment = Payment.objects.select_related("invoice", "invoice__basis", "invoice__basis__customer").get(
        pk=payment_id)
    if payment.status != Payment.Status.CONFIRMED or payment.direction != Payment.Direction.PAYMENT:
        return None
    invoice = payment.invoice
    key = f"receipt:payment:{payment.pk}"
    if OutboundEmail.objects.filter(dedupe_key=key).exists():
        return None
    to = (invoice.buyer or {}).get("email") or _customer_email(invoice.basis)
    if not to:
        log.warning("payment %s: the buyer has no e-mail address; no receipt queued", payment.pk)
        return None
    company = _company()
    subject = f"Kvittering for betaling av faktura {invoice.display_number}" + \
        (f" – {company.name}" if company else "")
    return email_queue(
        kind=OutboundEmail.Kind.RECEIPT, to=to, subject=subject, template="payment_receipt",
        basis=invoice.basis, invoice=invoice,
        context={"buyer": invoice.buyer or {}, "payment": payment, "amount": payment.amount,
                 "method": payment.get_method_display().lower(),
                 "paid_at": _oslo_time(payment.confirmed_at or payment.created_at),
                 "owed": billing_selectors.amount_owed(invoice),
                 "invoice_url": settings.SITE_URL + reverse("portal:invoice", args=[invoice.pk])},
        dedupe_key=key)
