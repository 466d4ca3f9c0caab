"""Every e-mail a customer gets, one function each: it reads the rows, decides whether the e-mail goes
out (once per document or event, through its dedupe key) and writes it to the outbox
(`offers/outbox.py`) in the caller's transaction. The texts are the templates under
`templates/documents/email/`; documents are attached by reference and rendered before sending if the
render task has not stored them yet.

Most are called by `offers/receivers.py` when billing records an event; the login link by the portal.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext as _

from billing.selectors import company_profile

from .documents import change_notice_figures, portal_url, reminder_figures
from .models import OutboundEmail
from .outbox import email_language, email_queue
from .services import portal_user_ensure

log = logging.getLogger(__name__)


def _site_url(name: str, *args) -> str:
    return settings.SITE_URL + reverse(name, args=args)


def _later(text_of):
    """Text worded when the e-mail is rendered, in the e-mail's language (`email_queue` renders under
    the customer's language; the function that queues runs in whatever language the request had)."""
    return lazy(text_of, str)()


def _oslo_time(value):
    """A moment in Norwegian time, as the e-mail's language writes it: «04.12.2026 kl. 14:05»,
    «04.12.2026 at 14:05», worded when the e-mail is rendered (in its language)."""
    local = timezone.localtime(value, ZoneInfo("Europe/Oslo"))
    return _later(lambda: _("%(date)s kl. %(time)s") % {"date": local.strftime("%d.%m.%Y"),
                                                         "time": local.strftime("%H:%M")})


def _from(text: str, company) -> str:
    """"Tilbud FG-… fra Fjordnett AS" in the active language."""
    return _("%(what)s fra %(company)s") % {"what": text, "company": company.name} if company else text


def _dash(text: str, company) -> str:
    return f"{text} – {company.name}" if company else text


def _person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def _customer_email(basis) -> str:
    return basis.customer.email if basis.customer_id and basis.customer.email else ""


def _queue_to(*, to: str, what: str, **kwargs) -> OutboundEmail | None:
    """`email_queue` when there is an address; without one, a warning and nothing queued."""
    if not to:
        log.warning("no e-mail address for %s; nothing queued", what)
        return None
    return email_queue(to=to, **kwargs)


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


# --- portal access ----------------------------------------------------------------------------------


def login_link_email_queue(*, user, to: str, url: str) -> OutboundEmail:
    """The one-time login link the customer asked for on the portal's login page."""
    return email_queue(kind=OutboundEmail.Kind.LOGIN_LINK, to=to,
                       subject=lambda: _("Innloggingslenke til kundeportalen"),
                       template="portal_login_link", basis=None, language=email_language(user=user),
                       context={"user": user, "url": url, "minutes": settings.PORTAL_LOGIN_LINK_MAX_AGE // 60})


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

    offer = Offer.objects.select_related("basis", "basis__customer").get(pk=offer_id)
    basis, customer = offer.basis, offer.basis.customer
    key = f"offer:{offer.pk}"
    if OutboundEmail.objects.filter(dedupe_key=key).exists():
        return None
    if not customer or not customer.email:
        log.warning("offer %s: the customer has no e-mail address; no e-mail queued", offer.pk)
        return None
    user = portal_user_ensure(customer)
    company = company_profile()
    change = offer.kind == "change"

    def subject():
        text = _("Endringsvarsel %(number)s") if change else _("Tilbud %(number)s")
        return _from(text % {"number": basis.number}, company)

    return email_queue(
        kind=OutboundEmail.Kind.CHANGE_NOTICE if change else OutboundEmail.Kind.OFFER,
        to=customer.email, subject=subject, template="offer", basis=basis,
        context={"company": company, "offer": offer, "customer": customer,
                 "username": user.username if user else "",
                 "set_password_url": set_password_link(user) if user and is_customer_account(user) else "",
                 "has_password": bool(user and user.has_usable_password()),
                 "link_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
                 "link_validity": _later(lambda: duration_text(settings.PASSWORD_RESET_TIMEOUT)),
                 "portal_url": portal_url()},
        attachments=[{"document": "offer", "pk": offer.pk}] + offer_attachments(basis), dedupe_key=key)


def invoice_email_queue(*, invoice_id: int) -> OutboundEmail | None:
    """The e-mail carrying an issued invoice's or credit note's PDF — once per document."""
    from billing.models import Invoice

    invoice = Invoice.objects.select_related("basis", "credited_invoice").get(pk=invoice_id)
    if invoice.number is None:
        return None
    key = f"invoice:{invoice.pk}"
    if OutboundEmail.objects.filter(dedupe_key=key).exists():
        return None
    to = (invoice.buyer or {}).get("email") or (invoice.basis.customer.email if invoice.basis.customer_id else "")
    if not to:
        log.warning("invoice %s: the buyer has no e-mail address; no e-mail queued", invoice.pk)
        return None
    credit = invoice.kind == Invoice.Kind.CREDIT_NOTE
    company = company_profile()

    def subject():
        return _from(f"{invoice.get_kind_display()} {invoice.display_number}", company)

    return email_queue(
        kind=OutboundEmail.Kind.CREDIT_NOTE if credit else OutboundEmail.Kind.INVOICE,
        to=to, subject=subject, template="invoice", basis=invoice.basis, invoice=invoice,
        context={"company": company, "is_credit_note": credit, "portal_url": portal_url(), "buyer": invoice.buyer},
        attachments=[{"document": "invoice", "pk": invoice.pk}], dedupe_key=key)


# --- receipts -------------------------------------------------------------------------------------


def _answer_context(*, channel: str, user, customer) -> dict:
    from billing.models import Acceptance

    portal = channel == Acceptance.Channel.PORTAL
    return {"by_portal": portal, "by_name": _person(user) or (customer.name if customer else ""),
            "channel_label": _later(lambda: str(dict(Acceptance.Channel.choices).get(channel, channel)).lower())}


def _receipt_attachment(**answer) -> list[dict]:
    """The receipt of the answer as an attachment by reference: the delivery waits for (renders, seals)
    the stored receipt PDF before the e-mail goes out. Empty when the answer has no receipt."""
    from .models import Receipt

    pk = Receipt.objects.filter(**answer).values_list("pk", flat=True).first()
    return [{"document": "receipt", "pk": pk}] if pk else []


def acceptance_email_queue(*, basis_id: int, offer_version) -> OutboundEmail | None:
    """The confirmation to the customer that an offer version was accepted: what, when, by whom and
    through which channel, with a portal link to the accepted PDF and the receipt of the acceptance
    attached — once per accepted offer."""
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
    company = company_profile()

    def subject():
        return _dash(_("Bekreftelse: tilbud %(number)s er akseptert") % {"number": basis.number}, company)

    return email_queue(
        kind=OutboundEmail.Kind.ACCEPTANCE, to=to, subject=subject, template="acceptance_receipt", basis=basis,
        context={"company": company, "customer": basis.customer, "offer": offer, "is_change": False,
                 "number": basis.number, "version": offer.version, "gross": offer.gross,
                 "accepted_at": _oslo_time(answer.at),
                 **_answer_context(channel=answer.channel, user=answer.user, customer=basis.customer),
                 "pdf_url": _site_url("portal:offer_pdf", offer.pk),
                 "detail_url": _site_url("portal:basis", basis.pk)},
        attachments=_receipt_attachment(acceptance_id=answer.pk), dedupe_key=key)


def change_answer_email_queue(*, notice_id: int) -> OutboundEmail | None:
    """The confirmation of the customer's answer to a change notice — accepted or declined — with the
    receipt of the answer attached; once per notice."""
    from billing.models import ChangeNotice

    notice = ChangeNotice.objects.select_related("basis", "basis__customer", "answered_by").get(pk=notice_id)
    if notice.status not in (ChangeNotice.Status.ACCEPTED, ChangeNotice.Status.DECLINED):
        return None
    accepted = notice.status == ChangeNotice.Status.ACCEPTED
    basis = notice.basis
    key = f"{'accepted' if accepted else 'declined'}:change_notice:{notice.pk}"
    if OutboundEmail.objects.filter(dedupe_key=key).exists():
        return None
    to = _customer_email(basis)
    if not to:
        log.warning("change notice %s answered: the customer has no e-mail address; no confirmation queued",
                    notice.pk)
        return None
    company = company_profile()

    def subject():
        text = (_("Bekreftelse: endringsvarsel for %(number)s er akseptert") if accepted
                else _("Bekreftelse: endringsvarsel for %(number)s er avslått"))
        return _dash(text % {"number": basis.number}, company)

    return email_queue(
        kind=OutboundEmail.Kind.ACCEPTANCE, to=to, subject=subject, template="acceptance_receipt", basis=basis,
        context={"company": company, "customer": basis.customer, "notice": notice, "is_change": True,
                 "declined": not accepted, "number": basis.number, "version": notice.version, "gross": notice.gross,
                 "new_estimate_gross": notice.new_estimate_gross, "accepted_at": _oslo_time(notice.answered_at),
                 **_answer_context(channel=notice.answer_channel, user=notice.answered_by,
                                   customer=basis.customer),
                 "pdf_url": _site_url("portal:change_notice_pdf", notice.pk),
                 "detail_url": _site_url("portal:change_notice", notice.pk)},
        attachments=_receipt_attachment(change_notice_id=notice.pk), dedupe_key=key)


def payment_receipt_queue(*, payment_id: int) -> OutboundEmail | None:
    """The receipt for a confirmed payment: invoice, amount, method, date and what is still owed
    (`billing.selectors.amount_owed`) — once per payment."""
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
    company = company_profile()

    def subject():
        return _dash(_("Kvittering for betaling av faktura %(number)s") % {"number": invoice.display_number},
                     company)

    return email_queue(
        kind=OutboundEmail.Kind.RECEIPT, to=to, subject=subject, template="payment_receipt",
        basis=invoice.basis, invoice=invoice,
        context={"company": company, "buyer": invoice.buyer or {}, "payment": payment, "amount": payment.amount,
                 "method": _later(lambda: payment.get_method_display().lower()),
                 "paid_at": _oslo_time(payment.confirmed_at or payment.created_at),
                 "owed": billing_selectors.amount_owed(invoice),
                 "invoice_url": _site_url("portal:invoice", invoice.pk)},
        dedupe_key=key)


# --- after acceptance: change notices, expiry, reminders --------------------------------------------


def change_notice_email_queue(*, notice_id: int) -> OutboundEmail | None:
    """The change notice (its PDF attached) asking the customer to accept or decline the change."""
    from billing.models import ChangeNotice

    notice = ChangeNotice.objects.select_related("basis", "basis__customer").get(pk=notice_id)
    basis, customer = notice.basis, notice.basis.customer
    figures = change_notice_figures(notice)
    return _queue_to(
        to=customer.email if customer else "", what=f"change notice {notice.pk}",
        kind=OutboundEmail.Kind.CHANGE_NOTICE, basis=basis,
        subject=lambda: _("Endringsvarsel for %(t)s (%(n)s)") % {"t": basis.title, "n": basis.number},
        template="change_notice",
        context={"notice": notice, "change": figures["change"], "after": figures["after"], "customer": customer,
                 "portal_url": _site_url("portal:change_notice", notice.pk)},
        attachments=[{"document": "change_notice", "pk": notice.pk}])


def change_notice_expiry_email_queue(*, notice_id: int) -> OutboundEmail | None:
    """The change notice's answer deadline passed without an answer: the change is not agreed."""
    from billing.models import ChangeNotice

    notice = ChangeNotice.objects.select_related("basis", "basis__customer").get(pk=notice_id)
    basis, customer = notice.basis, notice.basis.customer
    return _queue_to(
        to=customer.email if customer else "", what=f"change notice {notice.pk}",
        kind=OutboundEmail.Kind.CHANGE_NOTICE, basis=basis,
        subject=lambda: _("Endringsvarselet for %(t)s (%(n)s) er utløpt") % {"t": basis.title, "n": basis.number},
        template="change_notice_expired",
        context={"notice": notice, "customer": customer,
                 "portal_url": _site_url("portal:change_notice", notice.pk)})


def offer_expiry_email_queue(*, basis_id: int) -> OutboundEmail | None:
    """The offer's validity passed without an answer."""
    from billing.models import InvoiceBasis

    basis = InvoiceBasis.objects.select_related("customer").get(pk=basis_id)
    customer = basis.customer
    return _queue_to(
        to=customer.email if customer else "", what=f"expired offer of basis {basis.pk}",
        kind=OutboundEmail.Kind.OFFER, basis=basis,
        subject=lambda: _("Tilbudet på %(t)s (%(n)s) er utløpt") % {"t": basis.title, "n": basis.number},
        template="change_offer_expired",
        context={"customer": customer, "valid_until": basis.offer_valid_until,
                 "portal_url": _site_url("portal:home")})


def reminder_email_queue(*, reminder_id: int) -> OutboundEmail | None:
    """A reminder (purring) of an overdue invoice, its PDF attached."""
    from billing.models import Reminder

    reminder = Reminder.objects.select_related("invoice", "invoice__basis", "invoice__basis__customer").get(
        pk=reminder_id)
    invoice = reminder.invoice
    basis = invoice.basis
    figures = reminder_figures(reminder)
    return _queue_to(
        to=(invoice.buyer or {}).get("email") or (basis.customer.email if basis.customer else ""),
        what=f"reminder {reminder.pk}", kind=OutboundEmail.Kind.REMINDER, basis=basis, invoice=invoice,
        subject=lambda: _("%(step)s. purring: faktura %(n)s") % {"step": reminder.step, "n": invoice.number},
        template=f"reminder_{reminder.step}",
        context={"reminder": reminder, "total": figures["total"], "outstanding": figures["outstanding"],
                 "earlier_fees": figures["earlier_fees"]},
        attachments=[{"document": "reminder", "pk": reminder.pk}])
