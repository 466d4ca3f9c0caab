"""The invoice's stored outstanding amount (billing/migrations/0012_invoice_outstanding.py) stays exact when
payments for one invoice are written at the same moment by transactions that do not lock the invoice
themselves: the trigger's own lock orders them, and each recomputes from what the other committed."""

from decimal import Decimal

import pytest
from django.db import connection, transaction

from billing import selectors, services
from billing.models import Invoice, Payment
from tests.support.factories import accepted_basis
from tests.support.threads import run_at_once

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _stored(invoice) -> Decimal:
    with connection.cursor() as cursor:
        cursor.execute("SELECT outstanding FROM billing_invoice WHERE id = %s", [invoice.pk])
        return cursor.fetchone()[0]


def test_concurrent_payments_leave_the_exact_outstanding(postgres_only, company, caseworker, no_documents):
    basis = accepted_basis(by=caseworker)
    invoice = next(i for i in services.invoices_issue(basis=basis, by=caseworker) if i.number is not None)
    assert _stored(invoice) == invoice.gross_total

    def pay(i):
        with transaction.atomic():
            # Straight to the table, without the service's lock on the invoice: only the trigger orders them.
            Payment.objects.create(invoice_id=invoice.pk, method="manual", amount=Decimal("10.00"),
                                   status=Payment.Status.CONFIRMED, provider_reference=f"race-{i}")
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(0.1)")  # keep the transaction open while the others write
        return True

    results, errors = run_at_once(8, pay)
    assert not errors and all(results), errors
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert _stored(invoice) == selectors.invoice_outstanding(invoice)
    assert _stored(invoice) == invoice.gross_total - Decimal("10.00") * Payment.objects.filter(invoice=invoice).count()
