"""Reminder fees reach the ERP: a CSV record of their own (invoice number, KID, fee outside VAT, reminder step
and date), claimed exactly once like the documents — also under two concurrent exports — and never before
their invoice; the HTTP adapter pushes them to their own endpoint."""

import csv
import datetime as dt
import io
import json
import threading
import zipfile
from decimal import Decimal as D
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine

from billing import services
from billing.models import CompanyProfile, Reminder
from integrations.erp import services as erp
from integrations.erp.models import ExportItem, ExportReminderFee
from tests.conftest import postgres_ping, require_service
from tests.support.factories import add_line, make_basis, make_customer
from tests.support.threads import run_at_once

START = dt.date(2026, 3, 2)  # invoices due 16.03.2026; reminder 1 on 30.03, reminder 2 on 14.04


def _at(day: dt.date):
    return time_machine.travel(dt.datetime.combine(day, dt.time(8, 0), tzinfo=dt.UTC), tick=False)


def _issue(by, *, issue_date=None, name="Kari Nordmann"):
    """An S invoice of 5 000,00 (4 000,00 + 25 % VAT) to a person with an ERP customer number."""
    customer = make_customer(name=name, erp_customer_number="C-4711")
    basis = make_basis(by=by, customer=customer, metering_point_id="707057500000000018")
    add_line(basis, by, category="meter_work", description="Målerbytte", unit_price="4000.00")
    services.offer_send(basis=basis, by=by)
    services.offer_accept(basis=basis, by=None)
    [invoice] = services.invoices_issue(basis=basis, by=by, issue_date=issue_date)
    return invoice


def _rows(batch) -> list[dict]:
    return list(csv.DictReader(io.StringIO(erp.stored_read(batch.csv_file).decode("utf-8")), delimiter=";"))


@pytest.mark.django_db
def test_each_reminder_fee_is_exported_once_as_its_own_record(company, caseworker):
    with _at(START):
        invoice = _issue(caseworker)
        first = erp.export_run()
    assert (first.document_count, first.reminder_fee_count) == (1, 0)
    assert _rows(first)[0]["reminder_step"] == "", "document rows leave the new column empty"
    with _at(dt.date(2026, 3, 30)):
        services.reminders_send_due()
        batch = erp.export_run()
        assert erp.export_run() is None, "nothing is exported twice"
    assert (batch.document_count, batch.reminder_fee_count, batch.reminder_fee_total) == (0, 1, D("35.00"))
    [row] = _rows(batch)
    assert list(row) == erp.CSV_COLUMNS
    assert row == {
        "document_type": "reminder_fee", "kind": "reminder", "number": str(invoice.number), "credited_number": "",
        "issue_date": "2026-03-30", "due_date": "2026-04-13", "delivery_date": "", "kid": invoice.kid,
        "currency": "NOK", "erp_customer_number": "C-4711", "customer_name": "Kari Nordmann", "customer_orgnr": "",
        "customer_email": "kari@example.com", "basis_number": invoice.basis.number,
        "metering_point_id": "707057500000000018", "net_amount": "35.00", "vat_amount": "0.00",
        "gross_amount": "35.00", "vat_breakdown": "O:0:35.00:0.00", "bank_account": "12345678903",
        "ehf_file": "", "reminder_step": "1", "receipt_files": "", "receipt_sha256": ""}
    with zipfile.ZipFile(erp.stored_open(batch.ehf_archive)) as zf:
        assert zf.namelist() == [], "a reminder fee is no invoice: no EHF"
    with _at(dt.date(2026, 4, 14)):
        services.reminders_send_due()
        second = erp.export_run()
    assert [(r["number"], r["reminder_step"], r["issue_date"], r["gross_amount"]) for r in _rows(second)] == [
        (str(invoice.number), "2", "2026-04-14", "35.00")]
    assert ExportReminderFee.objects.count() == Reminder.objects.count() == 2


@pytest.mark.django_db
def test_export_page_shows_the_reminder_fees_of_a_batch(company, caseworker, caseworker_client):
    from django.urls import reverse

    with _at(START):
        _issue(caseworker)
        erp.export_run()
    with _at(dt.date(2026, 3, 30)):
        services.reminders_send_due()
        batch = erp.export_run()
    page = caseworker_client.get(reverse("erp:export_detail", args=[batch.pk])).content.decode()
    shown = page[page.index("Purregebyr</dt>"):].split("</dd>")[0]
    assert "<dd>1 · " in shown and "35,00" in shown and "utenfor MVA" in shown
    log = caseworker_client.get(reverse("erp:export_log")).content.decode()
    row = log[log.index(f'href="{reverse("erp:export_detail", args=[batch.pk])}"'):].split("</tr>")[0]
    assert "1 · 35,00" in row, "the export list shows the batch's fees too"


@pytest.mark.django_db
def test_fee_follows_its_invoice_in_the_same_batch_and_never_comes_first(company, caseworker):
    with _at(START):
        invoice = _issue(caseworker)
    with _at(dt.date(2026, 3, 30)):
        services.reminders_send_due()
        [reminder] = Reminder.objects.all()
        batch = erp.export_run()  # the invoice was never exported: both go now, the invoice first
    assert [(r["document_type"], r["number"]) for r in _rows(batch)] == [
        ("invoice", str(invoice.number)), ("reminder_fee", str(invoice.number))]
    assert reminder.erp_export_fee.batch_id == ExportItem.objects.get(invoice=invoice).batch_id == batch.pk

    # A fee whose invoice the export does not take (status outside EXPORTABLE_STATUSES) waits for it.
    with _at(dt.date(2026, 3, 30)):
        other = _issue(caseworker, name="Ola Nordmann")
    Reminder.objects.create(invoice=other, step=1, fee=D("35.00"), outstanding=other.gross_total,
                            due_date=dt.date(2026, 4, 13))
    type(other).objects.filter(pk=other.pk).update(status="void")
    assert erp.export_claim() is None, "no fee before its invoice"
    type(other).objects.filter(pk=other.pk).update(status="issued")
    claimed = erp.export_claim()
    assert (claimed.document_count, claimed.reminder_fee_count) == (1, 1), "invoice and fee together"


@pytest.mark.django_db
def test_no_record_for_a_reminder_without_fee(company, caseworker):
    CompanyProfile.objects.filter(pk=1).update(reminder_fee=D("0.00"))
    with _at(START):
        _issue(caseworker)
        erp.export_run()
    with _at(dt.date(2026, 3, 30)):
        assert len(services.reminders_send_due()) == 1
        assert erp.export_run() is None
    assert not ExportReminderFee.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_exports_claim_each_fee_exactly_once(role_groups, make_user):
    require_service("PostgreSQL", postgres_ping)
    from kundefaktura.accounts.roles import CASEWORKER
    from tests.support.factories import make_company

    make_company()
    by = make_user(CASEWORKER)
    past = services.today() - dt.timedelta(days=40)
    invoices = [_issue(by, issue_date=past, name=f"Kunde {i}") for i in range(6)]
    erp.export_run()  # half of the fees find their invoice exported already, half come with it
    invoices += [_issue(by, issue_date=past, name=f"Ny kunde {i}") for i in range(6)]
    assert len(services.reminders_send_due()) == len(invoices) == 12
    results, errors = run_at_once(2, lambda _i: erp.export_claim(), timeout=60)
    assert not errors
    batches = [b for b in results if b is not None]
    assert sum(b.reminder_fee_count for b in batches) == 12 == ExportReminderFee.objects.count()
    assert ExportReminderFee.objects.values("reminder").distinct().count() == 12
    assert sum(b.document_count for b in batches) == 6
    assert ExportItem.objects.filter(invoice__reminders__erp_export_fee__isnull=False).count() == 12


class _FakeErp(BaseHTTPRequestHandler):
    received: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.headers.get("Idempotency-Key")
        status = 409 if any(k == key for _p, k, _b in _FakeErp.received) else 201
        if status == 201:
            _FakeErp.received.append((self.path, key, body))
        raw = b"{}"
        self.send_response(status)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.mark.django_db
def test_http_adapter_pushes_fees_to_their_own_endpoint_once(company, caseworker, settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeErp)
    _FakeErp.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.ERP_ADAPTER, settings.ERP_TOKEN = "http", "s3cret"
    settings.ERP_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with _at(START):
            invoice = _issue(caseworker)
        with _at(dt.date(2026, 3, 30)):
            services.reminders_send_due()
            batch = erp.export_run()
            assert erp.export_deliver(batch_id=batch.pk).status == "delivered"
            erp.export_redeliver(batch=batch)
            assert erp.export_deliver(batch_id=batch.pk).status == "delivered"
    finally:
        server.shutdown()
        server.server_close()
    assert [(path, key) for path, key, _body in _FakeErp.received] == [
        ("/invoices", f"kundefaktura-F-{invoice.number}"),
        ("/reminder-fees", f"kundefaktura-reminder-{invoice.number}-1")], "the invoice first; each once"
    fee = _FakeErp.received[1][2]
    assert (fee["number"], fee["kid"], fee["gross_amount"], fee["vat_amount"], fee["reminder_step"], fee["batch"]) == (
        str(invoice.number), invoice.kid, "35.00", "0.00", "1", batch.pk)
