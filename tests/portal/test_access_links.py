"""Getting in: set-password link from the offer e-mail, one-time login links, throttling."""

import datetime as dt
import re

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from kundefaktura.accounts.roles import CUSTOMER
from portal.models import LoginLink, token_hash
from tests.support.factories import customer_basis

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "fjell-og-fjord-2026"


def set_password_url(user):
    return reverse("portal:set_password", args=[urlsafe_base64_encode(force_bytes(user.pk)),
                                                default_token_generator.make_token(user)])


@pytest.fixture
def new_customer(make_user, company):
    """A portal user as the offer e-mail creates one: no usable password yet."""
    user = make_user(CUSTOMER, username="kari.nordmann@example.com", password=None, email="kari.nordmann@example.com")
    assert not user.has_usable_password()
    customer_basis(user, email="kari.nordmann@example.com")
    return user


def test_set_password_link_sets_password_logs_in_and_lands_on_portal(client, new_customer):
    url = set_password_url(new_customer)
    page = client.get(url).content.decode()
    assert "Velg passord" in page and "kari.nordmann@example.com" in page
    response = client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    home = client.get(response["Location"]).content.decode()
    assert "Mine saker" in home and "Tilbud sendt" in home
    new_customer.refresh_from_db()
    assert new_customer.check_password(NEW_PASSWORD)
    # the link is used up: the password (and last login) changed
    client.logout()
    again = client.get(url)
    assert again.status_code == 410
    assert "Send meg en ny lenke" in again.content.decode()


def test_set_password_applies_djangos_validators(client, new_customer):
    response = client.post(set_password_url(new_customer), {"new_password1": "kort", "new_password2": "kort"})
    assert response.status_code == 200
    assert "minst 10 tegn" in response.content.decode() or "too short" in response.content.decode()
    new_customer.refresh_from_db()
    assert not new_customer.has_usable_password()


def test_invalid_set_password_link_explains_and_offers_a_new_link(client, new_customer):
    response = client.get(reverse("portal:set_password", args=["MQ", "bogus-token"]))
    assert response.status_code == 410
    page = response.content.decode()
    assert "utløpt eller allerede brukt" in page and reverse("portal:login_link") in page


def _request_link(client, email, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("portal:login_link"), {"email": email})


def _link_from_mail():
    return re.search(r"https?://\S+/portal/innlogging/lenke/\S+/", mail.outbox[-1].body)[0]


def test_login_link_form_answers_the_same_whether_or_not_the_address_exists(
        client, customer_user, company, django_capture_on_commit_callbacks):
    customer_basis(customer_user)
    known = _request_link(client, "kari@example.com", django_capture_on_commit_callbacks)
    unknown = _request_link(client, "nobody@example.com", django_capture_on_commit_callbacks)
    assert known.status_code == unknown.status_code == 200
    def strip(response):  # the per-request CSRF tokens differ, nothing else may
        return re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', "", response.content.decode())

    assert strip(known) == strip(unknown)
    assert [m.to for m in mail.outbox] == [["kari@example.com"]]


def test_login_link_get_does_not_log_in_post_does_once(client, customer_user, company,
                                                      django_capture_on_commit_callbacks):
    customer_basis(customer_user)
    _request_link(client, "KARI@example.com", django_capture_on_commit_callbacks)
    link = _link_from_mail()
    token = link.rstrip("/").rsplit("/", 1)[-1]
    row = LoginLink.objects.get()
    assert row.token_hash == token_hash(token) and token not in row.token_hash  # only the hash is stored
    path = link.split("://", 1)[1].split("/", 1)[1]
    path = "/" + path
    # a mail scanner (or the customer) opens it: a confirm button, not a session
    page = client.get(path)
    assert page.status_code == 200 and "Logg inn" in page.content.decode()
    assert client.get(reverse("portal:home")).status_code == 302  # still anonymous
    response = client.post(path)
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    assert client.get(reverse("portal:home")).status_code == 200
    # single use
    client.logout()
    assert client.post(path).status_code == 410
    assert client.get(reverse("portal:home")).status_code == 302


def test_expired_login_link_does_not_work(client, customer_user, company, django_capture_on_commit_callbacks):
    customer_basis(customer_user)
    _request_link(client, "kari@example.com", django_capture_on_commit_callbacks)
    path = "/" + _link_from_mail().split("://", 1)[1].split("/", 1)[1]
    LoginLink.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.get(path)
    assert response.status_code == 410 and "utløpt eller allerede brukt" in response.content.decode()
    assert client.post(path).status_code == 410
    assert client.get(reverse("portal:home")).status_code == 302


def test_login_link_requests_are_throttled_per_address(client, customer_user, company, settings,
                                                       django_capture_on_commit_callbacks):
    from django.core.cache import cache

    cache.clear()
    settings.PORTAL_LOGIN_LINK_PER_HOUR = 2
    customer_basis(customer_user)
    for _ in range(4):
        assert _request_link(client, "kari@example.com", django_capture_on_commit_callbacks).status_code == 200
    assert len(mail.outbox) == 2


def test_repeated_bad_login_link_posts_are_locked_out_by_axes(client, db, settings):
    settings.AXES_FAILURE_LIMIT = 3
    url = reverse("portal:login_link_confirm", args=["not-a-real-token"])
    statuses = [client.post(url).status_code for _ in range(4)]
    assert statuses == [410, 410, 429, 429]  # the third failure reaches the limit


def test_login_page_links_to_the_login_link_form(client, db):
    page = client.get(reverse("login")).content.decode()
    assert "Send meg en innloggingslenke" in page and reverse("portal:login_link") in page
