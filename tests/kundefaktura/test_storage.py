"""Stored files: written once on both backends, and every stored file (documents, ERP export batches, bank
files) living in an S3 object store — moto's server on loopback, a real S3 API — when one is configured."""

import base64
import csv
import hashlib
import io
import itertools
import zipfile
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from kundefaktura.storage import WriteOnceError, WriteOnceFileSystemStorage


@pytest.fixture(params=["filesystem", "s3"])
def backend(request):
    if request.param == "s3":
        request.getfixturevalue("s3_storage")
    return request.param


def _read(name: str) -> bytes:
    with default_storage.open(name) as fh:
        return fh.read()


def test_a_stored_file_is_never_replaced(backend, monkeypatch):
    first = default_storage.save("invoices/2026/Faktura-F1.pdf", ContentFile(b"%PDF original"))
    assert first == "invoices/2026/Faktura-F1.pdf"
    # The same name again: a new name, the first file's bytes untouched.
    second = default_storage.save("invoices/2026/Faktura-F1.pdf", ContentFile(b"%PDF imposter"))
    assert second != first and second.startswith("invoices/2026/Faktura-F1_") and second.endswith(".pdf")
    assert _read(first) == b"%PDF original" and _read(second) == b"%PDF imposter"

    # Another process takes the name between the availability check and the write: the write itself only
    # creates (O_EXCL on disk, If-None-Match: * on S3), so this save too ends under a name of its own.
    storage_class = type(default_storage._wrapped)
    real_exists, calls = storage_class.exists, itertools.count()
    monkeypatch.setattr(storage_class, "exists",
                        lambda self, name: False if next(calls) == 0 else real_exists(self, name))
    third = default_storage.save("invoices/2026/Faktura-F1.pdf", ContentFile(b"%PDF racer"))
    monkeypatch.undo()
    assert third not in (first, second) and _read(third) == b"%PDF racer"
    assert _read(first) == b"%PDF original"

    # Writing into a stored file is refused outright, in every write mode.
    for mode in ("wb", "ab", "r+b", "w", "xb"):
        with pytest.raises(WriteOnceError):
            default_storage.open(first, mode)
    assert _read(first) == b"%PDF original"
    if backend == "s3":
        # Below the name choice: the store itself refuses a PUT over an existing key.
        with pytest.raises(FileExistsError):
            default_storage._create(first, ContentFile(b"%PDF forced"))
        assert _read(first) == b"%PDF original"


def test_overwriting_cannot_be_configured(s3_server):
    from kundefaktura.s3storage import WriteOnceS3Storage

    with pytest.raises(ImproperlyConfigured):
        WriteOnceFileSystemStorage(allow_overwrite=True)
    with pytest.raises(ImproperlyConfigured):
        WriteOnceS3Storage(**s3_server.storage_options("any-bucket"), file_overwrite=True)


class _Recorder:
    """A requests session for the HTTP ERP adapter that accepts every document and keeps its JSON."""

    def __init__(self):
        self.bodies = []

    def post(self, url, json, headers, timeout):
        self.bodies.append(json)
        return SimpleNamespace(status_code=201, text="")


@pytest.mark.django_db
def test_documents_erp_exports_and_bank_files_live_in_the_object_store(
        s3_storage, s3_server, settings, tmp_path, company, caseworker, caseworker_client):
    from integrations.erp import adapters, services
    from integrations.erp.models import ExportBatch
    from offers import documents
    from tests.integrations.erp.conftest import issue_every_kind
    from tests.integrations.erp.test_bank_and_adapters import camt054

    docs = issue_every_kind(caseworker)

    # Documents: rendered once into the bucket, served by the permission-checked view from there.
    invoice = docs["ordinary_O"]
    offer = invoice.basis.offers.order_by("version").first()
    for kind, doc in (("invoice", invoice), ("offer", offer)):
        response = caseworker_client.get(reverse("offers:pdf", args=[kind, doc.pk]))
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        doc.refresh_from_db()
        stored = s3_server.keys(s3_storage)[doc.pdf.name]
        assert response.content == stored and stored.startswith(b"%PDF")
        assert hashlib.sha256(stored).hexdigest() == doc.pdf_sha256
        assert documents.document_pdf_ensure(kind, doc.pk) == "exists"
    anonymous = caseworker_client.__class__().get(reverse("offers:pdf", args=["invoice", invoice.pk]))
    assert anonymous.status_code == 302

    # ERP export: the batch's CSV, EHF zip and receipts zip are written to the bucket, delivered and
    # downloaded from it.
    batch = services.export_run()
    keys = s3_server.keys(s3_storage)
    csv_bytes, zip_bytes = keys[batch.csv_file], keys[batch.ehf_archive]
    assert hashlib.sha256(csv_bytes).hexdigest() == batch.csv_sha256
    assert hashlib.sha256(zip_bytes).hexdigest() == batch.ehf_sha256
    assert str(invoice.number) in csv_bytes.decode("utf-8")
    assert caseworker_client.get(reverse("erp:export_csv", args=[batch.pk])).getvalue() == csv_bytes
    assert caseworker_client.get(reverse("erp:export_zip", args=[batch.pk])).getvalue() == zip_bytes
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        name = zf.namelist()[0]
        xml = caseworker_client.get(reverse("erp:export_xml", args=[batch.pk, name]))
        assert xml.status_code == 200 and xml.content == zf.read(name)
        documents_in_zip = len(zf.namelist())
    # The receipts the invoices rest on: their zip too, stored, recorded with its SHA-256, downloaded.
    receipts_bytes = keys[batch.receipts_archive]
    assert hashlib.sha256(receipts_bytes).hexdigest() == batch.receipts_sha256
    assert caseworker_client.get(reverse("erp:export_receipts", args=[batch.pk])).getvalue() == receipts_bytes
    with zipfile.ZipFile(io.BytesIO(receipts_bytes)) as zf:
        receipts = {name: zf.read(name) for name in zf.namelist()}
    named = {name: sha for row in csv.DictReader(io.StringIO(csv_bytes.decode("utf-8")), delimiter=";")
             for name, sha in zip(row["receipt_files"].split("|"), row["receipt_sha256"].split("|"), strict=True)
             if name}
    assert {name: hashlib.sha256(pdf).hexdigest() for name, pdf in receipts.items()} == named and named
    assert services.export_deliver(batch_id=batch.pk).status == "delivered"  # the demo adapter reads the zip
    drop = adapters.FileDropAdapter(drop_dir=tmp_path / "drop").deliver(batch, adapters.BatchFiles.of(batch))
    assert drop.delivered == documents_in_zip
    dropped = tmp_path / "drop" / f"kundefaktura-batch-{batch.pk}"
    assert (dropped / "export.csv").read_bytes() == csv_bytes
    assert {p.name: p.read_bytes() for p in (dropped / "receipts").iterdir()} == receipts
    posted = _Recorder()
    adapters.HttpAdapter(base_url="http://erp.invalid", token="t", session=posted).deliver(
        batch, adapters.BatchFiles.of(batch))
    sent = {r["filename"]: base64.b64decode(r["pdf_base64"]) for body in posted.bodies
            for r in body.get("receipts", ())}
    assert sent == receipts
    # Building the batch again (a crash before its names were recorded) stores new files beside the old.
    old_csv, old_zip, old_receipts = batch.csv_file, batch.ehf_archive, batch.receipts_archive
    ExportBatch.objects.filter(pk=batch.pk).update(status=ExportBatch.Status.CLAIMED)  # as if never recorded
    rebuilt = services.export_build(batch=batch)
    assert rebuilt.csv_file != old_csv and rebuilt.ehf_archive != old_zip
    assert rebuilt.receipts_archive != old_receipts and s3_server.keys(s3_storage)[old_receipts] == receipts_bytes
    assert s3_server.keys(s3_storage)[old_csv] == csv_bytes

    # Bank files: stored in the bucket as received, booked from there.
    data = camt054([("BANK-S3", str(invoice.gross_total), invoice.kid)])
    bank_import = services.bank_import_file(data=data, filename="camt054.xml")
    assert bank_import.status == "done" and bank_import.matched_count == 1
    assert s3_server.keys(s3_storage)[bank_import.file] == data

    # Nothing went to the local disk.
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_storage_url_selects_the_object_store_and_bad_urls_are_refused():
    import json

    from tests.support.settings_env import run_python

    show = ("import json; from django.conf import settings; "
            "print(json.dumps(settings.STORAGES['default']))")
    url = "s3://kf-docs/prod/files?endpoint_url=http://minio:9000&region=eu-north-1"
    chosen = run_python(show, KF_TESTING="1", STORAGE_URL=url)
    assert chosen.returncode == 0, chosen.stderr
    assert json.loads(chosen.stdout.splitlines()[-1]) == {
        "BACKEND": "kundefaktura.s3storage.WriteOnceS3Storage",
        "OPTIONS": {"bucket_name": "kf-docs", "location": "prod/files", "endpoint_url": "http://minio:9000",
                    "region_name": "eu-north-1", "addressing_style": "path"}}
    plain = run_python(show, KF_TESTING="1")
    assert json.loads(plain.stdout.splitlines()[-1]) == {"BACKEND": "kundefaktura.storage.WriteOnceFileSystemStorage"}
    for bad in ("ftp://kf-docs", "s3://kf-docs?endpoint=http://minio:9000"):
        refused = run_python(show, KF_TESTING="1", STORAGE_URL=bad)
        assert refused.returncode != 0 and "STORAGE_URL" in refused.stderr, bad
