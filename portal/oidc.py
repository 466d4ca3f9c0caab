"""The OpenID Connect provider for BankID, through Authlib's Django client: the discovery document,
the authorization code flow with PKCE (S256), state and nonce kept in the session, and the ID token's
signature (the provider's JWKS) and claims (iss, aud, exp, iat, nonce) verified by Authlib. Nothing here
reads a token by hand; this module only turns Authlib's verified claims into what the portal uses.

Configured by OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET; without them `enabled()` is False and
the portal neither offers nor answers any BankID URL (docs/security.md, docs/configuration.md)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.django_client import OAuth
from django.conf import settings
from django.utils import timezone
from joserfc.errors import JoseError

from billing.evidence import bankid_configured

log = logging.getLogger(__name__)

NAME = "bankid"


class LoginFailed(Exception):
    """The provider's answer was refused (state, code, signature or a claim): nobody is logged in."""


@dataclass(frozen=True)
class Identity:
    """The verified ID token's claims the portal uses."""

    issuer: str
    sub: str
    acr: str
    auth_time: dt.datetime


_clients: dict[tuple, object] = {}


def enabled() -> bool:
    return bankid_configured()


def _client():
    """One Authlib client per configuration (it caches the discovery document and the JWKS)."""
    key = (settings.OIDC_ISSUER, settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET, settings.OIDC_SCOPE)
    client = _clients.get(key)
    if client is None:
        oauth = OAuth()
        client = oauth.register(
            NAME, client_id=settings.OIDC_CLIENT_ID, client_secret=settings.OIDC_CLIENT_SECRET,
            server_metadata_url=settings.OIDC_ISSUER + "/.well-known/openid-configuration",
            client_kwargs={"scope": settings.OIDC_SCOPE, "code_challenge_method": "S256",
                           "default_timeout": settings.OIDC_HTTP_TIMEOUT})
        _clients[key] = client
    return client


def authorize_redirect(request, redirect_uri: str, *, fresh: bool = False):
    """Send the browser to the provider. `fresh`: ask for a new authentication now (prompt=login,
    max_age=0), not a single sign-on session at the provider."""
    params = {}
    if settings.OIDC_ACR_VALUES:
        params["acr_values"] = settings.OIDC_ACR_VALUES
    if fresh:
        params.update(prompt="login", max_age=0)
    client = _client()
    try:
        issuer = client.load_server_metadata().get("issuer")
    except (OAuthError, OSError, ValueError) as exc:  # discovery unreachable or broken
        log.warning("OIDC discovery failed: %s", exc)
        raise LoginFailed("discovery") from exc
    if issuer != settings.OIDC_ISSUER:  # the document must name the issuer it was fetched for
        log.warning("OIDC discovery names issuer %r, configured %r", issuer, settings.OIDC_ISSUER)
        raise LoginFailed("issuer")
    return client.authorize_redirect(request, redirect_uri, **params)


def identity_from_callback(request) -> Identity:
    """Exchange the code (with the PKCE verifier) and return the verified identity, or raise LoginFailed.

    Authlib refuses an unknown or reused state, an error from the provider, a code the provider does
    not accept (reused, expired, not this client's), a bad signature and a wrong iss, aud, exp, iat or
    nonce."""
    client = _client()
    try:
        # Authlib checks aud only through azp unless told: require our client id in aud, and the issuer.
        claims_options = {"iss": {"essential": True, "values": [settings.OIDC_ISSUER]},
                          "aud": {"essential": True, "values": [settings.OIDC_CLIENT_ID]}}
        token = client.authorize_access_token(request, leeway=settings.OIDC_CLOCK_SKEW,
                                              claims_options=claims_options)
    except (OAuthError, JoseError, OSError, ValueError, KeyError) as exc:
        log.warning("OIDC login refused: %s: %s", type(exc).__name__, exc)
        raise LoginFailed(str(exc) or type(exc).__name__) from exc
    claims = token.get("userinfo")
    if not claims or not claims.get("sub"):
        log.warning("OIDC login refused: no verified ID token")
        raise LoginFailed("no id_token")
    acr = str(claims.get("acr") or "")
    wanted = settings.OIDC_ACR_VALUES.split()
    if wanted and acr not in wanted:
        log.warning("OIDC login refused: acr %r not one of %r", acr, wanted)
        raise LoginFailed("acr")
    # auth_time when the provider sends it, else the token's issue time (the flow asked for a new login).
    at = claims.get("auth_time") or claims.get("iat")
    auth_time = dt.datetime.fromtimestamp(int(at), tz=dt.UTC) if at else timezone.now()
    return Identity(issuer=str(claims["iss"]), sub=str(claims["sub"]), acr=acr, auth_time=auth_time)
