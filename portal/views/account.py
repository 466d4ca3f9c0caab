"""Getting into the portal without a password (a one-time login link by e-mail), setting a password from
the offer e-mail's link, and changing it. Public views are marked `view.public = True`; wrong tokens
count as failures of the client IP (django-axes)."""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from kundefaktura.accounts.emails import email_normalize
from kundefaktura.accounts.roles import customer_required, is_customer_account
from kundefaktura.clientip import client_ip
from kundefaktura.queue import enqueue_on_commit

from ..forms import LoginLinkRequestForm
from ..models import LoginLink, token_hash
from ..sessions import LINK, LoginEvidence, remember_login

log = logging.getLogger(__name__)


MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


LOGIN_LINK_AT = "portal_login_link_at"  # session: when this session logged in with a login link


def _axes_allowed(request, marker: str) -> bool:
    from axes.handlers.proxy import AxesProxyHandler

    return AxesProxyHandler.is_allowed(request, {"username": marker})


def _axes_failed(request, marker: str) -> None:
    user_login_failed.send(sender=__name__, credentials={"username": marker}, request=request)


def _locked_out(request):
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, {}, status=429)


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
            requested_ip = client_ip(request)
            enqueue_on_commit("portal.login_link_send", email, requested_ip)
        else:
            log.info("login link throttled for an address")
        return render(request, "portal/login_link_sent.html",
                      {"minutes": settings.PORTAL_LOGIN_LINK_MAX_AGE // 60})
    return render(request, "portal/login_link_request.html", {"form": form})


login_link_request.public = True


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
            link.used_ip = client_ip(request)
            link.save(update_fields=["used_at", "used_ip"])
    if link is None:
        if not _axes_allowed(request, "portal:login-link"):
            return _locked_out(request)
        _axes_failed(request, "portal:login-link")
        return render(request, "portal/link_invalid.html", {"kind": "login_link"}, status=410)
    login(request, link.user, backend=MODEL_BACKEND)
    remember_login(request.session, LoginEvidence(method=LINK))
    request.session[LOGIN_LINK_AT] = timezone.now().timestamp()
    messages.success(request, _("Du er logget inn."))
    return redirect("portal:home")


login_link_confirm.public = True


def user_from_uid(uidb64):
    User = get_user_model()
    try:
        return User.objects.get(pk=force_str(urlsafe_base64_decode(uidb64)), is_active=True)
    except (TypeError, ValueError, OverflowError, User.DoesNotExist):
        return None


@never_cache
def set_password(request, uidb64, token):
    """The link from the offer e-mail: choose a password, get logged in, land on the portal.
    Only customer accounts can set a password this way."""
    user = user_from_uid(uidb64)
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
        remember_login(request.session, LoginEvidence(method=LINK))
        messages.success(request, _("Passordet er lagret, og du er logget inn."))
        return redirect("portal:home")
    return render(request, "portal/set_password.html", {"form": form, "user_obj": user})


set_password.public = True


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
