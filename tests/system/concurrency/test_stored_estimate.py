"""The basis' stored net estimate (billing/migrations/0014_basis_estimate_net.py) stays exact when lines of
one basis are written at the same moment by transactions that do not lock the basis themselves: the
trigger's own lock orders them, and each recomputes from what the others committed."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from billing.models import CostLine
from tests.support.factories import add_line, make_basis
from tests.support.threads import run_at_once

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _stored(basis) -> Decimal:
    with connection.cursor() as cursor:
        cursor.execute("SELECT estimate_net FROM billing_invoicebasis WHERE id = %s", [basis.pk])
        return cursor.fetchone()[0]


def test_concurrent_line_writes_leave_the_exact_sum(postgres_only, company, caseworker):
    basis = make_basis(by=caseworker)
    template = add_line(basis, caseworker, unit_price="1.00")

    def write(i):
        with transaction.atomic():
            # Straight to the table, without the service's lock on the basis: only the trigger orders them.
            CostLine.objects.bulk_create([
                CostLine(basis_id=basis.pk, category_id=template.category_id, vat_code_id=template.vat_code_id,
                         description=f"Samtidig {i}.{k}", quantity=Decimal("1"), unit_price=Decimal("10.00"),
                         amount=Decimal("10.00")) for k in range(3)])
            if i % 2:
                CostLine.objects.filter(pk=template.pk).update(amount=Decimal(i))
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(0.1)")  # keep the transaction open while the others write
        return True

    results, errors = run_at_once(8, write)
    assert not errors and all(results), errors
    expected = sum(CostLine.objects.filter(basis_id=basis.pk).values_list("amount", flat=True))
    assert _stored(basis) == expected == Decimal("240.00") + CostLine.objects.get(pk=template.pk).amount


def test_writers_that_already_reference_the_basis_queue_instead_of_deadlocking(postgres_only, company, caseworker):
    """A transaction that has written any row pointing at the basis holds its foreign key's KEY SHARE lock
    on the basis (at once with an immediate constraint, else at commit); the trigger's own lock must not
    conflict with it, or two such writers deadlock."""
    basis = make_basis(by=caseworker)
    template = add_line(basis, caseworker, unit_price="1.00")
    both_hold_the_key_lock = threading.Barrier(2, timeout=20)

    def line(description, phase=CostLine.Phase.ESTIMATE):
        CostLine.objects.create(basis_id=basis.pk, category_id=template.category_id, vat_code_id=template.vat_code_id,
                                description=description, quantity=Decimal("1"), unit_price=Decimal("10.00"),
                                amount=Decimal("10.00"), phase=phase)

    def write(i):
        with transaction.atomic():
            with connection.cursor() as cursor:  # Django's foreign keys are checked at commit; others at once
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            line(f"Faktisk {i}", CostLine.Phase.ACTUAL)  # references the basis, touches no sum
            both_hold_the_key_lock.wait()
            line(f"Estimat {i}")
        return True

    results, errors = run_at_once(2, write)
    assert not errors and all(results), errors
    assert _stored(basis) == Decimal("1.00") + Decimal("20.00")
