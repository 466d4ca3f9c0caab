"""Reminder fees in the portal: the invoice list shows per invoice the fees charged and the total to pay
including them; the invoice page and the card payment ask for the same total."""

import datetime as dt
import re
import uuid
from decimal import Decimal as D

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing import selectors, services
from billing.models import Payment
from tests.factories import add_line, make_basis, make_customer

pytestmark = pytest.mark.django_db

START = dt.date(2026, 3, 2)  # invoice due 16.03.2026; reminder 1 on 30.03, reminder 2 on 14.04


def _at(day: dt.date):
    return time_machine.travel(dt.datetime.combine(day, dt.time(8, 0), tzinfo=dt.UTC), tick=False)


def _invoice(user, caseworker, price="4000.00"):
    """An issued S invoice of `price` + 25 % VAT to the customer of `user`."""
    with _at(START):
        customer = getattr(user, "customer", None)
        if customer is None:
            customer = make_customer(name="Kari Kunde", email="kari@example.com")
            customer.user = user
            customer.save(update_fields=["user"])
        basis = make_basis(by=caseworker, customer=customer)
        add_line(basis, caseworker, category="meter_work", description="Målerbytte", unit_price=price)
        services.offer_send(basis=basis, by=caseworker)
        services.offer_accept(basis=basis, by=None)
        [invoice] = services.invoices_issue(basis=basis, by=caseworker)
    return invoice


def _cells(page: str, invoice) -> list[str]:
    """The text of each cell of the invoice's row in the portal's invoice table."""
    row = page.split(f'id="invoice-{invoice.pk}"')[1].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", c).replace("\xa0", " ").split()) for c in cells]


def test_invoice_list_shows_reminder_fees_and_the_total_to_pay(company, caseworker, customer_user, customer_client):
    invoice = _invoice(customer_user, caseworker)
    other = _invoice(customer_user, caseworker, price="800.00")
    services.payment_register(invoice=other, by=caseworker, amount=D("1000.00"), method=Payment.Method.MANUAL)
    url = reverse("portal:invoices")
    with _at(dt.date(2026, 3, 29)):
        assert _cells(customer_client.get(url).content.decode(), invoice)[2:] == [
            "5 000,00 kr", "–", "5 000,00 kr", "Ikke betalt"]
    with _at(dt.date(2026, 3, 30)):
        assert services.reminders_send_due() == [(invoice.number, 1)]
        assert _cells(customer_client.get(url).content.decode(), invoice)[2:] == [
            "5 000,00 kr", "35,00 kr 1 purring", "5 035,00 kr", "Purret"]
    with _at(dt.date(2026, 4, 14)):
        assert services.reminders_send_due() == [(invoice.number, 2)]
        page = customer_client.get(url).content.decode()
    assert _cells(page, invoice)[2:] == ["5 000,00 kr", "70,00 kr 2 purringer", "5 070,00 kr", "Purret"]
    assert _cells(page, other)[2:] == ["1 000,00 kr", "–", "0,00 kr", "Faktura betalt"], "paid, never reminded"
    assert "Purregebyr er ikke merverdiavgiftspliktig" in page


def test_fees_stay_to_pay_after_the_invoice_amount_is_paid(company, caseworker, customer_user, customer_client):
    invoice = _invoice(customer_user, caseworker)
    with _at(dt.date(2026, 3, 30)):
        services.reminders_send_due()
    services.payment_register(invoice=invoice, by=caseworker, amount=D("5000.00"), method=Payment.Method.MANUAL)
    list_page = customer_client.get(reverse("portal:invoices")).content.decode()
    assert _cells(list_page, invoice)[2:] == ["5 000,00 kr", "35,00 kr 1 purring", "35,00 kr", "Purregebyr ubetalt"]
    page = customer_client.get(reverse("portal:invoice", args=[invoice.pk])).content.decode().replace("\xa0", " ")
    assert "Purregebyr, 1. purring 30.03.2026" in page and 'id="owed"><strong>35,00 kr' in page
    assert "Betal nå 35,00 kr" in page and '<span id="amount">35,00 kr</span>' in page
    assert "Faktura betalt" not in page
    home = customer_client.get(reverse("portal:home")).content.decode()
    assert f"Betal faktura {invoice.number}" in home

    services.payment_register(invoice=invoice, by=caseworker, amount=D("35.00"), method=Payment.Method.MANUAL)
    list_page = customer_client.get(reverse("portal:invoices")).content.decode()
    assert _cells(list_page, invoice)[2:] == ["5 000,00 kr", "35,00 kr 1 purring", "0,00 kr", "Faktura betalt"]
    page = customer_client.get(reverse("portal:invoice", args=[invoice.pk])).content.decode()
    assert "Faktura betalt" in page and "Betal nå" not in page
    assert selectors.refund_due(invoice) == D("0.00"), "the fee part of the payments is not refunded"


def test_card_payment_charges_the_invoice_and_the_unpaid_fees(company, caseworker, customer_user, customer_client,
                                                              settings):
    settings.PAYMENT_PROVIDER = "local"
    invoice = _invoice(customer_user, caseworker)
    with _at(dt.date(2026, 3, 30)):
        services.reminders_send_due()
    response = customer_client.post(reverse("portal:invoice_pay", args=[invoice.pk]), {"attempt": str(uuid.uuid4())})
    assert response.status_code == 302
    payment = Payment.objects.get(invoice=invoice)
    assert (payment.status, payment.amount) == (Payment.Status.PENDING, D("5035.00"))
    services.payment_confirm(payment=payment, by=customer_user)
    invoice.refresh_from_db()
    assert invoice.status == "paid" and selectors.amount_owed(invoice) == D("0.00")
    again = customer_client.post(reverse("portal:invoice_pay", args=[invoice.pk]), {"attempt": str(uuid.uuid4())})
    assert again.status_code == 302 and Payment.objects.filter(invoice=invoice).count() == 1, "nothing left to pay"


def test_invoice_list_reads_reminders_once_not_per_invoice(company, caseworker, customer_user, customer_client):
    invoices = [_invoice(customer_user, caseworker) for _ in range(2)]
    with _at(dt.date(2026, 3, 30)):
        services.reminders_send_due()
    with CaptureQueriesContext(connection) as ctx:
        customer_client.get(reverse("portal:invoices"))
    reminder_queries = [q for q in ctx.captured_queries if 'FROM "billing_reminder"' in q["sql"]]
    assert len(reminder_queries) == 1 and len(invoices) == 2
