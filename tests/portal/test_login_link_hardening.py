"""Who can get in by e-mail: only customer accounts, only through the stored address, and a new
password needs the current one unless a login link was used minutes ago."""

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from kundefaktura.accounts.roles import CASEWORKER, CUSTOMER, INSTALLER
from portal.models import LoginLink
from tests.conftest import TEST_PASSWORD, postgres_ping, require_service
from tests.support.cache import fresh_rate_limits  # noqa: F401 - autouse fixture
from tests.support.factories import customer_basis

pytestmark = pytest.mark.django_db

KARI = "kari.nordmann@gmail.com"
NEW_PASSWORD = "fjell-og-fjord-2026"


@pytest.fixture
def kari(make_user, company):
    user = make_user(CUSTOMER, username="kari", first_name="Kari", last_name="Nordmann", email=KARI)
    customer_basis(user, email=KARI, name="Kari Nordmann")
    mail.outbox.clear()
    return user


def _request_link(client, email, capture):
    with capture(execute=True):
        return client.post(reverse("portal:login_link"), {"email": email})


def _link_path(message):
    url = re.search(r"https?://\S+/portal/innlogging/lenke/\S+/", message.body)[0]
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _log_in_with_link(client, email, capture):
    _request_link(client, email, capture)
    response = client.post(_link_path(mail.outbox[-1]))
    assert response.status_code == 302
    return response


def test_dotless_i_lookalike_address_gets_no_link_on_postgresql(client, kari, django_capture_on_commit_callbacks):
    require_service("PostgreSQL", postgres_ping)
    response = _request_link(client, "kari.nordmann@gma\u0131l.com", django_capture_on_commit_callbacks)
    assert response.status_code == 200 and "sendt" in response.content.decode().lower()
    assert mail.outbox == [], "neither the look-alike address nor Kari gets anything"
    assert not LoginLink.objects.exists()


def test_link_goes_to_the_stored_address_not_the_typed_one(client, kari, django_capture_on_commit_callbacks):
    # A full-width "ｇ" is the same address in normal form: the account is found, but the link goes
    # only to the address stored for it.
    _request_link(client, "  Kari.Nordmann@\uff47mail.com ", django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [[KARI]]


@pytest.mark.parametrize("kind", ["superuser", CASEWORKER, INSTALLER, "staff"])
def test_no_login_link_for_staff_or_superusers(client, make_user, company, kind, django_capture_on_commit_callbacks):
    require_service("PostgreSQL", postgres_ping)
    if kind == "superuser":
        get_user_model().objects.create_superuser("admin", "admin@example.com", TEST_PASSWORD)
    elif kind == "staff":  # a customer account that is also staff is still not a plain customer
        make_user(CUSTOMER, username="admin", email="admin@example.com", is_staff=True)
    else:
        make_user(kind, username="admin", email="admin@example.com")
    known = _request_link(client, "admin@example.com", django_capture_on_commit_callbacks)
    unknown = _request_link(client, "nobody@example.com", django_capture_on_commit_callbacks)
    assert known.status_code == unknown.status_code == 200
    assert known.content.decode().count("sendt") == unknown.content.decode().count("sendt")
    assert mail.outbox == [] and not LoginLink.objects.exists()


def test_old_login_link_or_set_password_link_of_a_superuser_does_not_log_in(client, db):
    from portal.models import token_hash

    admin = get_user_model().objects.create_superuser("admin", "admin@example.com", TEST_PASSWORD)
    LoginLink.objects.create(user=admin, token_hash=token_hash("gammel-lenke"),
                             expires_at=timezone.now() + dt.timedelta(minutes=5))
    path = reverse("portal:login_link_confirm", args=["gammel-lenke"])
    assert client.get(path).status_code == 410
    assert client.post(path).status_code == 410
    url = reverse("portal:set_password", args=[urlsafe_base64_encode(force_bytes(admin.pk)),
                                               default_token_generator.make_token(admin)])
    assert client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}).status_code == 410
    assert "_auth_user_id" not in client.session
    admin.refresh_from_db()
    assert admin.check_password(TEST_PASSWORD)


def test_password_change_needs_the_current_password(customer_client, customer_user):
    url = reverse("portal:password_change")
    assert "Nåværende passord" in customer_client.get(url).content.decode() or \
        "old_password" in customer_client.get(url).content.decode()
    refused = customer_client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert refused.status_code == 200
    customer_user.refresh_from_db()
    assert customer_user.check_password(TEST_PASSWORD)
    wrong = customer_client.post(url, {"old_password": "feil-passord", "new_password1": NEW_PASSWORD,
                                       "new_password2": NEW_PASSWORD})
    assert wrong.status_code == 200
    ok = customer_client.post(url, {"old_password": TEST_PASSWORD, "new_password1": NEW_PASSWORD,
                                    "new_password2": NEW_PASSWORD})
    assert ok.status_code == 302
    customer_user.refresh_from_db()
    assert customer_user.check_password(NEW_PASSWORD)


def test_password_change_without_current_password_right_after_a_login_link(
        client, kari, django_capture_on_commit_callbacks):
    _log_in_with_link(client, KARI, django_capture_on_commit_callbacks)
    response = client.post(reverse("portal:password_change"),
                           {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    kari.refresh_from_db()
    assert kari.check_password(NEW_PASSWORD)
    assert client.get(reverse("portal:home")).status_code == 200  # still logged in


def test_password_change_without_current_password_refused_later_after_a_login_link(
        client, kari, settings, django_capture_on_commit_callbacks):
    _log_in_with_link(client, KARI, django_capture_on_commit_callbacks)
    later = timezone.now() + dt.timedelta(seconds=settings.PORTAL_PASSWORD_CHANGE_WINDOW + 60)
    with time_machine.travel(later, tick=False):
        response = client.post(reverse("portal:password_change"),
                               {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 200
    kari.refresh_from_db()
    assert not kari.check_password(NEW_PASSWORD)


# --- the form takes one path; the task looks up and sends ------------------------------------------


def test_login_link_form_does_the_same_database_work_for_known_and_unknown_addresses(
        client, kari, django_capture_on_commit_callbacks):
    url = reverse("portal:login_link")
    counts = []
    for email in (KARI, "nobody@example.com"):
        with CaptureQueriesContext(connection) as queries, \
                django_capture_on_commit_callbacks(execute=False) as callbacks:
            assert client.post(url, {"email": email}).status_code == 200
        counts.append((len(queries), len(callbacks)))
    assert counts[0] == counts[1] and counts[0][1] == 1  # one queued task either way
    assert mail.outbox == []  # nothing is sent by the request itself


def test_login_link_task_sends_only_to_a_customer_account(kari, caseworker, django_capture_on_commit_callbacks):
    from portal import tasks

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.login_link_send.delay(caseworker.email).get() == 0
        assert tasks.login_link_send.delay("nobody@example.com").get() == 0
        assert tasks.login_link_send.delay(KARI.upper()).get() == 1
    assert [m.to for m in mail.outbox] == [[KARI]]


# --- addresses: one normal form, unique --------------------------------------------------------------


def test_user_addresses_are_stored_in_normal_form_and_unique(make_user):
    from django.db import IntegrityError, transaction

    user = make_user(CASEWORKER, username="sara2", email="  Sara.Saksbehandler@Example.COM ")
    user.refresh_from_db()
    assert user.email == "sara.saksbehandler@example.com"
    with pytest.raises(IntegrityError), transaction.atomic():
        make_user(CASEWORKER, username="sara3", email="SARA.saksbehandler@example.com")


def test_normalising_migration_reports_collisions_and_merges_nothing(make_user, company, capsys):
    import importlib

    from billing.models import Customer

    migration = importlib.import_module("kundefaktura.accounts.migrations.0003_email_normal_form")
    User = get_user_model()
    staff_a = make_user(CASEWORKER, username="a", email="x@example.com")
    staff_b = make_user(CASEWORKER, username="b", email="y@example.com")
    portal = make_user(CUSTOMER, username="p", email="z@example.com")
    customer_basis(portal, email="per@example.com", send=False)
    lone = make_user(CUSTOMER, username="lone", email="w@example.com")
    # rows as an older version stored them (the model now normalises on save)
    User.objects.filter(pk=staff_a.pk).update(email="Ola@Example.com")
    User.objects.filter(pk=staff_b.pk).update(email="OLA@example.com")
    User.objects.filter(pk=portal.pk).update(email="Per@Example.com")
    Customer.objects.filter(user=portal).update(email="Per@Example.com")
    User.objects.filter(pk=lone.pk).update(email=" Lone@Example.COM")
    make_user(CASEWORKER, username="per-staff", email="per@example.com")

    from django.apps import apps
    migration.normalize_addresses(apps, None)

    emails = dict(User.objects.values_list("username", "email"))
    assert emails["a"] == "Ola@Example.com" and emails["b"] == "OLA@example.com"  # left, reported
    assert emails["lone"] == "lone@example.com"
    assert emails["per-staff"] == "per@example.com" and emails["p"] == ""  # found through the customer
    assert Customer.objects.get(user=portal).email == "per@example.com"
    out = capsys.readouterr().out
    assert "'ola@example.com'" in out and "'per@example.com'" in out
    assert User.objects.count() == 5  # nothing merged
