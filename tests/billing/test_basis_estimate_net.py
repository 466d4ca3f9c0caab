"""The work list's stored net estimate (billing/migrations/0014_basis_estimate_net.py) is the sum of each
basis' estimate lines, whatever is done to the lines and in whatever order: added through the services or
in bulk, edited, moved to another basis or phase, deleted, truncated. The work list shows it."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import selectors, services
from billing.models import CostLine, InvoiceBasis
from billing.selectors.worklist import WorklistFilters
from tests.support.factories import add_line, make_basis

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stored_columns")]


def stored() -> dict[int, Decimal]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, estimate_net FROM billing_invoicebasis")
        return dict(cursor.fetchall())


def summed() -> dict[int, Decimal]:
    sums = dict(CostLine.objects.filter(phase=CostLine.Phase.ESTIMATE).values_list("basis")
                .annotate(s=Sum("amount")).order_by())
    return {pk: sums.get(pk, Decimal("0")) for pk in InvoiceBasis.objects.values_list("pk", flat=True)}


def test_the_sum_follows_the_services_and_the_work_list_shows_it(caseworker, company):
    basis = make_basis(by=caseworker)
    assert stored()[basis.pk] == 0
    first = add_line(basis, caseworker, quantity="2", unit_price="100.50")
    add_line(basis, caseworker, quantity="1", unit_price="0.01")
    assert stored()[basis.pk] == Decimal("201.01") == summed()[basis.pk]
    services.line_update(line=first, by=caseworker, quantity=Decimal("3"))
    assert stored()[basis.pk] == Decimal("301.51")
    services.line_remove(line=first, by=caseworker)
    assert stored()[basis.pk] == Decimal("0.01")
    row = next(r for r in selectors.worklist_page(user=None, filters=WorklistFilters()).rows if r.pk == basis.pk)
    assert row.net_total == Decimal("0.01") and str(row.net_total) == "0.01"


def test_bulk_writes_moves_and_phases(caseworker, company):
    a, b = make_basis(by=caseworker), make_basis(by=caseworker)
    template = add_line(a, caseworker, unit_price="10.00")
    CostLine.objects.bulk_create([CostLine(basis=b, category=template.category, vat_code=template.vat_code,
                                           description=f"Linje {i}", quantity=Decimal("1"),
                                           unit_price=Decimal("99999999999.99"), amount=Decimal("99999999999.99"))
                                  for i in range(500)])
    # More digits than one amount may have: the stored sum is exact, the insert never fails on it.
    assert stored()[b.pk] == Decimal("99999999999.99") * 500 == summed()[b.pk]
    CostLine.objects.filter(basis=b).update(basis=a)  # every line moved: both bases recomputed
    assert stored() == summed() and stored()[b.pk] == 0
    CostLine.objects.filter(basis=a, description__startswith="Linje").update(phase=CostLine.Phase.ACTUAL)
    assert stored()[a.pk] == Decimal("10.00") == summed()[a.pk]
    CostLine.objects.filter(pk=template.pk).update(invoice=None, description="Ny tekst")  # no sum touched
    assert stored() == summed()
    InvoiceBasis.objects.filter(pk=b.pk).delete()
    assert stored() == summed()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's transaction holds deferred checks
        cursor.execute("TRUNCATE billing_costline CASCADE")
    assert set(stored().values()) == {Decimal("0")}


OPERATIONS = st.lists(st.tuples(
    st.sampled_from(["add", "bulk", "amount", "phase", "move", "delete", "delete_all"]),
    st.integers(0, 2), st.integers(0, 2), st.decimals("-5000", "5000", places=2)), max_size=25)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(OPERATIONS)
def test_any_sequence_of_line_writes_keeps_every_sum(caseworker, company, operations):
    bases = [make_basis(by=caseworker) for _ in range(3)]
    template = add_line(bases[0], caseworker)

    def line(basis, amount, phase=CostLine.Phase.ESTIMATE):
        return CostLine(basis=basis, category=template.category, vat_code=template.vat_code, description="L",
                        quantity=Decimal("1"), unit_price=amount, amount=amount, phase=phase)

    for op, i, j, amount in operations:
        lines = CostLine.objects.filter(basis__in=bases)
        if op == "add":
            line(bases[i], amount).save()
        elif op == "bulk":
            CostLine.objects.bulk_create([line(bases[i], amount), line(bases[j], amount, CostLine.Phase.ACTUAL),
                                          line(bases[j], -amount)])
        elif op == "amount":
            lines.filter(basis=bases[i]).update(amount=amount)
        elif op == "phase":
            for ln in lines.filter(basis=bases[i])[:2]:
                ln.phase = CostLine.Phase.ACTUAL if ln.phase == CostLine.Phase.ESTIMATE else CostLine.Phase.ESTIMATE
                ln.save(update_fields=["phase"])
        elif op == "move":
            lines.filter(basis=bases[i], amount__gte=amount).update(basis=bases[j])
        elif op == "delete":
            lines.filter(basis=bases[i], amount__lt=amount).delete()
        else:
            lines.filter(basis=bases[i]).delete()
        assert stored() == summed()
    InvoiceBasis.objects.filter(pk__in=[b.pk for b in bases]).delete()
