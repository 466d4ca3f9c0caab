"""The status chips' counts kept by triggers (billing/migrations/0013_basis_status_counts.py) are the counts
of the bases, whatever happens to them: created one by one or in bulk, moved through their statuses,
deleted, the deltas folded, the table truncated."""

import pytest
from django.db import connection
from django.db.models import Count

from billing import selectors, services
from billing.models import InvoiceBasis
from billing.selectors.worklist import WorklistFilters
from tests.support.factories import add_line, make_basis

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stored_columns")]


def kept() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status, SUM(n) FROM billing_basis_status_count GROUP BY status HAVING SUM(n) <> 0")
        return {status: int(n) for status, n in cursor.fetchall()}


def counted() -> dict[str, int]:
    return dict(InvoiceBasis.objects.values_list("status").annotate(n=Count("*")).order_by())


def rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM billing_basis_status_count")
        return cursor.fetchone()[0]


def test_counts_follow_every_change(caseworker, company):
    first = make_basis(by=caseworker)
    second = make_basis(by=caseworker)
    add_line(second, caseworker)
    services.offer_send(basis=second, by=caseworker)
    services.basis_cancel(basis=first, by=caseworker, reason="Feil")
    assert kept() == counted() == {"offer_sent": 1, "cancelled": 1}
    InvoiceBasis.objects.bulk_create([InvoiceBasis(number=f"BULK-{i}", title="Bulk", status="draft")
                                      for i in range(5)])
    InvoiceBasis.objects.filter(number__startswith="BULK-").exclude(number="BULK-0").update(status="expired")
    InvoiceBasis.objects.filter(number="BULK-1").delete()
    assert kept() == counted() == {"offer_sent": 1, "cancelled": 1, "draft": 1, "expired": 3}
    page = selectors.worklist_page(user=None, filters=WorklistFilters())
    assert page.counts["expired"] == 3 and page.count == 6


def test_deltas_are_folded_and_the_sums_kept(caseworker, company):
    for i in range(120):  # one statement each: one delta row each, until a writer folds them
        InvoiceBasis.objects.create(number=f"F-{i}", title="Fold", status="draft" if i % 3 else "offer_sent")
    assert rows() <= 101
    assert kept() == counted() == {"draft": 80, "offer_sent": 40}


def test_truncating_the_bases_empties_the_counts(caseworker, company):
    make_basis(by=caseworker)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending: TRUNCATE refuses them
        cursor.execute("TRUNCATE billing_invoicebasis CASCADE")
    assert kept() == {} and rows() == 0
    make_basis(by=caseworker)
    assert kept() == {"draft": 1}
