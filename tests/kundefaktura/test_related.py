"""kundefaktura/related.py: one annotation says which related sets a row has; only those are read."""

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Prefetch
from django.test.utils import CaptureQueriesContext

from billing import services
from billing.models import Invoice, InvoiceBasis
from kundefaktura.related import load_related, mark_empty, nonempty_flags
from tests.support.factories import accepted_basis, add_line, make_basis

pytestmark = pytest.mark.django_db

RELATIONS = ("payments", "reminders", "credit_notes")


def _issued(company):
    basis = accepted_basis()
    return services.invoices_issue(basis=basis, by=None, issue_date=dt.date.today())


def _flags(invoice):
    return Invoice.objects.annotate(f=nonempty_flags(Invoice, RELATIONS)).get(pk=invoice.pk).f


def test_flags_follow_the_rows_including_a_relation_to_the_same_table(company):
    invoice = _issued(company)[-1]
    assert _flags(invoice) == "000"
    services.payment_register(invoice=invoice, by=None, amount="10.00", method="manual")
    assert _flags(invoice) == "100"
    # A credit note is an invoice too: the EXISTS must look at other rows, not the invoice itself.
    services.invoice_credit(invoice=invoice, by=None, reason="Rabatt", amount="5.00")
    assert _flags(invoice) == "101"
    credit_note = invoice.credit_notes.get()
    assert _flags(credit_note) == "000"


def test_load_related_reads_only_non_empty_sets_and_answers_the_rest_without_a_query(company):
    invoice = _issued(company)[-1]
    services.payment_register(invoice=invoice, by=None, amount="10.00", method="manual")
    services.payment_register(invoice=invoice, by=None, amount="20.00", method="manual")
    relations = {"payments": "payments", "reminders": "reminders",
                 "credit_notes": Prefetch("credit_notes", queryset=Invoice.objects.order_by("number"))}
    row = Invoice.objects.annotate(nonempty=nonempty_flags(Invoice, relations)).get(pk=invoice.pk)
    with CaptureQueriesContext(connection) as queries:
        load_related(row, relations)
    assert len(queries) == 1  # the payments; reminders and credit notes are known to be empty
    with CaptureQueriesContext(connection) as queries:
        assert sorted(p.amount for p in row.payments.all()) == [10, 20]
        assert list(row.reminders.all()) == []
        assert list(row.credit_notes.all()) == []
    assert len(queries) == 0


def test_a_marked_empty_set_forgets_itself_when_the_relation_changes(company):
    basis = make_basis()
    mark_empty(basis, "lines")
    assert list(basis.lines.all()) == []
    add_line(basis)  # through the service, on another instance: this one still says empty …
    assert list(basis.lines.all()) == []
    assert InvoiceBasis.objects.get(pk=basis.pk).lines.count() == 1  # … as a prefetched one would


def test_wrong_use_is_refused():
    with pytest.raises(ValueError):
        nonempty_flags(Invoice, ["basis"])  # a forward foreign key, not a set
    row = InvoiceBasis(pk=1)
    row.nonempty = "1"
    with pytest.raises(ValueError):
        load_related(row, {"lines": "lines", "invoices": "invoices"})


@pytest.mark.parametrize("count", [2, 3, 4, 5, 6])
def test_several_rows_read_a_set_in_one_query_each_row_getting_its_own_in_order(company, count, monkeypatch):
    from billing.models import Payment
    from kundefaktura import related

    prefetch = related.prefetch_related_objects

    def only_for_many(rows, *lookups):  # up to COMPILED_ROWS rows are read by the compiled queries
        assert len(rows) > related.COMPILED_ROWS
        prefetch(rows, *lookups)

    monkeypatch.setattr(related, "prefetch_related_objects", only_for_many)

    invoices = [_issued(company)[-1] for _ in range(count)]
    for k, invoice in enumerate(invoices):
        for amount in range(k % 3):  # none, one or two payments each
            services.payment_register(invoice=invoice, by=None, amount=f"{amount + 1}.00", method="manual")
    relations = {"payments": lambda: Prefetch("payments", queryset=Payment.objects.order_by("-amount", "id")),
                 "reminders": "reminders"}
    rows = list(Invoice.objects.filter(pk__in=[i.pk for i in invoices]).order_by("pk")
                .annotate(nonempty=nonempty_flags(Invoice, relations)))
    rows.append(rows[0])  # the same row twice gets the same set
    with CaptureQueriesContext(connection) as queries:
        load_related(rows, relations)
    assert len(queries) == 1  # the payments of every row that has any, whatever the number of rows
    with CaptureQueriesContext(connection) as queries:
        for row in rows:
            expected = list(Payment.objects.filter(invoice=row).order_by("-amount", "id"))
            got = list(row.payments.all())
            assert got == expected and [p.amount for p in got] == [p.amount for p in expected]
            assert all(p.invoice.pk == row.pk for p in got)  # known without a query (counted below)
            assert list(row.reminders.all()) == []
    assert len(queries) == len(rows)  # only the expected lists above
