"""The customer's offer page and invoice page cost a fixed number of queries, whatever the data."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing import services
from billing.models import Customer
from tests.support.factories import add_line, customer_basis, example1_lines, make_basis, make_customer

pytestmark = pytest.mark.django_db

OFFER_MAX_QUERIES = 9
INVOICE_MAX_QUERIES = 7


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def _invoiced(user, *, extra_lines=0, payments=1, credit=False, one_invoice=False):
    """A basis of `user`'s accepted and invoiced (O and taxable invoices, or only an O invoice), with
    payments and a credit note."""
    customer = Customer.objects.filter(user=user).first()
    if customer is None:
        customer = make_customer()
        customer.user = user
        customer.save(update_fields=["user"])
    basis = make_basis(customer=customer)
    if one_invoice:
        add_line(basis, description="Anleggsbidrag", unit_price="18450.00")
    else:
        example1_lines(basis)
    for i in range(extra_lines):
        add_line(basis, description=f"Ekstra {i}", category="meter_work", unit_price="250.00")
    services.offer_send(basis=basis, by=None)
    services.offer_accept(basis=basis, by=None)
    invoices = services.invoices_issue(basis=basis, by=None, issue_date=dt.date.today() - dt.timedelta(days=40))
    for inv in invoices:
        for _i in range(payments):
            services.payment_register(invoice=inv, by=None, amount="10.00", method="manual")
    if credit:
        services.invoice_credit(invoice=invoices[-1], by=None, reason="Rabatt", amount="20.00")
    return basis, invoices


def test_portal_offer_page_query_count_is_fixed(customer_client, customer_user, company):
    small_basis, few = _invoiced(customer_user, one_invoice=True)
    small, _ = _count(customer_client, reverse("portal:basis", args=[small_basis.pk]))
    large_basis, more = _invoiced(customer_user, extra_lines=20, payments=5, credit=True)
    assert len(few) < len(more)
    large, response = _count(customer_client, reverse("portal:basis", args=[large_basis.pk]))
    assert small == large <= OFFER_MAX_QUERIES
    assert "Ekstra 19" in response.content.decode()


def test_portal_offer_page_query_count_before_any_invoice(customer_client, customer_user, company):
    basis = customer_basis(customer_user)
    count, response = _count(customer_client, reverse("portal:basis", args=[basis.pk]))
    assert count <= OFFER_MAX_QUERIES


def test_portal_invoice_page_query_count_is_fixed(customer_client, customer_user, company):
    """One query per kind of row the invoice has (payments, credit notes, reminders), never per row; an
    invoice without any of them reads none of them."""
    _, (bare_inv, *_rest) = _invoiced(customer_user, one_invoice=True, payments=0)
    bare, _ = _count(customer_client, reverse("portal:invoice", args=[bare_inv.pk]))
    _, invoices = _invoiced(customer_user, payments=1, credit=True)
    small, _ = _count(customer_client, reverse("portal:invoice", args=[invoices[-1].pk]))
    _, invoices = _invoiced(customer_user, extra_lines=20, payments=5, credit=True)
    services.invoice_credit(invoice=invoices[-1], by=None, reason="Rabatt igjen", amount="5.00")
    large, response = _count(customer_client, reverse("portal:invoice", args=[invoices[-1].pk]))
    assert bare + 2 == small == large <= INVOICE_MAX_QUERIES
    assert response.content.decode().count('class="num credit-note"') == 2


def test_portal_invoice_list_query_count_does_not_grow_with_invoices(customer_client, customer_user, company):
    _invoiced(customer_user, one_invoice=True)
    small, _ = _count(customer_client, reverse("portal:invoices"))
    for _i in range(3):
        _invoiced(customer_user, payments=2, credit=True)
    large, _ = _count(customer_client, reverse("portal:invoices"))
    assert small == large
