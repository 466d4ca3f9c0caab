"""BankID login over OpenID Connect against a real provider on loopback (tests/support/oidc.py):
connect and log in, the refusals (state, replayed code, nonce, audience, expiry, unknown person), the
offer e-mail's one-time link, disconnect, the amount above which an acceptance needs BankID, and a
deployment without a provider."""

import base64
import datetime as dt
import hashlib
import json
import logging
from decimal import Decimal

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from billing import services
from billing.errors import StrongerLoginRequired
from billing.evidence import BANKID, PASSWORD, LoginEvidence, bankid_fresh
from billing.models import Acceptance, AuditEvent
from portal.models import BankIDLink
from portal.sessions import login_evidence
from tests.support.factories import add_line, customer_basis, example1_lines, make_basis, make_customer
from tests.support.oidc import ACR, configure, path_of, query_of
from tests.support.urlwalk import scan_html

pytestmark = pytest.mark.django_db

SUB = "c0ffee00-bank-id00-0000-000000000001"


def _clean_html(response) -> str:
    """The page has no inline script or style and every POST form carries the CSRF token."""
    html = response.content.decode()
    scan = scan_html(html)
    assert scan.problems == [] and scan.styles == [], (scan.problems, scan.styles)
    return html


def _start(client, url, data=None):
    response = client.post(url, data or {})
    assert response.status_code == 302, response.content[:300]
    return response["Location"]


def _finish(client, provider, authorize_url, sub=SUB):
    return client.get(path_of(provider.authenticate(authorize_url, sub)))


def _connect(client, provider, sub=SUB):
    return _finish(client, provider, _start(client, reverse("portal:bankid_connect")), sub)


def _refused(response, caplog, reason: str):
    """The portal refused: nobody is logged in, and the log names Authlib's reason."""
    assert response.status_code == 400
    assert "Innlogging med BankID mislyktes" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session
    assert reason in caplog.text, caplog.text


def test_connect_then_log_in_with_bankid(settings, oidc_provider, customer_client, customer_user):
    configure(settings, oidc_provider)
    oidc_provider.set_user(SUB)
    authorize_url = _start(customer_client, reverse("portal:bankid_connect"))
    params = query_of(authorize_url)
    assert params["client_id"] == "kundefaktura" and params["response_type"] == "code"
    assert params["code_challenge_method"] == "S256" and params["nonce"] and params["state"]
    assert params["prompt"] == "login" and params["max_age"] == "0"
    response = _finish(customer_client, oidc_provider, authorize_url)
    assert response.status_code == 302 and response["Location"] == reverse("portal:bankid")
    # PKCE: the token request carried the verifier of the challenge sent to the authorization endpoint.
    verifier = oidc_provider.token_endpoint.requests[-1]["code_verifier"]
    assert base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode() \
        == params["code_challenge"]
    link = BankIDLink.objects.get(user=customer_user)
    assert (link.issuer, link.sub, link.acr, link.linked_via) == (oidc_provider.issuer, SUB, ACR, "session")
    assert AuditEvent.objects.filter(action="portal.bankid.connected", actor_user=customer_user).exists()
    assert "Kontoen din er koblet til BankID" in _clean_html(customer_client.get(reverse("portal:bankid")))

    browser = Client()
    assert "Logg inn med BankID" in _clean_html(browser.get(reverse("login")))
    authorize_url = _start(browser, reverse("portal:bankid_login"))
    callback = oidc_provider.authenticate(authorize_url, SUB)
    response = browser.get(path_of(callback))
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    assert int(browser.session["_auth_user_id"]) == customer_user.pk
    evidence = login_evidence(browser.session)
    assert (evidence.method, evidence.acr, evidence.sub) == (BANKID, ACR, SUB)
    assert abs((timezone.now() - evidence.auth_time).total_seconds()) < 60
    assert browser.get(reverse("portal:home")).status_code == 200
    # The same callback again: its state was used up.
    browser.logout()
    assert browser.get(path_of(callback)).status_code == 400


def test_unknown_person_gets_an_explanation_and_no_account(settings, oidc_provider, caplog):
    configure(settings, oidc_provider)
    browser = Client()
    response = _finish(browser, oidc_provider, _start(browser, reverse("portal:bankid_login")), "stranger-1")
    page = _clean_html(response)
    assert response.status_code == 403
    assert "ikke koblet til noen kundekonto" in page and "Koble til BankID" in page
    assert "_auth_user_id" not in browser.session
    assert not BankIDLink.objects.exists()


def test_state_mismatch_is_refused(settings, oidc_provider, customer_user, caplog):
    configure(settings, oidc_provider)
    BankIDLink.objects.create(user=customer_user, issuer=oidc_provider.issuer, sub=SUB, linked_via="session")
    browser = Client()
    callback = oidc_provider.authenticate(_start(browser, reverse("portal:bankid_login")), SUB)
    forged = path_of(callback).replace("state=", "state=x")
    with caplog.at_level(logging.WARNING, logger="portal.oidc"):
        _refused(browser.get(forged), caplog, "MismatchingStateError")


def test_replayed_code_is_refused_by_the_provider(settings, oidc_provider, customer_user, caplog):
    configure(settings, oidc_provider)
    BankIDLink.objects.create(user=customer_user, issuer=oidc_provider.issuer, sub=SUB, linked_via="session")
    attacker = Client()
    first = oidc_provider.authenticate(_start(attacker, reverse("portal:bankid_login")), SUB)
    assert attacker.get(path_of(first)).status_code == 302  # the code worked once
    attacker.logout()
    second = _start(attacker, reverse("portal:bankid_login"))
    replay = f"{reverse('portal:bankid_callback')}?code={query_of(first)['code']}&state={query_of(second)['state']}"
    with caplog.at_level(logging.WARNING, logger="portal.oidc"):
        _refused(attacker.get(replay), caplog, "invalid_grant")


def test_id_token_with_another_flows_nonce_is_refused(settings, oidc_provider, customer_user, caplog):
    configure(settings, oidc_provider)
    BankIDLink.objects.create(user=customer_user, issuer=oidc_provider.issuer, sub=SUB, linked_via="session")
    earlier = Client()
    assert _finish(earlier, oidc_provider, _start(earlier, reverse("portal:bankid_login"))).status_code == 302
    oidc_provider.token_endpoint.substitute = oidc_provider.token_endpoint.answers[-1]  # a genuine old token
    browser = Client()
    with caplog.at_level(logging.WARNING, logger="portal.oidc"):
        _refused(_finish(browser, oidc_provider, _start(browser, reverse("portal:bankid_login"))), caplog, "nonce")


def test_id_token_for_another_client_is_refused(settings, oidc_provider, customer_user, caplog):
    configure(settings, oidc_provider)
    BankIDLink.objects.create(user=customer_user, issuer=oidc_provider.issuer, sub=SUB, linked_via="session")
    browser = Client()
    authorize_url = _start(browser, reverse("portal:bankid_login"))
    # Same provider, same person, even the same nonce — but issued to another relying party.
    other = oidc_provider.direct_code_flow(client_id="other-app", nonce=query_of(authorize_url)["nonce"], sub=SUB)
    assert json.loads(other)["id_token"]
    oidc_provider.token_endpoint.substitute = other
    with caplog.at_level(logging.WARNING, logger="portal.oidc"):
        _refused(_finish(browser, oidc_provider, authorize_url), caplog, "aud")


def test_expired_id_token_is_refused(settings, expired_token_provider, customer_user, caplog):
    configure(settings, expired_token_provider)
    BankIDLink.objects.create(user=customer_user, issuer=expired_token_provider.issuer, sub=SUB,
                              linked_via="session")
    browser = Client()
    with caplog.at_level(logging.WARNING, logger="portal.oidc"):
        _refused(_finish(browser, expired_token_provider, _start(browser, reverse("portal:bankid_login"))),
                 caplog, "expired")


def test_offer_email_link_connects_once_and_disconnect_is_audited(settings, oidc_provider, customer_user):
    configure(settings, oidc_provider)
    uid, token = urlsafe_base64_encode(force_bytes(customer_user.pk)), default_token_generator.make_token(customer_user)
    set_password = reverse("portal:set_password", args=[uid, token])
    browser = Client()
    assert "Koble til BankID og logg inn" in _clean_html(browser.get(set_password))
    response = _finish(browser, oidc_provider,
                       _start(browser, reverse("portal:bankid_connect_by_link", args=[uid, token])), "sub-by-link")
    assert response.status_code == 302 and int(browser.session["_auth_user_id"]) == customer_user.pk
    assert BankIDLink.objects.get(user=customer_user).linked_via == "link"
    assert Client().get(set_password).status_code == 410  # the link is used up
    assert Client().post(reverse("portal:bankid_connect_by_link", args=[uid, token])).status_code == 410

    assert browser.post(reverse("portal:bankid")).status_code == 302
    assert not BankIDLink.objects.exists()
    event = AuditEvent.objects.get(action="portal.bankid.disconnected")
    assert (event.actor_user, event.data["sub"]) == (customer_user, "sub-by-link")
    again = Client()
    assert _finish(again, oidc_provider, _start(again, reverse("portal:bankid_login")),
                   "sub-by-link").status_code == 403


def test_offer_above_the_amount_needs_a_recent_bankid(settings, oidc_provider, company, customer_client,
                                                      customer_user, caseworker_client):
    configure(settings, oidc_provider, above=Decimal("50000"))
    oidc_provider.set_user(SUB)
    basis = customer_basis(customer_user)  # 58 892,90 kr
    offer = services.current_offer(basis)
    page_url = reverse("portal:basis", args=[basis.pk])
    page = _clean_html(customer_client.get(page_url))
    assert "Bekreft med BankID" in page and "Aksepter tilbudet</button>" not in page
    accept = {"offer_version": offer.version, "terms_read": "on"}
    response = customer_client.post(reverse("portal:accept", args=[basis.pk]), accept, follow=True)
    assert "du må bekrefte med BankID" in response.content.decode()
    assert not Acceptance.objects.exists()
    # The service refuses on its own, whatever the page showed.
    for evidence in (None, LoginEvidence(method=PASSWORD),
                     LoginEvidence(method=BANKID, acr=ACR, sub=SUB,
                                   auth_time=timezone.now() - dt.timedelta(minutes=16))):
        with pytest.raises(StrongerLoginRequired):
            services.offer_accept(basis=basis, by=customer_user, offer=offer, evidence=evidence)

    response = _finish(customer_client, oidc_provider,
                       _start(customer_client, reverse("portal:bankid_confirm"), {"next": page_url}))
    assert response.status_code == 302 and response["Location"] == page_url
    assert "Aksepter tilbudet</button>" in customer_client.get(page_url).content.decode()
    assert customer_client.post(reverse("portal:accept", args=[basis.pk]), accept).status_code == 302
    acceptance = Acceptance.objects.get(basis=basis)
    assert (acceptance.login_method, acceptance.auth_acr, acceptance.auth_sub) == (BANKID, ACR, SUB)
    assert abs((timezone.now() - acceptance.auth_time).total_seconds()) < 60
    basis_page = caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk])).content.decode()
    assert "BankID" in basis_page and ACR in basis_page


def test_change_notice_above_the_amount_needs_bankid_to_accept_not_to_decline(settings, company, caseworker,
                                                                              customer_user):
    settings.OIDC_ISSUER, settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET = "https://idp.example", "c", "s"
    settings.ACCEPTANCE_BANKID_ABOVE = Decimal("1000")
    basis = customer_basis(customer_user)
    services.offer_accept(basis=basis, by=customer_user,
                          evidence=LoginEvidence(method=BANKID, acr=ACR, sub=SUB, auth_time=timezone.now()))
    add_line(basis, caseworker, category="meter_work", description="Ekstra målerskap", unit_price="2500.00")
    notice = services.change_notice_send(basis=basis, by=caseworker)
    with pytest.raises(StrongerLoginRequired):
        services.change_notice_answer(notice=notice, by=customer_user, decision="accepted",
                                      evidence=LoginEvidence(method=PASSWORD))
    fresh = LoginEvidence(method=BANKID, acr=ACR, sub=SUB, auth_time=timezone.now())
    notice = services.change_notice_answer(notice=notice, by=customer_user, decision="accepted", evidence=fresh)
    assert (notice.answer_login_method, notice.answer_auth_acr, notice.answer_auth_sub) == (BANKID, ACR, SUB)


def test_password_and_link_logins_are_recorded_and_staff_answers_are_marked(company, customer_client,
                                                                           customer_user, caseworker):
    basis = customer_basis(customer_user)
    offer = services.current_offer(basis)
    customer_client.post(reverse("portal:accept", args=[basis.pk]), {"offer_version": offer.version, "terms_read": "on"})
    assert Acceptance.objects.get(basis=basis).login_method == PASSWORD
    phone = make_basis(customer=make_customer(name="Per Telefon"))
    example1_lines(phone)
    services.offer_send(basis=phone, by=caseworker)
    assert services.offer_accept(basis=phone, by=caseworker, channel="phone", note="Telefon").login_method == "staff"


def test_bankid_freshness_window(settings):
    settings.ACCEPTANCE_BANKID_MAX_AGE = 600
    now = timezone.now()
    ok = LoginEvidence(method=BANKID, sub=SUB, auth_time=now - dt.timedelta(seconds=599))
    assert bankid_fresh(ok, now=now)
    assert not bankid_fresh(LoginEvidence(method=BANKID, sub=SUB, auth_time=now - dt.timedelta(seconds=601)), now=now)
    assert not bankid_fresh(LoginEvidence(method=BANKID, sub=SUB, auth_time=now + dt.timedelta(minutes=5)), now=now)
    assert not bankid_fresh(LoginEvidence(method=PASSWORD, sub=SUB, auth_time=now), now=now)


def test_without_a_provider_nothing_is_offered_or_reachable(settings, customer_client, customer_user, company):
    settings.OIDC_ISSUER = settings.OIDC_CLIENT_ID = settings.OIDC_CLIENT_SECRET = ""
    settings.ACCEPTANCE_BANKID_ABOVE = Decimal("1")  # no provider: no requirement either
    assert "BankID" not in Client().get(reverse("login")).content.decode()
    basis = customer_basis(customer_user)
    assert "BankID" not in customer_client.get(reverse("portal:basis", args=[basis.pk])).content.decode()
    uid, token = urlsafe_base64_encode(force_bytes(customer_user.pk)), default_token_generator.make_token(customer_user)
    assert "BankID" not in Client().get(reverse("portal:set_password", args=[uid, token])).content.decode()
    for name, args in [("bankid", []), ("bankid_login", []), ("bankid_connect", []), ("bankid_confirm", []),
                       ("bankid_callback", []), ("bankid_connect_by_link", [uid, token])]:
        url = reverse(f"portal:{name}", args=args)
        assert customer_client.get(url).status_code == 404, url
        assert customer_client.post(url).status_code == 404, url
        for response in (Client().get(url), Client().post(url)):  # anonymous: 404, or the login page first
            assert response.status_code == 404 or response["Location"].startswith(reverse("login")), url
    offer = services.current_offer(basis)
    services.offer_accept(basis=basis, by=customer_user, offer=offer, evidence=LoginEvidence(method=PASSWORD))


def test_a_bankid_belongs_to_one_account_and_step_up_needs_the_linked_one(settings, oidc_provider, customer_client,
                                                                          customer_user, other_customer_user):
    configure(settings, oidc_provider)
    BankIDLink.objects.create(user=customer_user, issuer=oidc_provider.issuer, sub=SUB, linked_via="session")
    ola = Client()
    ola.force_login(other_customer_user, backend="django.contrib.auth.backends.ModelBackend")
    response = _connect(ola, oidc_provider, SUB)  # Kari's BankID on Ola's account
    assert response.status_code == 409 and "allerede koblet til en annen kundekonto" in response.content.decode()
    assert not BankIDLink.objects.filter(user=other_customer_user).exists()
    # Kari confirms with somebody else's BankID: refused, the session gets no BankID evidence.
    response = _finish(customer_client, oidc_provider,
                       _start(customer_client, reverse("portal:bankid_confirm"), {"next": reverse("portal:home")}),
                       "someone-else")
    assert response.status_code == 403 and "en annen BankID" in response.content.decode()
    assert login_evidence(customer_client.session).method == PASSWORD


def test_two_flows_in_two_tabs_keep_their_own_purpose(settings, oidc_provider, customer_client, customer_user):
    configure(settings, oidc_provider)
    connect = _start(customer_client, reverse("portal:bankid_connect"))
    confirm = _start(customer_client, reverse("portal:bankid_confirm"), {"next": reverse("portal:invoices")})
    assert _finish(customer_client, oidc_provider, connect)["Location"] == reverse("portal:bankid")
    assert _finish(customer_client, oidc_provider, confirm)["Location"] == reverse("portal:invoices")
