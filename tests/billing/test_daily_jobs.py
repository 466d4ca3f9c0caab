"""The daily jobs with a frozen clock: offer expiry and reminders, each idempotent when run twice."""

import datetime as dt
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from billing import selectors, services, tasks
from billing.errors import TransitionError
from billing.models import Invoice, Payment, Reminder
from billing.status import Status
from offers.models import OutboundEmail
from tests.support.documents import pdf_text
from tests.support.factories import example1_lines, make_basis

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _at(day: dt.date):
    return time_machine.travel(dt.datetime.combine(day, dt.time(8, 0), tzinfo=dt.UTC), tick=False)


def test_offer_expiry_job_moves_notifies_once_and_renewal_makes_a_new_version(company, caseworker,
                                                                              caseworker_client):
    with _at(START.date()):
        basis = make_basis(by=caseworker)
        example1_lines(basis, caseworker)
        services.offer_send(basis=basis, by=caseworker, valid_until=dt.date(2026, 3, 20))
    with _at(dt.date(2026, 3, 20)):
        assert tasks.offers_expire.delay().get() == [], "valid through its last day"
    with _at(dt.date(2026, 3, 21)):
        assert tasks.offers_expire.delay().get() == [basis.number]
        assert tasks.offers_expire.delay().get() == [], "the second run changes nothing"
        basis.refresh_from_db()
        assert basis.status == Status.EXPIRED and basis.status_label == "Utløpt"
        [mail] = OutboundEmail.objects.filter(basis=basis, subject__contains="utløpt")
        assert "20.03.2026" in mail.body_text and mail.to == basis.customer.email
        with pytest.raises(TransitionError, match="utløp|Kan ikke"):
            services.offer_accept(basis=basis, by=None)
        page = caseworker_client.get(reverse("billing:expired")).content.decode()
        assert basis.number in page
        resp = caseworker_client.post(reverse("billing:renew", args=[basis.pk]), {"valid_until": "2026-04-30"})
        assert resp.status_code == 302
        basis.refresh_from_db()
        assert (basis.status, basis.offer_version, basis.offer_valid_until) == (
            Status.OFFER_SENT, 2, dt.date(2026, 4, 30))
        assert basis.offers.count() == 2, "the expired version is kept"


@pytest.fixture
def overdue_invoice(company, caseworker):
    with _at(START.date()):
        basis = make_basis(by=caseworker)
        from tests.support.factories import add_line

        add_line(basis, caseworker, category="meter_work", description="Målerbytte", unit_price="4000.00")
        services.offer_send(basis=basis, by=caseworker)
        services.offer_accept(basis=basis, by=None)
        [inv] = services.invoices_issue(basis=basis, by=caseworker)
    assert inv.due_date == dt.date(2026, 3, 16) and inv.gross_total == D("5000.00")
    return inv


def test_reminders_two_steps_each_once_with_fee_and_pdf(overdue_invoice, caseworker_client,
                                                       django_capture_on_commit_callbacks):
    inv = overdue_invoice
    with _at(dt.date(2026, 3, 29)):  # 13 days after due
        assert tasks.reminders_send.delay().get() == []
    with _at(dt.date(2026, 3, 30)):  # 14 days after due
        with django_capture_on_commit_callbacks(execute=True):  # the PDF is rendered after commit
            assert tasks.reminders_send.delay().get() == [[inv.number, 1]]
        assert tasks.reminders_send.delay().get() == [], "never twice for the same step"
        first = Reminder.objects.get(invoice=inv)
        assert (first.step, first.fee, first.due_date) == (1, D("35.00"), dt.date(2026, 4, 13))
        text = pdf_text(first.pdf.read())
        assert "1. purring" in text and "5 000,00" in text and "35,00" in text and "5 035,00" in text
        assert inv.kid in text
        mail = OutboundEmail.objects.get(kind="reminder", invoice=inv)
        assert "5 035,00" in mail.body_text.replace("\xa0", " ") and mail.attachments == [{"document": "reminder", "pk": first.pk}]
        page = caseworker_client.get(reverse("billing:overdue")).content.decode()
        assert str(inv.number) in page and "1. sendt 30.03.2026" in page and "2. purring fra 14.04.2026" in page
    with _at(dt.date(2026, 4, 13)):  # first reminder's deadline day: not yet
        assert tasks.reminders_send.delay().get() == []
    with _at(dt.date(2026, 4, 14)):
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.reminders_send.delay().get() == [[inv.number, 2]]
        second = Reminder.objects.get(invoice=inv, step=2)
        text = pdf_text(second.pdf.read())
        assert "2. purring" in text and "5 070,00" in text and "siste purring" in text
    with _at(dt.date(2026, 8, 1)):
        assert tasks.reminders_send.delay().get() == [], "at most two reminders"
    assert OutboundEmail.objects.filter(kind="reminder").count() == 2


def test_paid_invoice_gets_no_reminder_and_fee_is_settled_with_the_kid(overdue_invoice, caseworker):
    inv = overdue_invoice
    with _at(dt.date(2026, 3, 30)):
        services.reminders_send_due()
        assert selectors.amount_owed(inv) == D("5035.00")
        services.payment_register(invoice=inv, by=caseworker, amount=D("5035.00"), method=Payment.Method.MANUAL)
        inv.refresh_from_db()
        assert inv.status == Invoice.Status.PAID and selectors.amount_owed(inv) == D("0.00")
        assert selectors.refund_due(inv) == D("0.00"), "the fee part of the payment is not refunded"
    with _at(dt.date(2026, 5, 1)):
        assert services.reminders_send_due() == []
        assert selectors.overdue_invoices() == []
