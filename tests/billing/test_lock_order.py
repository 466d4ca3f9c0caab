"""Every service locks a basis before its lines (a line's write locks its basis too:
billing/migrations/0014_basis_estimate_net.py): editing a line, issuing an invoice and recomputing
shared-cost shares take their row locks in that order, so no two of them wait for each other in a circle."""

import re
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from billing import services
from billing.models import CostLine
from billing.services.locking import lock_line
from tests.support.factories import add_line, make_basis

pytestmark = pytest.mark.django_db


def locked_tables(queries) -> list[str]:
    """The tables of the FOR UPDATE statements, in the order they ran."""
    return [re.search(r'FROM "(\w+)"', q["sql"])[1] for q in queries if "FOR UPDATE" in q["sql"]
            or "FOR NO KEY UPDATE" in q["sql"]]


def test_editing_a_line_locks_its_basis_before_the_line(caseworker, company):
    basis = make_basis(by=caseworker)
    line = add_line(basis, caseworker)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked, locked_basis = lock_line(line)
    assert locked_tables(queries.captured_queries) == ["billing_invoicebasis", "billing_costline"]
    assert locked.pk == line.pk and locked.basis is locked_basis and locked_basis.pk == basis.pk
    services.line_update(line=line, by=caseworker, quantity=Decimal("2"))
    assert CostLine.objects.get(pk=line.pk).amount == Decimal("200.00")


def test_a_line_gone_meanwhile_is_not_found(caseworker, company):
    line = add_line(make_basis(by=caseworker), caseworker)
    CostLine.objects.filter(pk=line.pk).delete()
    with transaction.atomic(), pytest.raises(CostLine.DoesNotExist):
        lock_line(line)


def test_shared_cost_shares_lock_every_participants_basis_before_writing_share_lines(caseworker, company):
    shared, _ = services.shared_cost_create(
        by=caseworker, description="Nettstasjon 400 kVA", capacity=Decimal("400"), capacity_unit="kVA",
        allocation="ordered_capacity", lines=[{"category": "transformer_delivery", "description": "Transformator",
                                               "quantity": "1", "unit_price": "100000.00"}])
    first, second = make_basis(by=caseworker), make_basis(by=caseworker)
    services.shared_cost_add_participant(shared_cost=shared, basis=second, capacity=Decimal("40"), by=caseworker)
    with CaptureQueriesContext(connection) as queries:  # both shares are rewritten
        services.shared_cost_add_participant(shared_cost=shared, basis=first, capacity=Decimal("40"), by=caseworker)
    sql = [q["sql"] for q in queries.captured_queries]
    bases_locked = next(i for i, q in enumerate(sql) if "FOR UPDATE" in q and 'FROM "billing_invoicebasis"' in q
                        and " IN (" in q)
    first_line_write = next(i for i, q in enumerate(sql) if re.match(r'(INSERT INTO|UPDATE) "billing_costline"', q))
    assert bases_locked < first_line_write
    assert CostLine.objects.filter(source=CostLine.Source.SHARED_COST, basis__in=[first, second]).count() == 2
