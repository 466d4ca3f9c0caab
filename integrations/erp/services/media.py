"""Where the ERP files (export batches, stored bank files) live: the project's storage
(`kundefaktura/storage.py`: the file system or an S3-compatible store), written once and read back by
name. A name recorded on a row is the one `stored_save` returned, which may differ from the one asked
for (a name is never reused)."""

from django.core.files import File
from django.core.files.storage import default_storage


def stored_save(name: str, content) -> str:
    """Store `content` (bytes or an open binary file) under `name` or a fresh variant; the name used."""
    if isinstance(content, bytes):
        from django.core.files.base import ContentFile

        content = ContentFile(content)
    elif not isinstance(content, File):
        content = File(content)
    return default_storage.save(name, content)


def stored_open(name: str):
    """The stored file opened for reading (binary). FileNotFoundError when it is not there."""
    if not name:
        raise FileNotFoundError("no file recorded")
    return default_storage.open(name, "rb")


def stored_read(name: str) -> bytes:
    with stored_open(name) as fh:
        return fh.read()


def stored_files():
    """(kind, pk, stored file name, recorded SHA-256) of every stored ERP file: the CSV, the EHF zip and
    the receipts zip (a batch has one when an invoice rests on a receipt) of every built export batch and
    every received bank file, for `manage.py verify_documents`."""
    from ..models import BankImport, ExportBatch

    for pk, csv_name, csv_sha, zip_name, zip_sha, receipts_name, receipts_sha in (
            ExportBatch.objects.exclude(built_at=None).order_by("pk")
            .values_list("pk", "csv_file", "csv_sha256", "ehf_archive", "ehf_sha256", "receipts_archive",
                         "receipts_sha256").iterator(chunk_size=2000)):
        yield "erp_export_csv", pk, csv_name, csv_sha
        yield "erp_export_ehf", pk, zip_name, zip_sha
        if receipts_name:
            yield "erp_export_receipts", pk, receipts_name, receipts_sha
    for pk, name, sha in (BankImport.objects.exclude(file="").order_by("pk")
                          .values_list("pk", "file", "sha256").iterator(chunk_size=2000)):
        yield "bank_file", pk, name, sha
