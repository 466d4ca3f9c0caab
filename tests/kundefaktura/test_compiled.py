"""Querysets compiled once (kundefaktura/compiled.py) answer exactly what the ORM answers: the same rows in
the same order, the same field values, the same related rows from select_related, the same annotations;
every compiled query of the application is held to its ORM twin here, also for ids that are someone
else's or do not exist. The basis page's and the offer page's related sets, loaded through compiled SQL
for one row (kundefaktura/related.py), are those prefetch_related loads."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Prefetch, prefetch_related_objects
from django.test.utils import CaptureQueriesContext

from billing import selectors, services
from billing.models import Acceptance, CostLine, InvoiceBasis
from billing.selectors import totals
from billing.selectors.worklist import BASIS_PAGE_RELATIONS
from kundefaktura.accounts import backends
from kundefaktura.compiled import CompileError, compiled
from portal import selectors as portal_selectors
from tests.support.factories import accepted_basis, add_line, customer_basis, make_basis

pytestmark = pytest.mark.django_db


def state(obj, depth=2):
    """What a model instance holds: its field values, and (to `depth`) the related rows in its cache."""
    if obj is None:
        return None
    values = {k: v for k, v in obj.__dict__.items() if not k.startswith("_")}
    related = {name: state(other, depth - 1) if depth else repr(other)
               for name, other in obj._state.fields_cache.items()} if depth else {}
    return type(obj), values, related, obj._state.db, obj._state.adding


def states(rows):
    return [state(r) for r in rows]


def test_a_compiled_query_answers_as_the_orm_for_any_ids(caseworker, company):
    basis = accepted_basis(by=caseworker)
    other = make_basis(by=caseworker)
    add_line(other, caseworker, unit_price="12.34")

    def build(basis_id):
        return (CostLine.objects.filter(basis=basis_id).select_related("category", "vat_code", "basis__customer")
                .order_by("-position", "id"))

    lines = compiled(build)
    for pk in (basis.pk, other.pk, 0, 10**12):
        assert states(lines(pk)) == states(build(pk))
    assert len(lines(basis.pk)) == 5 and lines(basis.pk)[0].basis.customer.name == basis.customer.name


def test_several_arguments_reach_their_own_places(caseworker, company):
    first, second = make_basis(by=caseworker), make_basis(by=caseworker)

    def build(a, b):
        return InvoiceBasis.objects.filter(pk__gte=a, pk__lte=b).exclude(pk=a).order_by("pk")

    between = compiled(build)
    assert [b.pk for b in between(first.pk, second.pk)] == [second.pk]
    assert [b.pk for b in between(second.pk, first.pk)] == []
    assert states(between(first.pk - 1, second.pk)) == states(build(first.pk - 1, second.pk))


def test_the_sql_is_built_once_and_the_query_counted(caseworker, company):
    basis = make_basis(by=caseworker)
    calls = []

    def build(pk):
        calls.append(pk)
        return InvoiceBasis.objects.filter(pk=pk)

    one = compiled(build)
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            assert one(basis.pk)[0].pk == basis.pk
        assert len(queries) == 1
    assert len(calls) == 1 and calls[0] < 0  # built once, with a placeholder id


def test_a_value_that_is_not_an_id_goes_through_the_orm(caseworker, company):
    basis = make_basis(by=caseworker)

    def build(pk):
        return InvoiceBasis.objects.filter(pk=pk)

    one = compiled(build)
    assert [b.pk for b in one(str(basis.pk))] == [basis.pk]  # as the ORM takes it
    with pytest.raises(ValueError):
        one("not a number")
    assert one.plans == {}


@pytest.mark.parametrize("build", [
    lambda pk: InvoiceBasis.objects.filter(pk=pk).values("pk"),
    lambda pk: InvoiceBasis.objects.filter(pk=pk).prefetch_related("lines"),
    lambda pk: InvoiceBasis.objects.filter(title=str(pk)),  # the id does not reach the SQL as a parameter
    lambda pk: InvoiceBasis.objects.filter(pk=pk, id__gt=pk + 1),  # a value computed from it
    lambda pk: InvoiceBasis.objects.filter(pk=pk, title__contains=f"FG-{pk}"),  # a text holding it
    lambda pk: InvoiceBasis.objects.filter(pk=pk).extra(where=[f"id <> {pk}"]),  # written into the SQL
    lambda pk: InvoiceBasis.objects.filter(lines__position=pk),  # a positive field: no query for a placeholder
])
def test_what_cannot_be_rerun_is_refused_at_once(build, caseworker, company):
    with pytest.raises(CompileError):
        compiled(build)(1)


def test_the_session_user_is_the_orm_user_with_permissions(caseworker, customer_user, company):
    customer_basis(customer_user)
    backend = backends.ModelBackend()
    for user in (caseworker, customer_user):
        loaded = backend.get_user(user.pk)
        assert loaded.pk == user.pk and loaded.get_all_permissions() == backend.get_all_permissions(
            type(user).objects.get(pk=user.pk))
        assert state(loaded) == state(type(user).objects.select_related("customer").get(pk=user.pk))
    assert backend.get_user(10**12) is None
    assert backend.get_user(customer_user.pk).customer.user_id == customer_user.pk


def test_no_user_sees_no_basis(customer_user, company):
    from django.contrib.auth.models import AnonymousUser

    own = customer_basis(customer_user)
    own.customer.user = None  # a basis of a customer without a portal user: still no one else's
    own.customer.save(update_fields=["user"])
    with pytest.raises(Exception) as refused:
        portal_selectors.basis_for_user(AnonymousUser(), own.pk)
    assert refused.typename == "Http404"


def test_the_portal_basis_is_only_the_customers_own(customer_user, make_user, company):
    own = customer_basis(customer_user)
    stranger = make_user("customer", username="fremmed")
    foreign = customer_basis(stranger)
    for for_page in (False, True):
        assert portal_selectors.basis_for_user(customer_user, own.pk, for_page=for_page).pk == own.pk
        for pk in (foreign.pk, 10**12):
            with pytest.raises(Exception) as refused:
                portal_selectors.basis_for_user(customer_user, pk, for_page=for_page)
            assert refused.typename == "Http404"


def test_the_newest_offer_and_the_offer_lines_are_the_orms(caseworker, company):
    basis = accepted_basis(by=caseworker)
    fresh = InvoiceBasis.objects.get(pk=basis.pk)
    offer = totals.current_offer(fresh)
    assert state(offer, 0) == state(fresh.offers.filter(kind="offer").order_by("-version").first(), 0)
    assert offer.basis is fresh  # as through the related manager: no query for it
    lines = totals.offer_lines(fresh)
    expected = list(fresh.lines.filter(phase=CostLine.Phase.ESTIMATE, is_change=False)
                    .select_related("category", "vat_code").order_by("position", "id"))
    assert [state(ln, 1)[1] for ln in lines] == [state(ln, 1)[1] for ln in expected]
    assert all(ln.basis is fresh and ln.category.code and ln.vat_code.code for ln in lines)
    assert totals.current_offer(make_basis(by=caseworker)) is None
    answer = (Acceptance.objects.filter(basis=basis, decision="accepted").select_related("offer")
              .order_by("-at", "-pk").first())
    assert state(totals.accepted_offer(fresh), 0) == state(answer.offer, 0)
    assert totals.accepted_offer(make_basis(by=caseworker)) is None


def _prefetched(basis_pk):
    """The basis page's relations as prefetch_related loads them."""
    basis = InvoiceBasis.objects.get(pk=basis_pk)
    prefetch_related_objects([basis], *[lookup() if callable(lookup) else Prefetch(lookup)
                                        for lookup in BASIS_PAGE_RELATIONS.values()])
    return basis


def test_the_basis_pages_sets_are_those_prefetch_loads(caseworker, company):
    basis = accepted_basis(by=caseworker)
    invoice = next(i for i in services.invoices_issue(basis=basis, by=caseworker) if i.number is not None)
    services.payment_register(invoice=invoice, by=caseworker, amount=Decimal("100.00"), method="manual")
    page = selectors.basis_detail(basis.pk)
    expected = _prefetched(basis.pk)
    for name in BASIS_PAGE_RELATIONS:
        got, want = list(getattr(page, name).all()), list(getattr(expected, name).all())
        assert [type(r) for r in got] == [type(r) for r in want], name
        added = {"credited", "outstanding"}  # what basis_detail works out for each invoice
        assert ([{k: v for k, v in state(r, 1)[1].items() if k not in added} for r in got]
                == [state(r, 1)[1] for r in want]), name
        # The related rows prefetch leaves cached are cached here too (basis_detail adds a line's category,
        # VAT code and invoice).
        assert all(g._state.fields_cache.keys() >= w._state.fields_cache.keys() for g, w in zip(got, want, strict=True)), name
        field = page._meta.get_field(name).field
        assert all(field.get_cached_value(r) is page for r in got), name  # the link back, as prefetch sets it
    assert len(page.lines.all()) == 5 and page.invoices.all() and page.events.all() and page.offers.all()
    with CaptureQueriesContext(connection) as queries:
        list(page.lines.all()), list(page.offers.all()), list(page.events.all())
    assert len(queries) == 0
    # A related manager's other questions still ask the database about this basis alone.
    assert page.lines.filter(phase=CostLine.Phase.ESTIMATE).count() == 5
