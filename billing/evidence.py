"""How the person answering an offer or a change notice had logged in, and the rule of when an answer
needs BankID (`ACCEPTANCE_BANKID_ABOVE`). The portal builds the evidence from the session; the
acceptance services (billing/services/offers.py, billing/services/changes.py) check the rule and store
the evidence on the answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

PASSWORD = "password"  # the name of a login method, not a secret  # nosec B105
LINK = "link"
BANKID = "bankid"
STAFF = "staff"


@dataclass(frozen=True)
class LoginEvidence:
    """`method` is one of PASSWORD, LINK, BANKID, STAFF; the rest only for BANKID (from the ID token)."""

    method: str
    acr: str = ""
    auth_time: dt.datetime | None = None
    sub: str = ""

    def as_fields(self, prefix: str = "") -> dict:
        """The model fields: `login_method`, `auth_acr`, … (with `prefix` for a change notice's answer)."""
        return {f"{prefix}login_method": self.method, f"{prefix}auth_acr": self.acr[:200],
                f"{prefix}auth_time": self.auth_time, f"{prefix}auth_sub": self.sub[:255]}


STAFF_EVIDENCE = LoginEvidence(method=STAFF)


def bankid_configured() -> bool:
    """An OpenID Connect provider for BankID is configured (OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET)."""
    return bool(settings.OIDC_ISSUER and settings.OIDC_CLIENT_ID and settings.OIDC_CLIENT_SECRET)


def bankid_threshold() -> Decimal | None:
    """The amount above which an answer needs BankID; None when BankID is not configured or no amount is."""
    above = getattr(settings, "ACCEPTANCE_BANKID_ABOVE", None)
    if above is None or above == "" or not bankid_configured():
        return None
    return Decimal(str(above))


def bankid_required(amount: Decimal) -> bool:
    threshold = bankid_threshold()
    return threshold is not None and Decimal(amount) > threshold


def bankid_fresh(evidence: LoginEvidence | None, *, now: dt.datetime | None = None) -> bool:
    """A BankID authentication no older than ACCEPTANCE_BANKID_MAX_AGE (and not in the future)."""
    if evidence is None or evidence.method != BANKID or not evidence.sub or evidence.auth_time is None:
        return False
    age = ((now or timezone.now()) - evidence.auth_time).total_seconds()
    return -settings.OIDC_CLOCK_SKEW <= age <= settings.ACCEPTANCE_BANKID_MAX_AGE


def bankid_refusal(amount: Decimal, evidence: LoginEvidence | None) -> str | None:
    """Why this answer may not be given with this evidence (None when it may)."""
    if not bankid_required(amount) or bankid_fresh(evidence):
        return None
    return _("Beløpet er over %(limit)s kr, så du må bekrefte med BankID (de siste %(minutes)d minuttene) "
             "før du aksepterer.") % {"limit": f"{bankid_threshold():,.0f}".replace(",", "\u00a0"),
                                       "minutes": settings.ACCEPTANCE_BANKID_MAX_AGE // 60}
