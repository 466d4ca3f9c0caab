"""A real OpenID Connect provider on loopback for the BankID tests: oidc-provider-mock (a Flask app,
built on Authlib's server side) served by werkzeug in a thread on a free port.

The only test hook sits in front of its token endpoint (`TokenEndpoint`): it records what the client
sent and what the provider answered, and can hand back another genuine answer the same provider
gave earlier (a token for another flow or another client). It never builds or signs a token, so
whatever is refused is refused by the portal's verification (Authlib), not by the test.
"""

from __future__ import annotations

import io
import threading
import warnings
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import authlib.deprecate  # noqa: F401  (it turns its own warnings to "always" when imported)
import pytest
import requests
import werkzeug.serving

with warnings.catch_warnings():  # the mock still imports Authlib's deprecated jose and httpx modules
    warnings.simplefilter("ignore", DeprecationWarning)
    import oidc_provider_mock

ACR = "urn:grn:authn:no:bankid:substantial"


class TokenEndpoint:
    """WSGI wrapper of the provider: records token requests/answers; `substitute` replaces the next answer."""

    def __init__(self, app):
        self.app = app
        self.requests: list[dict] = []
        self.answers: list[bytes] = []
        self.substitute: bytes | None = None

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != "/oauth2/token" or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        self.requests.append({k: v[0] for k, v in parse_qs(body.decode()).items()})
        environ["wsgi.input"] = io.BytesIO(body)
        seen = {}

        def capture(status, headers, exc_info=None):
            seen["status"], seen["headers"] = status, headers
            return lambda data: None

        answer = b"".join(self.app(environ, capture))
        self.answers.append(answer)
        if self.substitute is not None and seen["status"].startswith("200"):
            answer, self.substitute = self.substitute, None
        headers = [(k, v) for k, v in seen["headers"] if k.lower() != "content-length"]
        start_response(seen["status"], headers + [("Content-Length", str(len(answer)))])
        return [answer]

class Provider:
    def __init__(self, server, endpoint: TokenEndpoint):
        self.server = server
        self.token_endpoint = endpoint
        self.issuer = f"http://127.0.0.1:{server.server_port}"

    def set_user(self, sub: str, **claims) -> None:
        response = requests.put(f"{self.issuer}/users/{sub}", json={"acr": ACR, **claims}, timeout=5)
        response.raise_for_status()

    def authenticate(self, authorize_url: str, sub: str) -> str:
        """What the person does on the provider's page: authenticate as `sub`. Returns the redirect back
        to the portal (the callback URL with code and state)."""
        assert authorize_url.startswith(self.issuer + "/oauth2/authorize?"), authorize_url
        response = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text[:500]
        return response.headers["Location"]

    def direct_code_flow(self, *, client_id: str, nonce: str, sub: str) -> bytes:
        """Another relying party's full code flow at this provider: its genuine token answer."""
        redirect_uri = "http://other-app.example/callback"
        query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                           "scope": "openid", "state": "other", "nonce": nonce})
        location = self.authenticate(f"{self.issuer}/oauth2/authorize?{query}", sub)
        code = parse_qs(urlsplit(location).query)["code"][0]
        requests.post(f"{self.issuer}/oauth2/token", timeout=5,
                      data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                            "client_id": client_id, "client_secret": "other-secret"}).raise_for_status()
        return self.token_endpoint.answers[-1]

@contextmanager
def run_provider(**options):
    app = oidc_provider_mock.app(require_nonce=True, **options)
    endpoint = TokenEndpoint(app.wsgi_app)
    app.wsgi_app = endpoint
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Provider(server, endpoint)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)

def configure(settings, provider: Provider, *, above=None, client_id="kundefaktura") -> None:
    """Point the portal at `provider` (the settings fixture undoes it after the test)."""
    from portal import oidc

    settings.OIDC_ISSUER = provider.issuer
    settings.OIDC_CLIENT_ID = client_id
    settings.OIDC_CLIENT_SECRET = "test-secret"
    settings.ACCEPTANCE_BANKID_ABOVE = above
    oidc._clients.clear()

@pytest.fixture(scope="module")
def oidc_provider():
    with run_provider() as provider:
        yield provider

@pytest.fixture(scope="module")
def expired_token_provider():
    """A provider whose ID tokens are already expired when issued (ten minutes, past any clock skew)."""
    with run_provider(access_token_max_age=timedelta(seconds=-600)) as provider:
        yield provider

def nonce_of(authorize_url: str) -> str:
    return parse_qs(urlsplit(authorize_url).query)["nonce"][0]

def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")

def query_of(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
