"""Getting into the portal by e-mail: who may get a login link, and sending it.

A login link goes only to a plain customer account, and only to the address stored for it (the
address typed into the form only finds the account, in normal form and compared exactly).
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.no import fodselsnummer

from billing.services.audit import audit
from kundefaktura.accounts.emails import email_normalize
from kundefaktura.accounts.roles import is_customer_account
from offers import emails

from .models import BankIDLink, LoginLink, token_hash

log = logging.getLogger(__name__)


def login_link_recipients(*, email: str) -> list[tuple]:
    """(user, stored address) for every active customer account the address belongs to."""
    key = email_normalize(email)
    if not key:
        return []
    users = (get_user_model().objects.filter(Q(email=key) | Q(customer__email=key), is_active=True)
             .select_related("customer").distinct().order_by("pk"))
    found = []
    for user in users:
        if not is_customer_account(user):
            continue
        customer = getattr(user, "customer", None)
        stored = user.email if user.email == key else (customer.email if customer else "")
        if stored:
            found.append((user, stored))
    return found


def login_link_send(*, email: str, requested_ip: str | None = None) -> int:
    """Send a one-time login link to each customer account of `email`; how many were sent."""
    sent = 0
    for user, stored in login_link_recipients(email=email):
        token = secrets.token_urlsafe(32)
        with transaction.atomic():
            LoginLink.objects.create(user=user, token_hash=token_hash(token), requested_ip=requested_ip,
                                     expires_at=timezone.now() + timedelta(seconds=settings.PORTAL_LOGIN_LINK_MAX_AGE))
            url = settings.SITE_URL + reverse("portal:login_link_confirm", args=[token])
            emails.login_link_email_queue(user=user, to=stored, url=url)
        sent += 1
    return sent


# --- BankID links ---------------------------------------------------------------------------------

class BankIDLinkError(Exception):
    """The BankID identity cannot be linked to this account (the message says why, for the customer)."""


def _looks_like_identity_number(sub: str) -> bool:
    return fodselsnummer.is_valid(sub)


def bankid_link_for(identity):
    """The active customer account linked to this verified identity (issuer and sub), or None."""
    if _looks_like_identity_number(identity.sub):
        # A provider that puts the national identity number in `sub` is misconfigured for us: we would
        # have to store it. Nobody logs in until it sends a pseudonymous sub (docs/security.md).
        log.error("OIDC provider sends an identity number as sub; refusing (configure a pseudonymous sub)")
        return None
    link = (BankIDLink.objects.filter(issuer=identity.issuer, sub=identity.sub, user__is_active=True)
            .select_related("user").first())
    if link is None or not is_customer_account(link.user):
        return None
    BankIDLink.objects.filter(pk=link.pk).update(last_login_at=timezone.now())
    return link


@transaction.atomic
def bankid_connect(*, user, identity, via: str, ip: str | None = None) -> BankIDLink:
    """Link a verified BankID identity to the customer account `user` (who has just proved control of
    it by an authenticated session or the offer e-mail's one-time link). The same link again is a
    no-op; another identity on a linked account, or an identity linked to another account, is refused."""
    if _looks_like_identity_number(identity.sub):
        log.error("OIDC provider sends an identity number as sub; refusing (configure a pseudonymous sub)")
        raise BankIDLinkError(_("BankID-innloggingen er ikke satt opp riktig hos nettselskapet. Prøv igjen senere."))
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    existing = BankIDLink.objects.filter(user=user).first()
    if existing:
        if (existing.issuer, existing.sub) == (identity.issuer, identity.sub):
            return existing
        raise BankIDLinkError(_("Kontoen din er allerede koblet til en annen BankID. Koble den fra først "
                                "hvis du vil bruke denne."))
    if BankIDLink.objects.filter(issuer=identity.issuer, sub=identity.sub).exists():
        raise BankIDLinkError(_("Denne BankID-en er allerede koblet til en annen kundekonto. Kontakt "
                                "nettselskapet hvis det er feil."))
    try:
        with transaction.atomic():  # another account linking the same sub at this moment: the unique key decides
            link = BankIDLink.objects.create(user=user, issuer=identity.issuer, sub=identity.sub,
                                             acr=identity.acr[:200], linked_via=via, linked_ip=ip)
    except IntegrityError as exc:
        raise BankIDLinkError(_("Denne BankID-en er allerede koblet til en annen kundekonto. Kontakt "
                                "nettselskapet hvis det er feil.")) from exc
    audit(action="portal.bankid.connected", by=user,
          data={"issuer": identity.issuer, "sub": identity.sub, "acr": identity.acr, "via": via, "ip": ip or ""})
    return link


@transaction.atomic
def bankid_disconnect(*, user, ip: str | None = None) -> bool:
    """Remove the account's BankID link (audited). False when there was none."""
    link = BankIDLink.objects.select_for_update().filter(user=user).first()
    if link is None:
        return False
    data = {"issuer": link.issuer, "sub": link.sub, "ip": ip or ""}
    link.delete()
    audit(action="portal.bankid.disconnected", by=user, data=data)
    return True
