"""Behind the TLS proxy every request comes from the proxy's address: the lockout and the rate limits
must count the client (TRUSTED_PROXY_COUNT), and nobody may choose their own address."""

import re

import pytest
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse

from kundefaktura.clientip import client_ip
from tests.conftest import REPO_ROOT, TEST_PASSWORD
from tests.support.cache import fresh_rate_limits  # noqa: F401 - autouse fixture
from tests.support.factories import customer_basis

PROXY = "10.0.0.2"
A, B = "198.51.100.10", "203.0.113.20"


def behind_proxy(ip, spoofed=""):
    """A client as the app sees it behind one proxy: the proxy appends the address it saw."""
    forwarded = f"{spoofed}, {ip}" if spoofed else ip
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)


@pytest.fixture
def one_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 5
    return settings


def _ip(settings, count, remote, forwarded=None):
    settings.TRUSTED_PROXY_COUNT = count
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **meta))


def test_client_ip_takes_the_entry_the_trusted_proxies_wrote(settings):
    assert _ip(settings, 0, PROXY, "1.2.3.4") == PROXY  # no proxy: the header is the client's own text
    assert _ip(settings, 1, PROXY, A) == A
    assert _ip(settings, 1, PROXY, f"1.2.3.4, 5.6.7.8, {A}") == A  # entries the client wrote are ignored
    assert _ip(settings, 2, PROXY, f"1.2.3.4, {A}, 10.0.0.1") == A
    assert _ip(settings, 2, PROXY, A) == PROXY  # did not pass both proxies
    assert _ip(settings, 1, PROXY, "not-an-ip") == PROXY
    assert _ip(settings, 1, PROXY, "") == PROXY


@pytest.mark.django_db
def test_wrong_passwords_from_one_client_do_not_lock_out_another(caseworker, one_proxy):
    attacker = behind_proxy(A)
    statuses = [attacker.post("/login/", {"username": caseworker.username, "password": "feil"}).status_code
                for _ in range(5)]
    assert statuses[-1] == 429
    case_worker = behind_proxy(B)
    response = case_worker.post("/login/", {"username": caseworker.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert "_auth_user_id" in case_worker.session


@pytest.mark.django_db
def test_a_spoofed_forwarded_for_does_not_let_the_attacker_choose_its_address(caseworker, one_proxy):
    statuses = [behind_proxy(A, spoofed=f"192.0.2.{i}").post(
        "/login/", {"username": caseworker.username, "password": "feil"}).status_code for i in range(6)]
    assert statuses[-2:] == [429, 429], "a new made-up X-Forwarded-For entry is not a new client"
    from axes.models import AccessAttempt

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {A}


@pytest.mark.django_db
def test_bogus_login_link_tokens_from_one_client_do_not_block_anothers_valid_link(
        customer_user, company, one_proxy, django_capture_on_commit_callbacks):
    customer_basis(customer_user)
    mail.outbox.clear()
    attacker = behind_proxy(A)
    statuses = [attacker.post(reverse("portal:login_link_confirm", args=[f"feil-{i}"])).status_code
                for i in range(6)]
    assert statuses[-1] == 429
    kari = behind_proxy(B)
    with django_capture_on_commit_callbacks(execute=True):
        kari.post(reverse("portal:login_link"), {"email": customer_user.email})
    url = re.search(r"https?://\S+/portal/innlogging/lenke/\S+/", mail.outbox[-1].body)[0]
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    assert kari.get(path).status_code == 200
    response = kari.post(path)
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    assert kari.get(reverse("portal:home")).status_code == 200


@pytest.mark.django_db
def test_a_valid_login_link_works_even_from_an_address_others_share(
        customer_user, company, one_proxy, django_capture_on_commit_callbacks):
    """The link itself is the proof: failures of others behind the same address do not refuse it."""
    customer_basis(customer_user)
    mail.outbox.clear()
    for i in range(6):
        behind_proxy(A).post(reverse("portal:login_link_confirm", args=[f"feil-{i}"]))
    same_office = behind_proxy(A)
    with django_capture_on_commit_callbacks(execute=True):
        same_office.post(reverse("portal:login_link"), {"email": customer_user.email})
    url = re.search(r"https?://\S+/portal/innlogging/lenke/\S+/", mail.outbox[-1].body)[0]
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    assert same_office.post(path).status_code == 302
    assert same_office.get(reverse("portal:home")).status_code == 200
    assert behind_proxy(A).post(reverse("portal:login_link_confirm", args=["feil-x"])).status_code == 429


@pytest.mark.django_db
def test_acceptance_evidence_records_the_client_not_the_proxy(customer_user, company, one_proxy):
    from billing.models import Acceptance

    basis = customer_basis(customer_user)
    client = behind_proxy(A, spoofed="192.0.2.99")
    client.force_login(customer_user, backend="django.contrib.auth.backends.ModelBackend")
    offer = basis.offers.get()
    response = client.post(reverse("portal:accept", args=[basis.pk]),
                           {"offer_version": offer.version, "terms_read": "on"})
    assert response.status_code == 302
    assert Acceptance.objects.get().ip_address == A


def test_trusted_proxy_count_is_documented():
    doc = (REPO_ROOT / "docs" / "configuration.md").read_text()
    assert "TRUSTED_PROXY_COUNT" in doc
