"""Export: exactly once (also under two concurrent runs on PostgreSQL), each batch built by one run
(also when a run dies while building), CSV + EHF files, delivery, retry and re-delivery, the log page
and its downloads."""

import csv
import io
import zipfile

import pytest
from django.urls import reverse

from integrations.erp import services
from integrations.erp.models import ExportBatch, ExportItem
from tests.conftest import postgres_ping, require_service
from tests.integrations.erp.conftest import issue_every_kind
from tests.support.threads import run_at_once


@pytest.mark.django_db
def test_export_claims_every_document_once_and_writes_csv_and_ehf(every_kind, settings):
    batch = services.export_run()
    assert batch.document_count == len(every_kind) == batch.invoice_count + batch.credit_note_count
    assert batch.credit_note_count == 1
    rows = list(csv.DictReader(io.StringIO(services.stored_read(batch.csv_file).decode("utf-8")), delimiter=";"))
    assert list(rows[0]) == services.CSV_COLUMNS
    assert {r["number"] for r in rows if r["document_type"] == "invoice"} == {
        str(d.number) for d in every_kind.values() if d.kind != "credit_note"}
    o_row = next(r for r in rows if r["number"] == str(every_kind["ordinary_O"].number) and r["document_type"] == "invoice")
    assert o_row["gross_amount"] == "57392.90" and o_row["vat_breakdown"] == "O:0:57392.90:0.00"
    with zipfile.ZipFile(services.stored_open(batch.ehf_archive)) as zf:
        assert sorted(zf.namelist()) == sorted(r["ehf_file"] for r in rows)
    assert services.export_run() is None, "nothing is exported twice"
    assert ExportItem.objects.count() == len(every_kind)


@pytest.mark.django_db
def test_delivery_failure_is_recorded_and_redelivery_works(every_kind, settings, tmp_path):
    settings.ERP_ADAPTER = "filedrop"
    settings.ERP_DROP_DIR = tmp_path / "missing" / "readonly"
    batch = services.export_run()
    (tmp_path / "missing").write_text("a file where the directory should be")
    with pytest.raises(services.DeliveryFailed):
        services.export_deliver(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == "failed" and batch.attempts == 1 and batch.last_error
    (tmp_path / "missing").unlink()
    settings.ERP_DROP_DIR.mkdir(parents=True)
    done = services.export_deliver(batch_id=batch.pk)
    assert done.status == "delivered" and done.attempts == 2 and not done.last_error
    drop = settings.ERP_DROP_DIR / f"kundefaktura-batch-{batch.pk}"
    assert (drop / "export.csv").exists() and len(list((drop / "ehf").iterdir())) == len(every_kind)
    assert services.export_deliver(batch_id=batch.pk).attempts == 2, "delivered batch is left alone"
    services.export_redeliver(batch=batch)
    assert services.export_deliver(batch_id=batch.pk).status == "delivered"


@pytest.mark.django_db
def test_command_and_task(every_kind, settings):
    from django.core.management import call_command

    from integrations.erp.tasks import erp_export

    out = io.StringIO()
    call_command("erp_export", stdout=out)
    assert "Levert" in out.getvalue() or "delivered" in out.getvalue().lower()
    assert erp_export.delay().get()["batch"] is None


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_exports_claim_each_document_exactly_once(make_user):
    require_service("PostgreSQL", postgres_ping)
    from kundefaktura.accounts.roles import CASEWORKER
    from tests.support.factories import make_company

    make_company()
    by = make_user(CASEWORKER)
    for _ in range(3):
        issue_every_kind(by)
    results, errors = run_at_once(2, lambda _i: services.export_claim(), timeout=60)
    assert not errors
    batches = [b for b in results if b is not None]
    from billing.models import Invoice

    total = Invoice.objects.filter(number__isnull=False).count()
    assert sum(b.document_count for b in batches) == total == ExportItem.objects.count()
    assert ExportItem.objects.values("invoice").distinct().count() == total


@pytest.mark.django_db(transaction=True)
def test_a_claimed_batch_is_built_by_one_run_while_another_runs(make_user, monkeypatch):
    """The nightly export and one started by hand (or a task delivered again while the first still runs):
    the second run leaves the batch the first is building alone, so its files are stored once."""
    require_service("PostgreSQL", postgres_ping)
    import threading

    from django.db import connection

    from integrations.erp.services import export
    from kundefaktura.accounts.roles import CASEWORKER
    from tests.support.factories import make_company

    make_company()
    issue_every_kind(make_user(CASEWORKER))
    batch = services.export_claim()
    building, release, saved = threading.Event(), threading.Event(), []
    store = export.stored_save

    def slow_save(name, fh):  # the first file stored waits until the test lets the first run go on
        saved.append(name := store(name, fh))
        if len(saved) == 1:
            building.set()
            assert release.wait(30), "the test never let the first run go on"
        return name

    monkeypatch.setattr(export, "stored_save", slow_save)
    first = {}

    def build():
        try:
            first["batch"] = services.export_build(batch=batch)
        finally:
            connection.close()

    worker = threading.Thread(target=build)
    worker.start()
    try:
        assert building.wait(30), "the first run never stored a file"
        assert services.export_build(batch=batch).status == ExportBatch.Status.CLAIMED
        assert services.export_run() is None, "nothing new to claim, and the batch being built is left alone"
        assert len(saved) == 1, "the second run stored nothing"
    finally:
        release.set()
        worker.join(60)
    assert not worker.is_alive()
    built = first["batch"]
    assert built.status == ExportBatch.Status.PENDING and built.document_count == ExportItem.objects.count()
    assert set(saved) == {built.csv_file, built.ehf_archive, built.receipts_archive} - {""}
    assert services.export_build(batch=built).csv_file == built.csv_file, "a built batch is not built again"
    assert len(saved) == len(set(saved))


@pytest.mark.django_db
def test_a_run_that_dies_while_building_leaves_the_batch_to_the_next_run(every_kind, monkeypatch):
    from integrations.erp.services import export

    store, saved = export.stored_save, []

    def dies_after_one_file(name, fh):
        if saved:
            raise OSError("the worker died")
        saved.append(store(name, fh))
        return saved[-1]

    monkeypatch.setattr(export, "stored_save", dies_after_one_file)
    with pytest.raises(OSError):
        services.export_run()
    batch = ExportBatch.objects.get()
    assert batch.status == ExportBatch.Status.CLAIMED and not batch.csv_file and not batch.built_at
    monkeypatch.setattr(export, "stored_save", store)
    assert services.export_run() is None, "nothing new to claim"
    batch.refresh_from_db()
    assert batch.status == ExportBatch.Status.PENDING and batch.document_count == len(every_kind)
    assert batch.csv_file and batch.csv_file not in saved, "the next run stored its own files beside the first"


@pytest.mark.django_db
def test_export_log_page_button_and_downloads(customer_client, every_kind, caseworker_client,
                                             django_capture_on_commit_callbacks):
    url = reverse("erp:export_log")
    assert customer_client.get(url).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        r = caseworker_client.post(reverse("erp:export_start"), follow=True)
    assert r.status_code == 200
    batch = ExportBatch.objects.get()
    assert batch.status == "delivered"
    page = caseworker_client.get(url).content.decode()
    assert f"#{batch.pk}" in page and "Levert" in page
    csv_resp = caseworker_client.get(reverse("erp:export_csv", args=[batch.pk]))
    assert b"document_type;kind;number" in b"".join(csv_resp.streaming_content)
    name = f"faktura-{every_kind['ordinary_O'].number}.xml"
    xml = caseworker_client.get(reverse("erp:export_xml", args=[batch.pk, name]))
    assert xml.status_code == 200 and b"<cbc:PaymentMeansCode>30</cbc:PaymentMeansCode>" in xml.content
    assert customer_client.get(reverse("erp:export_csv", args=[batch.pk])).status_code == 403
    assert caseworker_client.get(reverse("erp:export_xml", args=[batch.pk, "nope.xml"])).status_code == 404
    detail = caseworker_client.get(reverse("erp:export_detail", args=[batch.pk])).content.decode()
    assert name in detail
