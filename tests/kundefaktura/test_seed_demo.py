"""`manage.py seed_demo`: the demo a newcomer logs into after `make run`."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from kundefaktura.accounts.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

LANDING = {"saksbehandler": "/arbeid/", "kunde": "/portal/", "installator": "/installator/"}


def seed(capsys) -> str:
    call_command("seed_demo")
    return capsys.readouterr().out


def user_actions(output: str) -> dict[str, str]:
    """{"saksbehandler": "opprettet", ...} from the per-user lines the command prints."""
    return dict(re.findall(r"^\s+(saksbehandler|kunde|installator|admin)\s+\S+\s+(\w+)$", output, re.M))


def test_seed_demo_is_idempotent_and_prints_the_password(capsys):
    User = get_user_model()
    first = seed(capsys)
    snapshot = sorted(User.objects.values_list("id", "username", "password", "is_superuser"))
    groups = sorted(User.objects.values_list("username", "groups__name"))
    second = seed(capsys)

    assert DEMO_PASSWORD in first and DEMO_PASSWORD in second
    assert set(user_actions(first).values()) == {"opprettet"}
    assert user_actions(second) == dict.fromkeys(("saksbehandler", "kunde", "installator", "admin"),
                                                 "uendret")
    assert sorted(User.objects.values_list("id", "username", "password", "is_superuser")) == snapshot
    assert sorted(User.objects.values_list("username", "groups__name")) == groups
    assert {u for _, u, _, _ in snapshot} >= {"saksbehandler", "kunde", "installator", "admin"}


@pytest.mark.parametrize("username", LANDING)
def test_demo_users_log_in_and_land_on_their_page(capsys, username):
    seed(capsys)
    seed(capsys)
    client = Client()
    response = client.post("/login/", {"username": username, "password": DEMO_PASSWORD}, follow=True)
    assert response.status_code == 200
    assert response.wsgi_request.path == LANDING[username]


def test_demo_admin_reaches_the_admin(capsys):
    seed(capsys)
    client = Client()
    response = client.post("/login/", {"username": "admin", "password": DEMO_PASSWORD}, follow=True)
    assert response.status_code == 200
    assert response.context["user"].is_superuser
    assert client.get("/admin/").status_code == 200


def test_seed_demo_repairs_a_changed_password_and_role(capsys):
    from kundefaktura.accounts.roles import INSTALLER
    from kundefaktura.accounts.services import user_assign_role

    seed(capsys)
    user = get_user_model().objects.get(username="kunde")
    user.set_password("noe-annet-helt")
    user.save()
    user_assign_role(user=user, role=INSTALLER)
    out = seed(capsys)
    assert user_actions(out)["kunde"] == "oppdatert"
    assert user_actions(out)["saksbehandler"] == "uendret"
    user.refresh_from_db()
    assert user.check_password(DEMO_PASSWORD)
    assert user.role == "customer"


def test_seed_demo_refuses_production_without_force(settings):
    settings.DEBUG = False
    settings.TESTING = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")
    assert not get_user_model().objects.filter(username="saksbehandler").exists()


def test_demo_data_shows_every_role_something(capsys):
    """After seed_demo each demo user has something to look at: bases in several statuses for the case
    worker, the customer's own bases in the portal, the installer's related cases with work release."""
    from billing.models import InvoiceBasis
    from billing.status import Status
    from integrations.models import RelatedCase

    seed(capsys)
    seed(capsys)
    statuses = set(InvoiceBasis.objects.values_list("status", flat=True))
    assert statuses == set(Status)  # every status the README's tour promises, declined and expired too
    assert RelatedCase.objects.filter(installer__users__username="installator").count() == 4
    client = Client()
    client.post("/login/", {"username": "installator", "password": DEMO_PASSWORD})
    page = client.get("/installator/").content.decode()
    assert "NM-2026-10411" in page and "FG-2026" in page
    client = Client()
    client.post("/login/", {"username": "kunde", "password": DEMO_PASSWORD})
    assert "Se tilbudet" in client.get("/portal/").content.decode()


def test_demo_customer_has_its_own_valid_orgnr(capsys):
    from billing.models import CompanyProfile, Customer
    from billing.norwegian import orgnr_valid

    seed(capsys)
    seller = CompanyProfile.objects.get().orgnr
    customer = Customer.objects.get(name="Vestbygg AS")
    assert orgnr_valid(customer.orgnr)
    assert customer.orgnr != seller
    client = Client()
    client.post("/login/", {"username": "saksbehandler", "password": DEMO_PASSWORD})
    page = client.get("/arbeid/?status=declined").content.decode()
    assert "Effektøkning, Fjellveien 9" in page
