"""On PostgreSQL: concurrent invoice issues get distinct consecutive numbers; two concurrent
acceptances of one offer give one acceptance and one audit event."""

import pytest

from billing import services
from billing.models import Acceptance, AuditEvent, Invoice
from tests.support.factories import example1_lines, make_basis, make_customer
from tests.support.threads import run_at_once

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _accepted(i):
    basis = make_basis(customer=make_customer(email=f"c{i}@example.com"))
    services.line_add(basis=basis, by=None, category="resealing", description="Replombering", quantity=1,
                      unit_price="1200.00")
    services.offer_send(basis=basis, by=None)
    services.offer_accept(basis=basis, by=None)
    return basis


def test_twenty_threads_issuing_invoices_get_twenty_distinct_consecutive_numbers(postgres_only, company, no_documents):
    bases = [_accepted(i) for i in range(20)]
    results, errors = run_at_once(20, lambda i: services.invoices_issue(basis=bases[i], by=None))
    assert errors == []
    numbers = sorted(inv.number for invoices in results for inv in invoices)
    assert numbers == list(range(numbers[0], numbers[0] + 20))
    assert Invoice.objects.filter(series="F").count() == 20


def test_two_concurrent_acceptances_give_one_acceptance_and_one_audit_event(postgres_only, company):
    basis = make_basis()
    example1_lines(basis)
    services.offer_send(basis=basis, by=None)
    results, errors = run_at_once(2, lambda i: services.offer_accept(basis=basis, by=None).pk)
    assert errors == []
    assert results[0] == results[1]  # the second caller gets the first acceptance back
    assert Acceptance.objects.filter(basis=basis).count() == 1
    assert AuditEvent.objects.filter(basis=basis, action="billing.basis.accepted").count() == 1
    basis.refresh_from_db()
    assert basis.status == "accepted"
