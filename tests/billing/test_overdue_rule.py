"""The work list's overdue filters (grouped SQL over all invoices for the chips, EXISTS per basis for the
page) and the page's overdue mark (`mark_overdue`, and the rows' own SQL in `worklist_rows_by_ids`)
give the answer of `selectors.invoice_outstanding`: unpaid, part-paid, paid, overpaid, credited in full
or in part, pending payments, not yet due."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from billing import selectors, services
from billing.models import InvoiceBasis, Payment
from tests.support.factories import accepted_basis

pytestmark = pytest.mark.django_db


def test_the_overdue_filter_and_mark_agree_with_the_outstanding_rule(caseworker, company):
    past = dt.date.today() - dt.timedelta(days=40)
    cases = {}

    def issued(title, issue_date=past):
        basis = accepted_basis(by=caseworker, title=title)
        cases[title] = basis
        return [i for i in services.invoices_issue(basis=basis, by=caseworker, issue_date=issue_date)
                if i.number is not None]

    issued("ubetalt")
    for inv in issued("betalt"):
        services.payment_register(invoice=inv, by=caseworker, amount=inv.gross_total, method="manual")
    for inv in issued("delbetalt"):
        services.payment_register(invoice=inv, by=caseworker, amount=inv.gross_total - Decimal("1.00"),
                                  method="manual")
    for inv in issued("overbetalt"):
        services.payment_register(invoice=inv, by=caseworker, amount=inv.gross_total + Decimal("50.00"),
                                  method="manual")
    for inv in issued("ventende"):
        services.payment_register(invoice=inv, by=caseworker, amount=inv.gross_total, method="manual",
                                  status=Payment.Status.PENDING, provider_reference=f"p-{inv.pk}")
    for inv in issued("kreditert"):
        services.invoice_credit(invoice=inv, by=caseworker, reason="Feil")
    first, *rest = issued("delvis kreditert")
    services.invoice_credit(invoice=first, by=caseworker, reason="Rabatt", amount=Decimal("100.00"))
    for inv in rest:
        services.payment_register(invoice=inv, by=caseworker, amount=inv.gross_total, method="manual")
    issued("ikke forfalt", issue_date=dt.date.today())

    on = dt.date.today()
    truth = {title for title, basis in cases.items()
             if any(i.number is not None and i.kind != "credit_note" and i.due_date < on
                    and selectors.invoice_outstanding(i) > 0 for i in basis.invoices.all())}
    assert truth == {"ubetalt", "delbetalt", "ventende", "delvis kreditert"}
    by_pk = {b.pk: t for t, b in cases.items()}
    filters = [selectors.overdue_bases(on), selectors.overdue_exists(on)]
    if connection.vendor == "postgresql":  # the invoices' stored outstanding amounts
        filters.append(selectors.overdue_bases_stored(on))
    for overdue in filters:
        filtered = InvoiceBasis.objects.filter(overdue).values_list("pk", flat=True)
        assert {by_pk[pk] for pk in filtered} == truth
    marked = selectors.mark_overdue(InvoiceBasis.objects.filter(pk__in=by_pk), on)
    assert {by_pk[b.pk] for b in marked if b.is_overdue} == truth
    rows = selectors.worklist_rows_by_ids(list(by_pk), on)  # the work list's rows: their own SQL
    assert {by_pk[r.pk] for r in rows if r.is_overdue} == truth
