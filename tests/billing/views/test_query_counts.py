"""The work list and the basis page cost a fixed number of queries, whatever the data."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing import services
from integrations.models import RelatedCase
from tests.support.factories import accepted_basis, add_line, make_basis, make_customer

pytestmark = pytest.mark.django_db

# The work list: session, user, permissions, and one for the chips' counts with the page's rows (once more
# when the requested page is past the last).
LIST_MAX_QUERIES = 5
# The basis page: lines, documents, payments, refunds, credited lines, timeline, the answers' evidence, their
# receipts — each one query, whatever the size.
PAGE_MAX_QUERIES = 20


def _make_bases(n, by):
    customer = make_customer()
    past = dt.date.today() - dt.timedelta(days=40)
    for i in range(n):
        if i % 10 == 0:
            basis = accepted_basis(by=by, title=f"Sak {i}", customer=customer)
            services.invoices_issue(basis=basis, by=by, issue_date=past)  # overdue
        else:
            basis = make_basis(by=by, title=f"Sak {i}", customer=customer if i % 2 else None,
                               site_street=f"Gate {i}")
            if i % 3 == 0:
                add_line(basis, by)
        if i % 4 == 0:
            RelatedCase.objects.create(basis=basis, source="nettmelding", external_id=f"NM-{basis.pk}")


def _count(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries), response


@pytest.mark.parametrize("n", [10, 200])
def test_worklist_query_count_is_fixed(n, caseworker_client, caseworker, company, django_assert_max_num_queries):
    _make_bases(n, caseworker)
    url = reverse("billing:worklist")
    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        response = caseworker_client.get(url, {"per_page": 200})
    assert response.content.decode().count('name="ids"') == n  # every basis on the page
    # filters and search do not add per-row queries either
    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        caseworker_client.get(url, {"per_page": 200, "q": "Sak", "overdue": "on", "sort": "customer"})


def test_worklist_query_count_is_the_same_at_10_and_200(caseworker_client, caseworker, company):
    _make_bases(10, caseworker)
    small, _ = _count(caseworker_client, reverse("billing:worklist"), {"per_page": 200})
    _make_bases(190, caseworker)
    large, response = _count(caseworker_client, reverse("billing:worklist"), {"per_page": 200})
    assert small == large
    assert response.content.decode().count("Forfalt</span>") == 20  # every tenth basis is overdue


def _basis_with(n_lines, by):
    basis = make_basis(by=by)
    for i in range(n_lines):
        add_line(basis, by, description=f"Linje {i}", category="meter_work" if i % 2 else "connection_contribution",
                 unit_price=f"{100 + i}.50")
    add_line(basis, by, description="Fra AO", source="work_order", source_reference="AO", line_reference=f"AO-{basis.pk}")
    RelatedCase.objects.create(basis=basis, source="work_order", external_id=f"AO-{basis.pk}")
    services.offer_send(basis=basis, by=by)
    services.offer_accept(basis=basis, by=None)
    for inv in services.invoices_issue(basis=basis, by=by):
        services.payment_register(invoice=inv, by=by, amount="10.00", method="manual")
    return basis


@pytest.mark.parametrize("n", [10, 200])
def test_basis_page_query_count_is_fixed(n, caseworker_client, caseworker, company,
                                         django_assert_max_num_queries):
    basis = _basis_with(n, caseworker)
    with django_assert_max_num_queries(PAGE_MAX_QUERIES):
        response = caseworker_client.get(reverse("billing:basis_detail", args=[basis.pk]))
    body = response.content.decode()
    assert f"Linje {n - 1}" in body and "Faktura sendt" in body


def test_basis_page_query_count_is_the_same_at_10_and_200_lines(caseworker_client, caseworker, company):
    small, _ = _count(caseworker_client, reverse("billing:basis_detail", args=[_basis_with(10, caseworker).pk]))
    large, _ = _count(caseworker_client, reverse("billing:basis_detail", args=[_basis_with(200, caseworker).pk]))
    assert small == large


def _busy_basis(caseworker, *, lines, payments, credit_notes):
    """An invoiced basis with `payments` payments per invoice, `credit_notes` credit notes on the first
    invoice and an overpayment on the last (so an overpaid event and a refund to look at)."""
    basis = _basis_with(lines, caseworker)
    invoices = list(basis.invoices.filter(number__isnull=False).order_by("id"))
    for inv in invoices:
        for _i in range(payments):
            services.payment_register(invoice=inv, by=caseworker, amount="1.00", method="manual")
    for k in range(credit_notes):
        services.invoice_credit(invoice=invoices[0], by=caseworker, reason=f"Feil {k}", amount="5.00")
    last = invoices[-1]
    last.refresh_from_db()
    services.payment_register(invoice=last, by=caseworker, amount=str(last.gross_total), method="manual")  # too much
    assert basis.events.filter(action="billing.payment.overpaid").exists()
    return basis


def test_basis_page_query_count_does_not_grow_with_invoices_payments_and_events(caseworker_client, caseworker,
                                                                                company):
    """More payments, credit notes and many more timeline events cost no query more: one query per kind of
    row the basis has, never per row (and none for a kind it has none of)."""
    small, _ = _count(caseworker_client, reverse("billing:basis_detail", args=[_basis_with(2, caseworker).pk]))
    busy = _busy_basis(caseworker, lines=5, payments=1, credit_notes=1)
    busy_count, _ = _count(caseworker_client, reverse("billing:basis_detail", args=[busy.pk]))
    busier = _busy_basis(caseworker, lines=20, payments=4, credit_notes=3)
    assert busier.events.count() > 30 > busy.events.count()
    busier_count, response = _count(caseworker_client, reverse("billing:basis_detail", args=[busier.pk]))
    assert small <= busy_count == busier_count <= PAGE_MAX_QUERIES
    assert 'id="overpayment-attention"' in response.content.decode()
