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
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from kundefaktura.accounts.emails import email_normalize
from kundefaktura.accounts.roles import is_customer_account
from offers import emails

from .models import LoginLink, token_hash

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
