"""Backup and restore as docs/operations.md describes it, and `manage.py verify_documents`, the check an
operator runs afterwards: every stored file must still be the bytes whose SHA-256 its row recorded."""

import io
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tests.conftest import REPO_ROOT, postgres_ping, require_service
from tests.support.settings_env import SETTINGS_VARS


def _seed(caseworker) -> int:
    """Documents of every kind with their PDFs stored, an ERP export batch and a bank file, through the
    real services. The number of stored files."""
    from integrations.erp import services as erp
    from offers import documents
    from tests.integrations.erp.conftest import issue_every_kind
    from tests.integrations.erp.test_bank_and_adapters import camt054

    docs = issue_every_kind(caseworker)
    for kind in ("offer", "invoice", "change_notice"):
        for pk in documents.document(kind).get_model().objects.values_list("pk", flat=True):
            documents.document_pdf_ensure(kind, pk)
    assert erp.export_run().receipts_archive, "the batch's receipts zip is one of the stored files"
    invoice = docs["ordinary_O"]
    erp.bank_import_file(data=camt054([("BANK-B1", str(invoice.gross_total), invoice.kid)]), filename="b.xml")
    return sum(1 for _ in documents.stored_documents()) + sum(1 for _ in erp.stored_files())


def _pg_env() -> dict:
    db = connection.settings_dict
    return {**os.environ, "PGHOST": db["HOST"] or "127.0.0.1", "PGPORT": str(db["PORT"] or 5432),
            "PGUSER": db["USER"] or "", "PGPASSWORD": db["PASSWORD"] or ""}


def _run(*cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def _verify(database: str, storage_env: dict) -> subprocess.CompletedProcess:
    """`manage.py verify_documents` as an operator runs it: a fresh process, configured by its environment."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{database}"
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    env.update(KF_TESTING="1", DATABASE_URL=url, **storage_env)
    return _run(sys.executable, "manage.py", "verify_documents", cwd=REPO_ROOT, env=env)


@pytest.mark.long(15)
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_backup_and_restore_keep_every_stored_document_intact(s3_storage, s3_server, company, caseworker,
                                                              tmp_path):
    require_service("PostgreSQL", postgres_ping)
    stored = _seed(caseworker)
    assert stored >= 10

    # Back up: the database first, then the bucket (files are written once, so every file a row of the
    # dump names is already in the store when the copy starts).
    dump, name = tmp_path / "kundefaktura.dump", connection.settings_dict["NAME"]
    pg = _pg_env()
    result = _run("pg_dump", "-Fc", "-f", str(dump), name, env=pg)
    assert result.returncode == 0, result.stderr
    backup_bucket = s3_server.new_bucket("kf-backup")
    assert s3_server.mirror(s3_storage, backup_bucket) >= stored

    # Restore into a fresh database; the files come from the backup bucket.
    restored = f"{name}_restored"
    _run("dropdb", "--if-exists", restored, env=pg)
    try:
        assert _run("createdb", restored, env=pg).returncode == 0
        result = _run("pg_restore", "--no-owner", "--exit-on-error", "-d", restored, str(dump), env=pg)
        assert result.returncode == 0, result.stderr
        backup_env = s3_server.env(backup_bucket)
        check = _verify(restored, backup_env)
        assert check.returncode == 0, check.stderr
        assert f"{stored} stored files checked: {stored} match their SHA-256, 0 changed, 0 missing" in check.stdout

        # One byte of one stored invoice changes in the backup (outside the app): reported, exit 1.
        from billing.models import Invoice

        victim = Invoice.objects.exclude(pdf="").order_by("pk").first()
        client = s3_server.client()
        data = bytearray(client.get_object(Bucket=backup_bucket, Key=victim.pdf.name)["Body"].read())
        data[len(data) // 2] ^= 0x01
        client.put_object(Bucket=backup_bucket, Key=victim.pdf.name, Body=bytes(data))
        check = _verify(restored, backup_env)
        assert check.returncode == 1
        assert f"MISMATCH: invoice {victim.pk} {victim.pdf.name}" in check.stderr
        assert "1 changed, 0 missing" in check.stderr
    finally:
        _run("dropdb", "--if-exists", restored, env=pg)


@pytest.mark.django_db
def test_verify_documents_reports_a_changed_byte_and_a_missing_file(settings, company, caseworker):
    from billing.models import Invoice
    from integrations.erp.models import BankImport

    stored = _seed(caseworker)
    call_command("verify_documents")  # all match: no error

    invoice = Invoice.objects.exclude(pdf="").order_by("pk").first()
    path = settings.MEDIA_ROOT / invoice.pdf.name
    data = bytearray(path.read_bytes())
    data[-10] ^= 0x20
    path.write_bytes(bytes(data))
    (settings.MEDIA_ROOT / BankImport.objects.get().file).unlink()
    errors = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("verify_documents", stderr=errors)
    assert f"MISMATCH: invoice {invoice.pk} {invoice.pdf.name}" in errors.getvalue()
    assert "MISSING: bank_file" in errors.getvalue()
    assert f"{stored} stored files checked: {stored - 2} match their SHA-256, 1 changed, 1 missing" in str(failed.value)
