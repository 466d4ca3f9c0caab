"""The work list's filters, chips and table are served again while the database snapshot stands
(kundefaktura.pagecache): nothing stale after a write, every user gets their own CSRF token, and what
depends on the user is keyed by the user. Needs committed data (no test transaction), so PostgreSQL."""

import re

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing import services
from billing.models import InvoiceBasis
from kundefaktura import pagecache
from kundefaktura.accounts.roles import CASEWORKER
from tests.support.factories import add_line, make_basis

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

URL = "/arbeid/"


@pytest.fixture(autouse=True)
def _empty_page_cache():
    assert connection.vendor == "postgresql", "the snapshot cache is PostgreSQL's"
    caches["pages"].clear()
    yield
    caches["pages"].clear()


def _client(user, **kw):
    client = Client(**kw)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _basis_queries(client, url=URL, **params):
    """(response, number of queries that touched invoice bases)"""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return response, sum("billing_invoicebasis" in q["sql"] for q in ctx.captured_queries)


def test_second_request_under_the_same_snapshot_is_served_without_querying(caseworker, company):
    """The snapshot is the whole cluster's: a test running in parallel (pytest-xdist) may commit between
    two requests and rightly force a fresh render. So the pair is repeated until one falls in a quiet
    moment — the snapshot unchanged from before the first request to after the second — and that pair
    must have been served from the cache."""
    make_basis(by=caseworker, title="Hyttetilknytning Fjellveien")
    client = _client(caseworker)
    first, queried = _basis_queries(client)
    assert queried >= 1 and "Hyttetilknytning Fjellveien" in first.content.decode()  # a render reads the bases (one query)
    for _ in range(50):
        before = pagecache.db_snapshot()
        _basis_queries(client)
        second, queried = _basis_queries(client)
        if pagecache.db_snapshot() == before:
            break
    else:
        pytest.fail("the database never stood still for two requests")
    assert queried == 0, "served from the snapshot cache"
    assert second.content.decode().count("Hyttetilknytning Fjellveien") == 1


def test_a_committed_write_is_shown_at_once(caseworker, company):
    basis = make_basis(by=caseworker, title="Gammel tittel")
    client = _client(caseworker)
    assert "Gammel tittel" in client.get(URL).content.decode()
    services.basis_update(basis=basis, by=caseworker, title="Ny tittel")
    page = client.get(URL).content.decode()
    assert "Ny tittel" in page and "Gammel tittel" not in page
    add_line(basis, caseworker, unit_price="123.45")
    assert "123,45" in client.get(URL).content.decode(), "a new line moves the snapshot too"
    # an unrelated write (a user logging in elsewhere) also moves the snapshot: conservative
    snapshot = pagecache.db_snapshot()
    InvoiceBasis.objects.filter(pk=basis.pk).update(title="Direkte endret")
    assert pagecache.db_snapshot() != snapshot
    assert "Direkte endret" in client.get(URL).content.decode()


def test_parameters_are_part_of_the_key(caseworker, company):
    make_basis(by=caseworker, title="Alfa sak")
    make_basis(by=caseworker, title="Beta sak")
    client = _client(caseworker)
    client.get(URL)
    page = client.get(URL, {"q": "Beta"}).content.decode()
    assert "Beta sak" in page and "Alfa sak" not in page
    page = client.get(URL, {"q": "Alfa"}).content.decode()
    assert "Alfa sak" in page and "Beta sak" not in page


def test_each_user_gets_their_own_csrf_token_and_the_bulk_form_works(make_user, company):
    sara = make_user(CASEWORKER, username="sara")
    per = make_user(CASEWORKER, username="per")
    basis = make_basis(by=sara, title="Send meg")
    add_line(basis, sara)
    clients = {u.username: _client(u, enforce_csrf_checks=True) for u in (sara, per)}
    tokens = {}
    for name, client in clients.items():
        page = client.get(URL).content.decode()
        assert pagecache.CSRF_PLACEHOLDER not in page
        tokens[name] = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert tokens["sara"] != tokens["per"]
    response = clients["per"].post(reverse("billing:bulk_send_offers"),
                                   {"ids": [basis.pk], "csrfmiddlewaretoken": tokens["per"]})
    assert response.status_code == 302, "the token in a cached page is the requesting user's own"


def test_mine_filter_is_keyed_by_user(make_user, company):
    sara = make_user(CASEWORKER, username="sara")
    per = make_user(CASEWORKER, username="per")
    make_basis(by=sara, title="Saras sak")
    make_basis(by=per, title="Pers sak")
    sara_page = _client(sara).get(URL, {"mine": "on"}).content.decode()
    per_page = _client(per).get(URL, {"mine": "on"}).content.decode()
    assert "Saras sak" in sara_page and "Pers sak" not in sara_page
    assert "Pers sak" in per_page and "Saras sak" not in per_page


def test_htmx_partial_and_full_page_are_cached_apart(caseworker, company):
    make_basis(by=caseworker, title="Delvis side")
    client = _client(caseworker)
    full = client.get(URL).content.decode()
    partial = client.get(URL, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results").content.decode()
    assert "<html" in full and "<html" not in partial
    assert partial.lstrip().startswith('<div id="results">') and "Delvis side" in partial
    assert "<html" in client.get(URL).content.decode()


def test_switched_off_by_setting(caseworker, company, settings):
    settings.PAGE_CACHE_ENABLED = False
    make_basis(by=caseworker, title="Uten cache")
    client = _client(caseworker)
    client.get(URL)
    _, queried = _basis_queries(client)
    assert queried >= 1, "rendered every time"  # a render reads the bases in one query
    assert pagecache.db_snapshot() is None
