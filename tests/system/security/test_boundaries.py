"""Security boundaries besides the URL walk: production settings, media never routed, hashed tokens,
axes on every login form, no national identity numbers, and no secrets or e-mail bodies in the logs."""

import json
import logging
import re

import pytest
from django.apps import apps
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.conftest import TEST_PASSWORD
from tests.support.settings_env import production_env, run_python

PROD_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
from django.core.management import call_command
from django.test import Client
call_command("collectstatic", interactive=False, verbosity=0)  # production serves the hashed manifest
response = Client(HTTP_HOST="kf.example.no", HTTP_X_FORWARDED_PROTO="https").get("/login/")
print(json.dumps({
    "session_secure": settings.SESSION_COOKIE_SECURE, "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "session_httponly": settings.SESSION_COOKIE_HTTPONLY, "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "hsts": settings.SECURE_HSTS_SECONDS, "debug": settings.DEBUG, "media_url": settings.MEDIA_URL,
    "csp": response.get("Content-Security-Policy", ""), "xfo": response.get("X-Frame-Options", ""),
    "nosniff": response.get("X-Content-Type-Options", ""), "status": response.status_code,
    "cookies": {k: {"secure": bool(v["secure"]), "httponly": bool(v["httponly"])}
                for k, v in response.cookies.items()},
}))
"""


def test_production_settings_send_secure_cookies_and_a_strict_csp(tmp_path):
    env = production_env()
    env["DATABASE_URL"] = "sqlite:///:memory:"  # the login page needs no table: sessions are lazy
    env["STATIC_ROOT"] = str(tmp_path / "static")
    proc = run_python(PROD_SETTINGS, **env)
    assert proc.returncode == 0, proc.stderr
    s = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (s["debug"], s["session_secure"], s["csrf_secure"], s["session_httponly"], s["ssl_redirect"]) == \
        (False, True, True, True, True)
    assert s["hsts"] >= 31536000
    assert s["status"] == 200
    assert s["cookies"]["csrftoken"] == {"secure": True, "httponly": True}
    directives = dict(d.strip().split(" ", 1) for d in s["csp"].split(";") if d.strip())
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["default-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in s["csp"]
    assert s["xfo"] == "DENY" and s["nosniff"] == "nosniff"


# --- files -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_media_is_never_served_by_url_only_through_permission_checked_views(world, customer_client, settings):
    from offers import documents

    documents.document_pdf_ensure("offer", world.ours.offer.pk)
    world.ours.offer.refresh_from_db()
    stored = world.ours.offer.pdf.name
    assert stored and (settings.MEDIA_ROOT / stored).exists()
    for prefix in ("/media/", "/var/media/", "/static/../var/media/", "/static/media/"):
        assert Client().get(prefix + stored).status_code == 404
        assert customer_client.get(prefix + stored).status_code == 404
    # Through the view: the owner gets the file, another customer 404 (the URL walk checks every view).
    own = customer_client.get(reverse("portal:offer_pdf", args=[world.ours.offer.pk]))
    assert own.status_code == 200 and own["Content-Type"] == "application/pdf"
    assert customer_client.get(reverse("portal:offer_pdf", args=[world.theirs.offer.pk])).status_code == 404
    assert Client().get(reverse("portal:offer_pdf", args=[world.ours.offer.pk])).status_code == 302


# --- tokens ------------------------------------------------------------------------------------------


def _all_text_in_database() -> str:
    """Every row of every table, as text (small test database)."""
    chunks = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            table = model._meta.db_table
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from our own models
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


@pytest.mark.django_db
def test_api_and_login_link_tokens_are_stored_only_as_hashes(company, customer_user, client,
                                                             django_capture_on_commit_callbacks):
    from integrations import services as integrations
    from tests.support.factories import customer_basis

    api_row, api_token = integrations.api_client_create(name="Nettmelding")
    with django_capture_on_commit_callbacks(execute=True):
        customer_basis(customer_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("portal:login_link"), {"email": customer_user.email})
    link_mail = next(m for m in mail.outbox if "/portal/innlogging/lenke/" in m.body)
    link_token = re.search(r"/portal/innlogging/lenke/([^/\s]+)/", link_mail.body).group(1)
    offer_mail = next(m for m in mail.outbox if "/portal/passord/" in m.body)
    set_password_path = re.search(r"/portal/passord/\S+/", offer_mail.body).group(0)
    everything = _all_text_in_database()
    assert api_token not in everything
    # The outbox keeps a copy of each e-mail, but once sent the copy no longer holds a working link.
    assert link_token not in everything and set_password_path not in everything
    assert "lenke fjernet etter sending" in everything
    assert len(api_row.token_hash) == 64 and api_token.startswith(api_row.token_prefix)
    # The token still works, which proves the hash is what is compared.
    assert integrations.api_client_authenticate(api_token) == api_row
    # Passwords: Django's hashers, never the password.
    assert TEST_PASSWORD not in everything


# --- axes on every login form ------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_form_locks_out_after_the_failure_limit(caseworker, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    statuses = [client.post("/login/", {"username": caseworker.username, "password": "feil"}).status_code
                for _ in range(3)]
    assert statuses == [200, 200, 429]
    locked = client.post("/login/", {"username": caseworker.username, "password": TEST_PASSWORD})
    assert locked.status_code == 429, "the right password does not help once locked out"
    assert "_auth_user_id" not in client.session
    assert "låst" in locked.content.decode().lower() or "sperret" in locked.content.decode().lower()


@pytest.mark.django_db
def test_admin_login_is_guarded_by_axes_too(caseworker, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    for _ in range(2):
        client.post("/admin/login/", {"username": caseworker.username, "password": "feil"})
    assert client.post("/admin/login/", {"username": caseworker.username, "password": "feil"}).status_code == 429


@pytest.mark.django_db
def test_set_password_link_locks_out_after_the_failure_limit(customer_user, settings):
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    settings.AXES_FAILURE_LIMIT = 3
    uid = urlsafe_base64_encode(force_bytes(customer_user.pk))
    client = Client()
    url = reverse("portal:set_password", args=[uid, "feil-token"])
    statuses = [client.post(url, {"new_password1": "x", "new_password2": "x"}).status_code for _ in range(4)]
    assert statuses[-1] == 429 and statuses[0] == 410


@pytest.mark.django_db
def test_login_link_confirm_locks_out_after_the_failure_limit(settings, db):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    url = reverse("portal:login_link_confirm", args=["feil-token"])
    assert [client.post(url).status_code for _ in range(3)] == [410, 429, 429]


# --- personal data -----------------------------------------------------------------------------------

NATIONAL_ID = re.compile(r"f(ø|o|oe)dsels|personn(ummer|r)|national.?id|ssn\b|social.?security|birth.?number|"
                         r"identitetsnummer|d-?nummer", re.I)


def test_no_model_field_looks_like_a_national_identity_number():
    suspicious = []
    for model in apps.get_models():
        for field in model._meta.get_fields():
            label = f"{getattr(field, 'name', '')} {getattr(field, 'verbose_name', '')} {getattr(field, 'help_text', '')}"
            if NATIONAL_ID.search(label):
                suspicious.append(f"{model._meta.label}.{field.name}")
    assert suspicious == []


@pytest.mark.django_db
def test_the_api_refuses_a_national_identity_number(company):
    from integrations import services as integrations
    from tests.support.api import basis_payload

    _, token = integrations.api_client_create(name="Nettmelding")
    fnr = "01017012345"
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    for payload in (basis_payload(fodselsnummer=fnr),
                    basis_payload(customer={**basis_payload()["customer"], "national_id": fnr}),
                    basis_payload(customer={**basis_payload()["customer"], "fodselsnummer": fnr})):
        response = client.post("/api/v1/invoice-bases", json.dumps(payload), content_type="application/json")
        assert response.status_code == 422, response.content
    assert fnr not in _all_text_in_database()


# --- logs --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_logs_carry_no_tokens_passwords_or_email_bodies(caplog, company, caseworker, customer_user, client,
                                                        django_capture_on_commit_callbacks):
    from billing import services
    from integrations import services as integrations
    from tests.support.api import basis_payload
    from tests.support.factories import example1_lines, make_basis, make_customer

    caplog.set_level(logging.DEBUG)
    # An offer e-mail (with the set-password link), a login link, an API call, a login, a webhook.
    customer = make_customer(email=customer_user.email)
    customer.user = customer_user
    customer.save(update_fields=["user"])
    basis = make_basis(customer=customer)
    example1_lines(basis)
    with django_capture_on_commit_callbacks(execute=True):
        services.offer_send(basis=basis, by=caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("portal:login_link"), {"email": customer_user.email})
    _, token = integrations.api_client_create(name="Nettmelding")
    Client(HTTP_AUTHORIZATION=f"Bearer {token}").post(
        "/api/v1/invoice-bases", json.dumps(basis_payload()), content_type="application/json")
    Client(HTTP_AUTHORIZATION="Bearer kf_ugyldig_hemmelig_token").get("/api/v1/invoice-bases/1")
    Client().post("/login/", {"username": caseworker.username, "password": TEST_PASSWORD})
    Client().post("/login/", {"username": caseworker.username, "password": "feil-passord-hemmelig"})
    Client().post("/portal/stripe/webhook/", b'{"id": "evt_1"}', content_type="application/json",
                  HTTP_STRIPE_SIGNATURE="t=1,v1=hemmelig-signatur")

    assert len(mail.outbox) >= 2
    secrets_ = [token, "kf_ugyldig_hemmelig_token", TEST_PASSWORD, "feil-passord-hemmelig", "hemmelig-signatur"]
    for message in mail.outbox:
        secrets_ += re.findall(r"/(?:lenke|passord)/[^\s]+", message.body)  # links with tokens
        secrets_ += [line for line in message.body.splitlines() if len(line) > 40]  # body text
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {getattr(r, 'exc_text', '') or ''}" for r in caplog.records)
    assert caplog.records, "nothing was logged at all: the test would prove nothing"
    leaked = [s for s in secrets_ if s and s in logged]
    assert leaked == []


@pytest.mark.django_db
def test_a_post_without_the_csrf_token_is_refused(caseworker, customer_user, world):
    for user, url in ((None, "/login/"), (caseworker, reverse("billing:basis_create")),
                      (customer_user, reverse("portal:accept", args=[world.ours.basis.pk]))):
        client = Client(enforce_csrf_checks=True)
        if user:
            client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        assert client.post(url, {"username": "x", "password": "y"}).status_code == 403, url
