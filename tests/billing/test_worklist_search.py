"""The work list's search text (billing/migrations/0011_basis_search_text.py, kept by triggers) finds a
basis by every searched field, follows every change through the services (a customer's rename reaches
all its bases, a related case linked or unlinked), and treats hostile terms as plain text: LIKE wildcards,
backslashes, full-width and look-alike letters."""

import pytest
from django.db import connection

from billing import selectors, services
from billing.selectors import worklist as worklist_selectors
from billing.selectors.worklist import WorklistFilters
from integrations import services as integrations_services
from tests.support.factories import NO_CUSTOMER, make_basis, make_customer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stored_columns")]


def found(q, **filters) -> set[int]:
    page = selectors.worklist_page(user=None, filters=WorklistFilters(q=q, **filters), per_page=200)
    assert page.count == len(page.rows)
    return {row.pk for row in page.rows}


def stored(basis) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_text FROM billing_invoicebasis WHERE id = %s", [basis.pk])
        return cursor.fetchone()[0]


@pytest.fixture
def bases(caseworker, company):
    a = make_basis(by=caseworker, title="Ny tilknytning", reference="AO-77123",
                   customer=make_customer(name="Åse Østby", email="ase@example.no", orgnr="", kind="person"),
                   site_street="Østre Strandgate 12", site_postal_code="5003", site_city="Bergen",
                   metering_point_id="707057500012345671")
    b = make_basis(by=caseworker, title="Garasje med lader 50% rabatt_kode",
                   customer=make_customer(name="Fjordbygg AS", kind="organisation", orgnr="923609016",
                                          email="post@fjordbygg.no"),
                   site_street="Elvegata 3", site_city="Voss")
    c = make_basis(by=caseworker, title="Uten kunde C:\\mappe", customer=NO_CUSTOMER, site_street="Lia 1")
    return a, b, c


def test_every_searched_field_finds_the_basis(bases, caseworker):
    a, b, c = bases
    integrations_services.related_case_link(basis=b, by=caseworker, source="nettmelding", external_id="NM-2026-4711")
    for q in (a.number, "ao-77123", "tilknytning", "østre strandgate", "5003", "BERGEN", "12345671",
              "7070 5750 0012 3456 71", "åse østby", "ASE@EXAMPLE", "ØSTBY"):
        assert found(q) == {a.pk}, q
    for q in ("923609016", "fjordbygg.no", "nm-2026-4711", "voss"):
        assert found(q) == {b.pk}, q
    assert found("lia 1") == {c.pk}
    assert found("finnes ikke") == set()
    # the term is one substring of one field: it does not run across two fields
    assert found("bergen 707") == set()


def test_changes_through_the_services_reach_the_search_at_once(bases, caseworker):
    a, b, _c = bases
    services.basis_update(basis=a, by=caseworker, title="Flytting av stikkledning")
    assert found("stikkledning") == {a.pk} and found("ny tilknytning") == set()
    # a customer's rename reaches every basis of that customer
    second = make_basis(by=caseworker, title="Andre sak", customer=a.customer)
    services.customer_update(customer=a.customer, name="Åse Vik", email="vik@example.no")
    assert found("åse vik") == {a.pk, second.pk}
    assert found("østby") == set() and found("ase@example") == set()
    assert "åse vik" in stored(second)
    # a related case linked, then unlinked
    case, _created = integrations_services.related_case_link(basis=a, by=caseworker, source="work_order",
                                                             external_id="AO-555")
    assert found("ao-555") == {a.pk}
    integrations_services.related_case_unlink(basis=a, by=caseworker, case_id=case.pk)
    assert found("ao-555") == set()
    # the customer swapped on the basis
    services.basis_update(basis=b, by=caseworker, customer=a.customer)
    assert found("fjordbygg") == set() and b.pk in found("åse vik")


def test_hostile_terms_are_plain_text(bases):
    a, b, c = bases
    assert found("%") == {b.pk}                  # a literal per cent sign, not "anything"
    assert found("_") == {b.pk}                  # a literal underscore, not "any one character"
    assert found("50%") == {b.pk} and found("0%r") == set()
    assert found("rabatt_kode") == {b.pk} and found("rabattxkode") == set()
    assert found("\uff05") == {b.pk}             # full-width ％ is a per cent sign once normalised: still literal
    assert found("\uff3f") == {b.pk}             # full-width ＿ likewise
    assert found("c:\\mappe") == {c.pk} and found("\\") == {c.pk}
    assert found("ＢＥＲＧＥＮ") == {a.pk}           # full-width letters are the letters
    assert found("Вergen") == set()              # a Cyrillic В looks like B but is another letter
    assert found("bergen\u200b") == set()        # a zero-width space is not dropped into a match
    assert found("' OR 1=1 --") == set()
    assert found("%%%%") == set()


def test_search_combines_with_the_other_filters_and_counts_the_chips(bases, caseworker):
    a, b, _c = bases
    page = selectors.worklist_page(user=None, filters=WorklistFilters(q="e"), per_page=200)
    assert page.counts["draft"] == page.count == 3
    assert found("bergen", status="draft") == {a.pk}
    assert found("bergen", status="offer_sent") == set()


@pytest.mark.parametrize("filters", [
    dict(), dict(q="bergen"), dict(q="e", sort="customer"), dict(q="e", sort="-customer"), dict(status="draft"),
    dict(sort="number"), dict(sort="-title"), dict(q="%"), dict(q="7070 5750"), dict(overdue=True),
])
def test_the_portable_queries_give_the_same_page(bases, monkeypatch, filters):
    """Other databases (SQLite for `make run`) take the ORM path: on the same data it gives the same page."""
    fast = selectors.worklist_page(user=None, filters=WorklistFilters(**filters), per_page=2, page="2")
    monkeypatch.setattr(worklist_selectors, "_postgres", lambda: False)
    portable = selectors.worklist_page(user=None, filters=WorklistFilters(**filters), per_page=2, page="2")
    assert (portable.counts, portable.count, portable.number) == (fast.counts, fast.count, fast.number)
    assert portable.rows == fast.rows


def test_sorting_by_customer_follows_renames_and_customer_changes(bases, caseworker):
    a, b, c = bases  # customers "Åse Østby" and "Fjordbygg AS", c without a customer

    def order(sort):
        page = selectors.worklist_page(user=None, filters=WorklistFilters(sort=sort), per_page=200)
        return [row.pk for row in page.rows]

    assert order("customer") == [b.pk, a.pk, c.pk]    # no customer last (as PostgreSQL sorts NULL)
    assert order("-customer") == [c.pk, a.pk, b.pk]
    services.customer_update(customer=a.customer, name="Anne Aas")
    assert order("customer") == [a.pk, b.pk, c.pk]
    services.basis_update(basis=c, by=caseworker, customer=b.customer)
    assert order("customer") == [a.pk, c.pk, b.pk]  # the same name: the newest basis first
