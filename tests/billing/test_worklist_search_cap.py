"""A search counts its matches up to a cap (billing/selectors/worklist.py, SEARCH_COUNT_CAP) and then says
"more than": the chips lose their numbers, the list pages through the first matches in the chosen order,
and every row shown is a real match in the right place. The same on PostgreSQL and on the portable path."""

import pytest

from billing import selectors, services
from billing.selectors import worklist as worklist_selectors
from billing.selectors.worklist import WorklistFilters
from tests.support.factories import make_basis

pytestmark = pytest.mark.django_db

CAP = 4


@pytest.fixture(autouse=True)
def small_cap(monkeypatch):
    monkeypatch.setattr(worklist_selectors, "SEARCH_COUNT_CAP", CAP)


@pytest.fixture(params=["database", "portable"])
def path(request, monkeypatch):
    if request.param == "portable":
        monkeypatch.setattr(worklist_selectors, "_postgres", lambda: False)
    return request.param


@pytest.fixture
def bases(caseworker, company):
    """Seven bases on Fjellveien (two with an offer out), two elsewhere; created oldest first."""
    made = [make_basis(by=caseworker, title=f"Tilknytning {k}", site_street=f"Fjellveien {k}") for k in range(7)]
    made += [make_basis(by=caseworker, title="Annet", site_street="Strandgaten 1") for _ in range(2)]
    for basis in made[:2]:
        basis.status = "offer_sent"
        basis.save(update_fields=["status"])
    return made


def page(**kw):
    per_page = kw.pop("per_page", 2)
    number = kw.pop("page", None)
    return selectors.worklist_page(user=None, filters=WorklistFilters(**kw), per_page=per_page, page=number)


def test_more_matches_than_the_cap_are_not_counted(bases, path):
    fjell = bases[:7]
    first = page(q="fjellveien")
    assert first.capped and not first.counted and first.counts == {}
    assert first.count == CAP and first.cap == CAP
    assert first.num_pages == 2  # the first CAP matches, two per page
    newest = [b.pk for b in reversed(fjell)]
    assert [r.pk for r in first.rows] == newest[:2]
    assert [r.pk for r in page(q="fjellveien", page="2").rows] == newest[2:4]
    assert [r.pk for r in page(q="fjellveien", page="99").rows] == newest[2:4]  # past the cap: the last page
    assert [r.pk for r in page(q="fjellveien", sort="created").rows] == [b.pk for b in fjell[:2]]


def test_up_to_the_cap_a_search_counts_exactly(bases, path):
    other = page(q="strandgaten")
    assert not other.capped and other.counted and other.count == 2
    assert other.counts["draft"] == 2 and other.cap == CAP
    plain = page()  # no search: no cap
    assert plain.counted and plain.count == 9 and plain.cap is None and not plain.capped


def test_a_status_under_the_cap_is_counted_exactly_within_a_capped_search(bases, path):
    offers = page(q="fjellveien", status="offer_sent", per_page=50)
    assert not offers.counted  # the chips: the search as a whole is over the cap
    assert not offers.capped and offers.count == 2
    assert {r.pk for r in offers.rows} == {b.pk for b in bases[:2]}
    drafts = page(q="fjellveien", status="draft", per_page=50)
    assert drafts.capped and drafts.count == CAP  # five drafts match
    assert [r.pk for r in drafts.rows] == [b.pk for b in reversed(bases[2:7])][:CAP]


def test_the_page_says_more_than_and_shows_no_status_numbers(bases, client, caseworker):
    client.force_login(caseworker)
    html = client.get("/arbeid/?q=fjellveien").content.decode()
    assert 'id="search-capped"' in html
    assert f"Mer enn {CAP} grunnlag" in html
    assert f'<span class="count">{CAP}+</span>' in html
    assert html.count('<span class="count">') == 1  # "Alle" only
    exact = client.get("/arbeid/?q=strandgaten").content.decode()
    assert 'id="search-capped"' not in exact and "2 grunnlag" in exact


def test_a_basis_changed_into_the_search_shows_up(bases, path, caseworker):
    services.basis_update(basis=bases[8], by=caseworker, site_street="Fjellveien 99")
    assert page(q="fjellveien").rows[0].pk == bases[8].pk  # the newest basis, now a match
