"""How this session logged in: the evidence an acceptance records (billing/evidence.py).

Every login sets it (PASSWORD unless the view that logged in says otherwise: LINK for the e-mailed
login link and the offer e-mail's set-password link, BANKID after a verified ID token). A BankID
step-up in an already logged-in session replaces it with BANKID."""

from __future__ import annotations

import datetime as dt

from billing.evidence import BANKID, LINK, PASSWORD, LoginEvidence

SESSION_KEY = "portal_login_evidence"

__all__ = ["BANKID", "LINK", "PASSWORD", "LoginEvidence", "login_evidence", "remember_login"]


def remember_login(session, evidence: LoginEvidence) -> None:
    session[SESSION_KEY] = {
        "method": evidence.method, "acr": evidence.acr, "sub": evidence.sub,
        "auth_time": evidence.auth_time.timestamp() if evidence.auth_time else None,
    }


def login_evidence(session) -> LoginEvidence:
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict) or data.get("method") not in (PASSWORD, LINK, BANKID):
        return LoginEvidence(method="")
    at = data.get("auth_time")
    return LoginEvidence(method=data["method"], acr=str(data.get("acr") or ""), sub=str(data.get("sub") or ""),
                         auth_time=dt.datetime.fromtimestamp(at, tz=dt.UTC) if isinstance(at, (int, float)) else None)
