"""BankID through OpenID Connect (portal/oidc.py): log in with BankID, connect it to the account (from a
logged-in session, or once from the offer e-mail's set-password link), confirm with BankID before an
answer that needs it (step-up), and disconnect. Every URL here is 404 unless a provider is configured.

Each flow starts with a POST (CSRF-protected) that stores what it is for in the session under the flow's
state; the callback takes that back out once, so a callback URL cannot be replayed or used for another
purpose."""

import logging
from functools import wraps
from urllib.parse import parse_qs, urlsplit

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.tokens import default_token_generator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from billing.evidence import BANKID, LoginEvidence
from kundefaktura.accounts.roles import customer_required, is_customer_account
from kundefaktura.clientip import client_ip

from .. import oidc, services
from ..models import BankIDLink
from ..sessions import remember_login
from .account import MODEL_BACKEND, user_from_uid

log = logging.getLogger(__name__)

FLOW_KEY = "portal_bankid_flow:"  # session, + the flow's state: what that BankID flow is for


def configured_only(view):
    """Without a configured provider every URL here is 404: right after the role check on the customer's
    pages, before anything else on the public ones."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not oidc.enabled():
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def _start(request, flow: dict, *, fresh: bool = False):
    """Redirect to the provider; what the flow is for is kept under its `state`, so two flows started in
    two tabs cannot swap purposes."""
    try:
        response = oidc.authorize_redirect(request, request.build_absolute_uri(reverse("portal:bankid_callback")),
                                           fresh=fresh)
    except oidc.LoginFailed:
        return render(request, "portal/bankid_failed.html", {"unavailable": True}, status=503)
    state = parse_qs(urlsplit(response["Location"]).query).get("state", [""])[0]
    request.session[FLOW_KEY + state] = flow
    return response


def _safe_next(request, value: str) -> str:
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()},
                                                 require_https=request.is_secure()):
        return value
    return ""


@configured_only
@never_cache
@require_POST
def bankid_login(request):
    return _start(request, {"purpose": "login", "next": _safe_next(request, request.POST.get("next", ""))})


bankid_login.public = True


@customer_required
@configured_only
@never_cache
@require_POST
def bankid_connect(request):
    return _start(request, {"purpose": "connect", "user": request.user.pk}, fresh=True)


@customer_required
@configured_only
@never_cache
@require_POST
def bankid_confirm(request):
    """Step-up before an answer that needs a recent BankID: always a new authentication at the provider."""
    return _start(request, {"purpose": "confirm", "user": request.user.pk,
                            "next": _safe_next(request, request.POST.get("next", ""))}, fresh=True)


@configured_only
@never_cache
@require_POST
def bankid_connect_by_link(request, uidb64, token):
    """From the offer e-mail's set-password link: connect BankID instead of choosing a password. The link
    is checked here and again at the callback, and logging in then makes it unusable."""
    user = user_from_uid(uidb64)
    if user is None or not is_customer_account(user) or not default_token_generator.check_token(user, token):
        return render(request, "portal/link_invalid.html", {"kind": "set_password"}, status=410)
    return _start(request, {"purpose": "link", "uid": uidb64, "token": token}, fresh=True)


bankid_connect_by_link.public = True


def _failed(request, status=400, **ctx):
    return render(request, "portal/bankid_failed.html", ctx, status=status)


def _evidence(identity) -> LoginEvidence:
    return LoginEvidence(method=BANKID, acr=identity.acr, auth_time=identity.auth_time, sub=identity.sub)


@configured_only
@never_cache
@require_GET
def bankid_callback(request):
    state = request.GET.get("state", "")
    flow = request.session.pop(FLOW_KEY + state, None) if state else None
    try:  # Authlib checks the state itself (and uses it up) before anything else
        identity = oidc.identity_from_callback(request)
    except oidc.LoginFailed:
        return _failed(request)
    if not isinstance(flow, dict):
        return _failed(request)
    purpose = flow.get("purpose")
    ip = client_ip(request)

    if purpose == "login":
        link = services.bankid_link_for(identity)
        if link is None:
            return render(request, "portal/bankid_unknown.html", status=403)
        login(request, link.user, backend=MODEL_BACKEND)
        remember_login(request.session, _evidence(identity))
        messages.success(request, _("Du er logget inn med BankID."))
        return redirect(flow.get("next") or "portal:home")

    if purpose == "link":
        user = user_from_uid(flow.get("uid", ""))
        if user is None or not is_customer_account(user) or \
                not default_token_generator.check_token(user, flow.get("token", "")):
            return render(request, "portal/link_invalid.html", {"kind": "set_password"}, status=410)
        try:
            services.bankid_connect(user=user, identity=identity, via=BankIDLink.Via.LINK, ip=ip)
        except services.BankIDLinkError as exc:
            return _failed(request, status=409, reason=str(exc))
        login(request, user, backend=MODEL_BACKEND)  # sets last_login: the e-mailed link is used up
        remember_login(request.session, _evidence(identity))
        messages.success(request, _("BankID er koblet til kontoen din, og du er logget inn."))
        return redirect("portal:home")

    if purpose in ("connect", "confirm"):
        user = request.user
        if not user.is_authenticated or user.pk != flow.get("user"):
            return _failed(request)
        link = BankIDLink.objects.filter(user=user).first()
        if link is not None and (link.issuer, link.sub) != (identity.issuer, identity.sub):
            return _failed(request, status=403, reason=_(
                "Du bekreftet med en annen BankID enn den som er koblet til kontoen din."))
        if link is None:  # a logged-in customer connects their BankID
            try:
                services.bankid_connect(user=user, identity=identity, via=BankIDLink.Via.SESSION, ip=ip)
            except services.BankIDLinkError as exc:
                return _failed(request, status=409, reason=str(exc))
        request.session.cycle_key()  # the session now carries BankID evidence: give it a new id
        remember_login(request.session, _evidence(identity))
        if purpose == "connect":
            messages.success(request, _("BankID er koblet til kontoen din."))
            return redirect("portal:bankid")
        messages.success(request, _("Du har bekreftet med BankID og kan nå svare."))
        return redirect(flow.get("next") or "portal:home")

    return _failed(request)


bankid_callback.public = True


@customer_required
@configured_only
@never_cache
def bankid_settings(request):
    """The customer's BankID page: connected or not, connect, disconnect."""
    if request.method == "POST":
        if services.bankid_disconnect(user=request.user, ip=client_ip(request)):
            messages.success(request, _("BankID er koblet fra kontoen din."))
        return redirect("portal:bankid")
    link = BankIDLink.objects.filter(user=request.user).first()
    return render(request, "portal/bankid.html", {"link": link})
