"""The receipts of the customer's answers go to the ERP with the invoices that follow them: named with
their SHA-256 on the invoice's CSV row, the PDFs in the batch's receipts.zip, and delivered by every
adapter (file drop: receipts/, HTTP: in the invoice's JSON)."""

import base64
import csv
import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from billing import services as billing
from integrations.erp import services as erp
from offers.models import Receipt
from tests.support.factories import accepted_basis, add_line

pytestmark = pytest.mark.django_db


def _rows(batch):
    return list(csv.DictReader(io.StringIO(erp.stored_read(batch.csv_file).decode("utf-8")), delimiter=";"))


@pytest.fixture
def answered(company, caseworker, django_capture_on_commit_callbacks):
    """An accepted offer invoiced, then an accepted change notice invoiced as a change invoice."""
    with django_capture_on_commit_callbacks(execute=True):
        basis = accepted_basis(by=caseworker)
        first = billing.invoices_issue(basis=basis, by=caseworker)
    add_line(basis, caseworker, category="meter_work", description="Ekstra målerskap", unit_price="2500.00")
    with django_capture_on_commit_callbacks(execute=True):
        notice = billing.change_notice_send(basis=basis, by=caseworker)
    billing.change_notice_answer(notice=notice, by=None, decision="accepted")  # its receipt: rendered by the export
    change = billing.invoices_issue(basis=basis, by=caseworker)
    return {"basis": basis, "first": first, "change": change, "notice": notice}


def test_invoices_carry_the_receipts_they_rest_on(answered, settings, tmp_path, caseworker_client, installer_client):
    acceptance = Receipt.objects.get(acceptance__basis=answered["basis"])
    change = Receipt.objects.get(change_notice=answered["notice"])
    assert not change.pdf_sha256, "not rendered yet: the export renders it"
    settings.ERP_ADAPTER, settings.ERP_DROP_DIR = "filedrop", tmp_path
    batch = erp.export_run()
    from django.urls import reverse

    page = caseworker_client.get(reverse("erp:export_detail", args=[batch.pk])).content.decode()
    assert reverse("erp:export_receipts", args=[batch.pk]) in page
    download = caseworker_client.get(reverse("erp:export_receipts", args=[batch.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert installer_client.get(reverse("erp:export_receipts", args=[batch.pk])).status_code == 403
    change.refresh_from_db()
    assert change.pdf_sha256
    rows = {r["number"]: r for r in _rows(batch)}
    for invoice in answered["first"]:
        row = rows[str(invoice.number)]
        assert row["receipt_files"] == f"kvittering-{answered['basis'].number}-tilbud-v1.pdf"
        assert row["receipt_sha256"] == acceptance.pdf_sha256
    for invoice in answered["change"]:
        row = rows[str(invoice.number)]
        assert row["receipt_files"].split("|") == [f"kvittering-{answered['basis'].number}-tilbud-v1.pdf",
                                                   f"kvittering-{answered['basis'].number}-endring-v1.pdf"]
        assert row["receipt_sha256"].split("|") == [acceptance.pdf_sha256, change.pdf_sha256]
    archive = download.getvalue()
    assert hashlib.sha256(archive).hexdigest() == batch.receipts_sha256
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        assert sorted(zf.namelist()) == sorted({n for r in rows.values() for n in r["receipt_files"].split("|")})
        for row in rows.values():
            for name, sha in zip(row["receipt_files"].split("|"), row["receipt_sha256"].split("|"), strict=True):
                assert hashlib.sha256(zf.read(name)).hexdigest() == sha, "the stored receipt, byte for byte"

    erp.export_deliver(batch_id=batch.pk)
    drop = tmp_path / f"kundefaktura-batch-{batch.pk}" / "receipts"
    assert sorted(p.name for p in drop.iterdir()) == sorted(
        [f"kvittering-{answered['basis'].number}-tilbud-v1.pdf", f"kvittering-{answered['basis'].number}-endring-v1.pdf"])


def test_a_credit_note_and_a_declined_answer_carry_no_receipt(answered, caseworker, caseworker_client):
    from django.urls import reverse

    assert erp.export_run().receipts_archive
    credit = billing.invoice_credit(invoice=answered["change"][0], by=caseworker, reason="Feil")
    batch = erp.export_run()
    [row] = _rows(batch)
    assert (row["number"], row["document_type"]) == (str(credit.number), "credit_note")
    assert (row["receipt_files"], row["receipt_sha256"]) == ("", "")
    assert (batch.receipts_archive, batch.receipts_sha256) == ("", ""), "no receipts: no receipts.zip stored"
    page = caseworker_client.get(reverse("erp:export_detail", args=[batch.pk])).content.decode()
    assert reverse("erp:export_receipts", args=[batch.pk]) not in page
    assert caseworker_client.get(reverse("erp:export_receipts", args=[batch.pk])).status_code == 404


def test_http_adapter_sends_the_receipts_with_the_invoice(answered, fake_erp):
    batch = erp.export_run()
    erp.export_deliver(batch_id=batch.pk)
    acceptance = Receipt.objects.get(acceptance__basis=answered["basis"])
    number = answered["first"][0].number
    [body] = [b for _k, b in fake_erp.received if b.get("number") == str(number)]
    [receipt] = body["receipts"]
    assert receipt["filename"] == f"kvittering-{answered['basis'].number}-tilbud-v1.pdf"
    assert receipt["sha256"] == acceptance.pdf_sha256
    assert hashlib.sha256(base64.b64decode(receipt["pdf_base64"])).hexdigest() == acceptance.pdf_sha256


def test_an_altered_stored_receipt_stops_the_build(answered):
    receipt = Receipt.objects.get(acceptance__basis=answered["basis"])
    path = Path(receipt.pdf.path)
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0x01  # one bit of the stored file
    path.write_bytes(bytes(content))
    with pytest.raises(RuntimeError, match="does not match its SHA-256"):
        erp.export_run()
