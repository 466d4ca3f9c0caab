"""Customer portal views. Thin: parse input with a form, call one service or selector, render.

Every customer view is scoped through portal.selectors (another customer's rows → 404). Public views
(login link, set password, webhook) are marked `view.public = True`.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.db import OperationalError, transaction
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing import providers, services
from billing import selectors as billing_selectors
from billing.errors import BillingError
from billing.models import CompanyProfile, Invoice, Payment
from billing.services.checkout import checkout_start, webhook_event_handle
from billing.status import Status, next_step
from kundefaktura.accounts.emails import email_normalize
from kundefaktura.accounts.roles import customer_required, is_customer_account
from kundefaktura.clientip import client_ip
from kundefaktura.queue import enqueue_on_commit

from . import selectors
from .forms import AcceptForm, DeclineForm, LoginLinkRequestForm, PayForm
from .models import LoginLink, token_hash

log = logging.getLogger(__name__)
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _ip(request):
    return client_ip(request)


def _user_agent(request):
    return request.META.get("HTTP_USER_AGENT", "")[:500]


def _public(view):
    view.public = True
    return view


def _axes_allowed(request, marker: str) -> bool:
    from axes.handlers.proxy import AxesProxyHandler

    return AxesProxyHandler.is_allowed(request, {"username": marker})


def _axes_failed(request, marker: str) -> None:
    user_login_failed.send(sender=__name__, credentials={"username": marker}, request=request)


def _locked_out(request):
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, {}, status=429)


# --- home and bases -------------------------------------------------------------------------------


@customer_required
def home(request):
    bases = list(selectors.customer_bases(request.user))
    rows = []
    for basis in bases:
        unpaid = [inv for inv in basis.invoices.all() if billing_selectors.amount_owed(inv) > 0]
        rows.append({"basis": basis, "next_step": next_step(basis.status), "unpaid": unpaid,
                     "can_answer": basis.status == Status.OFFER_SENT})
    return render(request, "portal/home.html", {"rows": rows})


def _offer_context(request, basis, accept_form=None, decline_form=None):
    offer = services.current_offer(basis)
    answer = offer.acceptances.first() if offer else None
    today = services.today()
    expired = bool(offer and not answer and (basis.status == Status.EXPIRED
                                             or (basis.status == Status.OFFER_SENT and offer.valid_until < today)))
    can_answer = bool(offer and not answer and basis.status == Status.OFFER_SENT and not expired)
    # Changed after it was sent: the customer waits for the new version instead of accepting this one.
    revising = can_answer and services.offer_outdated(offer, basis)
    invoices = [{"invoice": inv, **billing_selectors.invoice_dues(inv)}
                for inv in basis.invoices.filter(number__isnull=False).exclude(kind=Invoice.Kind.CREDIT_NOTE)
                .prefetch_related("reminders").order_by("issue_date", "number")]
    version = offer.version if offer else None
    return {
        "basis": basis, "offer": offer, "answer": answer, "expired": expired, "can_answer": can_answer,
        "revising": revising,
        "next_step": next_step(basis.status), "invoices": invoices,
        "prepayment_invoices": [row for row in invoices if row["invoice"].kind == Invoice.Kind.PREPAYMENT],
        "lines": (offer.snapshot or {}).get("lines", []) if offer else [],
        "base_deduction": (offer.snapshot or {}).get("base_deduction") if offer else None,
        "company": CompanyProfile.objects.filter(pk=1).first(),  # the terms shown next to the checkbox
        "accept_form": accept_form or AcceptForm(initial={"offer_version": version}),
        "decline_form": decline_form or DeclineForm(initial={"offer_version": version}),
    }


@customer_required
def basis_detail(request, pk):
    """The basis with its offer (web version), the answer, and its invoices."""
    basis = selectors.basis_for_user(request.user, pk)
    return render(request, "portal/offer.html", _offer_context(request, basis))


def _shown_offer(basis, version):
    offer = basis.offers.filter(kind="offer", version=version).first()
    if offer is None:
        raise Http404
    return offer


def _answer_problem(basis, offer) -> str | None:
    """A clear message when the offer shown can no longer be answered (None when it can)."""
    newest = services.current_offer(basis)
    if newest and newest.pk != offer.pk:
        return _("Tilbudet du så på (versjon %(old)d) er erstattet av en nyere versjon (versjon %(new)d). "
                 "Les den nye versjonen nedenfor før du svarer.") % {"old": offer.version, "new": newest.version}
    if not offer.acceptances.exists() and (basis.status == Status.EXPIRED or offer.valid_until < services.today()):
        return _("Tilbudet utløp %(d)s og kan ikke lenger aksepteres. Kontakt nettselskapet for et nytt tilbud.") \
            % {"d": offer.valid_until.strftime("%d.%m.%Y")}
    return None


@require_POST
@customer_required
def offer_accept(request, pk):
    basis = selectors.basis_for_user(request.user, pk)
    form = AcceptForm(request.POST)
    if not form.is_valid():
        ctx = _offer_context(request, basis, accept_form=form)
        return render(request, "portal/offer.html", {**ctx, "form": form}, status=422)  # form: error summary
    offer = _shown_offer(basis, form.cleaned_data["offer_version"])
    problem = _answer_problem(basis, offer)
    if problem:
        messages.error(request, problem)
        return redirect("portal:basis", pk=basis.pk)
    offer.refresh_from_db(fields=["pdf_sha256"])
    try:
        services.offer_accept(basis=basis, by=request.user, offer=offer, ip_address=_ip(request),
                              user_agent=_user_agent(request), pdf_sha256=offer.pdf_sha256)
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("portal:basis", pk=basis.pk)
    return redirect("portal:accepted", pk=basis.pk)


@customer_required
def offer_accepted(request, pk):
    """The same success page for every (double) acceptance of the offer."""
    basis = selectors.basis_for_user(request.user, pk)
    ctx = _offer_context(request, basis)
    if not ctx["answer"] or ctx["answer"].decision != "accepted":
        return redirect("portal:basis", pk=basis.pk)
    return render(request, "portal/accepted.html", ctx)


@require_POST
@customer_required
def offer_decline(request, pk):
    basis = selectors.basis_for_user(request.user, pk)
    form = DeclineForm(request.POST)
    if not form.is_valid():
        ctx = _offer_context(request, basis, decline_form=form)
        return render(request, "portal/offer.html", {**ctx, "form": form}, status=422)  # form: error summary
    offer = _shown_offer(basis, form.cleaned_data["offer_version"])
    problem = _answer_problem(basis, offer)
    if problem:
        messages.error(request, problem)
        return redirect("portal:basis", pk=basis.pk)
    try:
        services.offer_decline(basis=basis, by=request.user, offer=offer, reason=form.cleaned_data["reason"],
                               ip_address=_ip(request), user_agent=_user_agent(request))
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("portal:basis", pk=basis.pk)
    messages.success(request, _("Du har avslått tilbudet. Nettselskapet er varslet."))
    return redirect("portal:basis", pk=basis.pk)


# --- invoices and payment -------------------------------------------------------------------------


@customer_required
def invoice_list(request):
    """Every issued document with its reminder fees and what is left to pay including them."""
    rows = [{"invoice": inv, **billing_selectors.invoice_dues(inv)}
            for inv in selectors.customer_invoices(request.user).prefetch_related("reminders")]
    return render(request, "portal/invoices.html", {"rows": rows})


def _invoice_context(invoice):
    dues = billing_selectors.invoice_dues(invoice)
    return {
        "invoice": invoice, **dues,
        # Paid means nothing left: the invoice's balance and any reminder fees.
        "is_paid": invoice.kind != Invoice.Kind.CREDIT_NOTE and dues["owed"] <= 0
        and invoice.status == Invoice.Status.PAID,
        # A checkout the customer abandoned expires at Stripe after 60 minutes; older attempts are not
        # "being processed" any more.
        "pending": invoice.payments.filter(status=Payment.Status.PENDING, direction=Payment.Direction.PAYMENT,
                                           created_at__gte=timezone.now() - timedelta(minutes=65)).exists(),
        "payments": invoice.payments.filter(status__in=[Payment.Status.CONFIRMED, Payment.Status.REFUNDED]),
        "credit_notes": list(invoice.credit_notes.filter(number__isnull=False).order_by("issue_date", "number")),
        "paid_total": sum((p.amount for p in invoice.payments.filter(direction=Payment.Direction.PAYMENT,
                                                                     status=Payment.Status.CONFIRMED)), Decimal(0)),
        "refunds": list(invoice.payments.filter(direction=Payment.Direction.REFUND,
                                                status__in=[Payment.Status.PENDING, Payment.Status.CONFIRMED])
                        .order_by("created_at", "id")),
        "bank_account": (invoice.seller or {}).get("bank_account_display") or (invoice.seller or {}).get("bank_account"),
        "bank_account_digits": (invoice.seller or {}).get("bank_account", ""),
    }


@customer_required
def invoice_detail(request, pk):
    invoice = selectors.invoice_for_user(request.user, pk)
    provider = providers.checkout_provider()
    ctx = _invoice_context(invoice)
    ctx.update(pay_form=PayForm(initial={"attempt": uuid.uuid4()}), provider=provider)
    response = render(request, "portal/invoice.html", ctx)
    origins = provider.form_action_origins()
    if origins:  # the pay button redirects to the provider's checkout page
        response._csp_update = {"form-action": origins}
    return response


@require_POST
@customer_required
def invoice_pay(request, pk):
    invoice = selectors.invoice_for_user(request.user, pk)
    form = PayForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Betalingen kunne ikke startes. Last siden på nytt og prøv igjen."))
        return redirect("portal:invoice", pk=invoice.pk)
    # The card payment covers what the invoice page asks for: the balance plus unpaid reminder fees.
    owed = billing_selectors.amount_owed(invoice)
    if owed <= 0 or invoice.kind == Invoice.Kind.CREDIT_NOTE:
        messages.info(request, _("Fakturaen er allerede betalt."))
        return redirect("portal:invoice", pk=invoice.pk)
    success = request.build_absolute_uri(reverse("portal:payment_done", args=[invoice.pk]))
    cancel = request.build_absolute_uri(reverse("portal:payment_cancelled", args=[invoice.pk]))
    try:
        checkout = checkout_start(invoice=invoice, amount=owed, attempt=str(form.cleaned_data["attempt"]),
                                  by=request.user, success_url=success, cancel_url=cancel)
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("portal:invoice", pk=invoice.pk)
    except Exception:  # the provider is down or refused: say so, keep the bank transfer option
        log.exception("could not start checkout for invoice %s", invoice.pk)
        messages.error(request, _("Kortbetaling er ikke tilgjengelig akkurat nå. Prøv igjen om litt, "
                                  "eller betal med bankoverføring."))
        return redirect("portal:invoice", pk=invoice.pk)
    return redirect(checkout.redirect_url)


@customer_required
def payment_done(request, pk):
    """Back from checkout. The webhook confirms the payment; until then the page says it is being processed."""
    invoice = selectors.invoice_for_user(request.user, pk)
    attempt = selectors.attempt_for_user(request.user, invoice, request.GET.get("session_id", ""))
    ctx = _invoice_context(invoice)
    ctx["attempt_payment"] = attempt.payment if attempt else None
    if request.htmx:
        # The poll swaps only the status text; 286 tells htmx to stop polling once nothing is pending.
        still_pending = ctx.get("pending") and not ctx.get("is_paid")
        return render(request, "portal/_payment_status_text.html", ctx, status=200 if still_pending else 286)
    return render(request, "portal/payment_done.html", ctx)


@customer_required
def payment_cancelled(request, pk):
    invoice = selectors.invoice_for_user(request.user, pk)
    attempt = selectors.attempt_for_user(request.user, invoice, request.GET.get("session_id", ""))
    if attempt and attempt.payment.status == Payment.Status.PENDING:
        services.payment_fail(payment=attempt.payment, by=request.user, error="avbrutt av kunden")
    messages.info(request, _("Betalingen ble avbrutt. Ingenting er trukket fra kortet ditt."))
    return redirect("portal:invoice", pk=invoice.pk)


@customer_required
def local_checkout(request, pk):
    """The local test payment page (PAYMENT_PROVIDER=local). Only with DEBUG on."""
    if not settings.DEBUG:
        raise Http404
    payment = selectors.payment_for_user(request.user, pk)
    if payment.provider != providers.LOCAL:
        raise Http404
    if request.method == "POST":
        if request.POST.get("decision") == "approve":
            services.payment_confirm(payment=payment, by=request.user)
            messages.success(request, _("Testbetalingen er godkjent."))
        else:
            services.payment_fail(payment=payment, by=request.user, error="avvist på testsiden")
            messages.error(request, _("Testbetalingen ble avvist."))
        return redirect("portal:invoice", pk=payment.invoice_id)
    return render(request, "portal/local_checkout.html", {"payment": payment, "invoice": payment.invoice})


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe → us. Bad signature: 400 and nothing changed; lock timeout or Stripe unreachable: 503 (retry)."""
    provider = providers.get_provider(providers.STRIPE)
    try:
        event = provider.webhook_parse(body=request.body, headers=request.headers)
    except providers.WebhookRejected as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    try:
        result = webhook_event_handle(provider=provider, event=event)
    except OperationalError:
        log.warning("stripe webhook %s: lock timeout, asking Stripe to retry", event["id"])
        return JsonResponse({"error": "busy, retry"}, status=503)
    except providers.ProviderUnavailable:
        log.warning("stripe webhook %s: could not re-read the object", event["id"], exc_info=True)
        return JsonResponse({"error": "upstream unavailable, retry"}, status=503)
    return JsonResponse({"received": True, "result": result})


_public(stripe_webhook)


# --- access: login link, set password -------------------------------------------------------------

LOGIN_LINK_AT = "portal_login_link_at"  # session: when this session logged in with a login link


@never_cache
def login_link_request(request):
    """Always the same answer along the same path: the look-up and the e-mail happen in a task."""
    form = LoginLinkRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = email_normalize(form.cleaned_data["email"])
        key = f"portal:login-link:{email}"
        count = cache.get_or_set(key, 0, timeout=3600)
        if count < settings.PORTAL_LOGIN_LINK_PER_HOUR:
            cache.incr(key)
            requested_ip = _ip(request)
            enqueue_on_commit("portal.login_link_send", email, requested_ip)
        else:
            log.info("login link throttled for an address")
        return render(request, "portal/login_link_sent.html",
                      {"minutes": settings.PORTAL_LOGIN_LINK_MAX_AGE // 60})
    return render(request, "portal/login_link_request.html", {"form": form})


_public(login_link_request)


def accessibility_statement(request):
    """Tilgjengelighetserklæringen: public, with the grid company's own contact address."""
    company = CompanyProfile.objects.filter(pk=1).first()
    return render(request, "portal/accessibility.html", {"company": company})


_public(accessibility_statement)


def _usable_link(link) -> bool:
    return link is not None and link.is_usable and is_customer_account(link.user)


@never_cache
def login_link_confirm(request, token):
    """GET shows a button (mail scanners only GET); only the POST uses the link and logs in.

    A valid link always works; wrong tokens count as failures of the client IP that sent them, and
    only that IP is locked out."""
    if request.method != "POST":
        link = LoginLink.objects.filter(token_hash=token_hash(token)).select_related("user").first()
        if _usable_link(link):
            return render(request, "portal/login_link_confirm.html", {"link": link})
        if not _axes_allowed(request, "portal:login-link"):
            return _locked_out(request)
        return render(request, "portal/link_invalid.html", {"kind": "login_link"}, status=410)
    with transaction.atomic():
        link = LoginLink.objects.select_for_update().filter(token_hash=token_hash(token)).first()
        if not _usable_link(link):
            link = None
        else:
            link.used_at = timezone.now()
            link.used_ip = _ip(request)
            link.save(update_fields=["used_at", "used_ip"])
    if link is None:
        if not _axes_allowed(request, "portal:login-link"):
            return _locked_out(request)
        _axes_failed(request, "portal:login-link")
        return render(request, "portal/link_invalid.html", {"kind": "login_link"}, status=410)
    login(request, link.user, backend=MODEL_BACKEND)
    request.session[LOGIN_LINK_AT] = timezone.now().timestamp()
    messages.success(request, _("Du er logget inn."))
    return redirect("portal:home")


login_link_confirm = _public(login_link_confirm)


def _user_from_uid(uidb64):
    User = get_user_model()
    try:
        return User.objects.get(pk=force_str(urlsafe_base64_decode(uidb64)), is_active=True)
    except (TypeError, ValueError, OverflowError, User.DoesNotExist):
        return None


@never_cache
def set_password(request, uidb64, token):
    """The link from the offer e-mail: choose a password, get logged in, land on the portal.
    Only customer accounts can set a password this way."""
    user = _user_from_uid(uidb64)
    if user is None or not is_customer_account(user) or not default_token_generator.check_token(user, token):
        if not _axes_allowed(request, "portal:set-password"):
            return _locked_out(request)
        if request.method == "POST":
            _axes_failed(request, "portal:set-password")
        return render(request, "portal/link_invalid.html", {"kind": "set_password"}, status=410)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        login(request, user, backend=MODEL_BACKEND)
        messages.success(request, _("Passordet er lagret, og du er logget inn."))
        return redirect("portal:home")
    return render(request, "portal/set_password.html", {"form": form, "user_obj": user})


set_password = _public(set_password)


def _recent_login_link(request) -> bool:
    at = request.session.get(LOGIN_LINK_AT)
    if not isinstance(at, (int, float)):
        return False
    age = timezone.now().timestamp() - at
    return 0 <= age <= settings.PORTAL_PASSWORD_CHANGE_WINDOW


@customer_required
def password_change(request):
    """Choose a new password while logged in. The current password is needed, except in the first
    minutes after logging in with a login link (the link proved the mailbox just now)."""
    by_link = _recent_login_link(request)
    form_class = SetPasswordForm if by_link else PasswordChangeForm
    form = form_class(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        request.session.pop(LOGIN_LINK_AT, None)
        update_session_auth_hash(request, form.user)
        messages.success(request, _("Passordet er endret."))
        return redirect("portal:home")
    return render(request, "portal/password_change.html", {"form": form, "by_link": by_link, "minutes": settings.PORTAL_PASSWORD_CHANGE_WINDOW // 60})
