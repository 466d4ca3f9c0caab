"""ERP export, in three idempotent steps (each safe to repeat after a crash).

1. `export_claim`  — one transaction: create a batch, then
   INSERT INTO erp_exportitem (batch, invoice) SELECT … FROM billing_invoice WHERE issued AND NOT
   EXISTS (…) ON CONFLICT (invoice_id) DO NOTHING. The unique index on invoice_id makes PostgreSQL
   serialise two concurrent claims: the second waits for the first and skips its rows, so every
   document lands in exactly one batch. No ids are held in Python. Reminder fees are claimed the same
   way in the same transaction (erp_exportreminderfee, unique reminder_id), each once its invoice is
   exported — in this batch or an earlier one — so the ERP never gets a fee before its invoice.
2. `export_build`  — streams the claimed documents (server-side cursor, light named rows, the lines
   of each chunk of 1000 documents in one query) into the CSV and a zip with one EHF XML per
   document, written incrementally; memory does not grow with the count. The batch's reminder fees
   follow as CSV records of their own (`reminder_fee`, no EHF), from one more streamed query. Each
   invoice carries the receipts of the customer's answers it rests on (`receipt_files`,
   `receipt_sha256`; the PDFs in `receipts.zip`), loaded with one query per chunk. The batch's row is
   locked (SELECT … FOR UPDATE SKIP LOCKED) until the files are recorded: a second run at the same time
   leaves the batch alone, and a run that dies releases it to the next.
3. `export_deliver` — claims the batch for delivery with a conditional UPDATE, hands the files to
   the adapter; a failure is recorded (attempts, last error) and raised so the task retries.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import itertools
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from billing.models import Invoice, InvoiceLine, Reminder

from .. import adapters, ehf, ziparchive
from ..csvcells import escape as text
from ..models import ExportBatch, ExportItem, ExportReminderFee
from .media import stored_save

log = logging.getLogger("integrations.erp.services")

CHUNK_SIZE = 1000
STALE_DELIVERY = dt.timedelta(minutes=15)
EXPORTABLE_STATUSES = (Invoice.Status.ISSUED, Invoice.Status.SENT, Invoice.Status.PAID, Invoice.Status.CREDITED)

# CSV: one row per document, UTF-8, ';' separated, amounts with '.' and two decimals; then one row per
# reminder fee (document_type "reminder_fee": number/kid/customer of the invoice it is claimed on,
# issue_date = the reminder's date, due_date = its payment deadline, the fee outside VAT (code O), no EHF
# file, reminder_step 1 or 2 — empty on document rows). Text cells are spreadsheet-safe (csvcells: a leading
# apostrophe before = + - @ tab CR); numbers, dates and amounts are written as they are. A credit note has
# no due date.
CSV_COLUMNS = ["document_type", "kind", "number", "credited_number", "issue_date", "due_date", "delivery_date",
               "kid", "currency", "erp_customer_number", "customer_name", "customer_orgnr", "customer_email",
               "basis_number", "metering_point_id", "net_amount", "vat_amount", "gross_amount", "vat_breakdown",
               "bank_account", "ehf_file", "reminder_step", "receipt_files", "receipt_sha256"]
REMINDER_FEE = "reminder_fee"
RECEIPTS_ARCHIVE = "receipts.zip"


def exportable_invoices():
    return Invoice.objects.filter(number__isnull=False, status__in=EXPORTABLE_STATUSES)


def export_has_work() -> bool:
    """Whether an export now would claim anything (a document or reminder fee not yet exported) or
    retry a batch not yet delivered — the same sets export_claim and the sweeper take."""
    if exportable_invoices().exclude(pk__in=ExportItem.objects.values("invoice_id")).exists():
        return True
    if (Reminder.objects.filter(fee__gt=0, invoice_id__in=ExportItem.objects.values("invoice_id"))
            .exclude(pk__in=ExportReminderFee.objects.values("reminder_id")).exists()):
        return True
    return export_undelivered_batches().exists() or export_unbuilt_batches().exists()


def export_claim(*, by=None, trigger=ExportBatch.Trigger.SCHEDULE) -> ExportBatch | None:
    """Claim every issued, not yet exported document, and every not yet exported reminder fee whose
    invoice is exported, into a new batch. None when there is nothing."""
    inv, item = Invoice._meta.db_table, ExportItem._meta.db_table
    rem, fee = Reminder._meta.db_table, ExportReminderFee._meta.db_table
    statuses = [str(s) for s in EXPORTABLE_STATUSES]
    with transaction.atomic():
        batch = ExportBatch.objects.create(trigger=trigger, created_by=by, adapter=settings.ERP_ADAPTER)
        placeholders = ", ".join(["%s"] * len(statuses))
        now = timezone.now()
        with connection.cursor() as cur:
            # Table names come from our models' _meta; every value is a bound parameter.
            sql = ("INSERT INTO {item} (batch_id, invoice_id, created_at) "  # noqa: UP032  # nosec B608
                   "SELECT %s, i.id, %s FROM {inv} i "
                   "WHERE i.number IS NOT NULL AND i.status IN ({placeholders}) "
                   "AND NOT EXISTS (SELECT 1 FROM {item} x WHERE x.invoice_id = i.id) "
                   "ORDER BY i.id "
                   "ON CONFLICT (invoice_id) DO NOTHING").format(item=item, inv=inv, placeholders=placeholders)
            cur.execute(sql, [batch.pk, now, *statuses])
            claimed = cur.rowcount
            # Reminder fees: the same exactly-once claim on their own unique index. Only fees of invoices
            # the ERP has (exported earlier, or claimed just above in this transaction).
            sql = ("INSERT INTO {fee} (batch_id, reminder_id, created_at) "  # noqa: UP032  # nosec B608
                   "SELECT %s, r.id, %s FROM {rem} r "
                   "WHERE r.fee > 0 "
                   "AND EXISTS (SELECT 1 FROM {item} x WHERE x.invoice_id = r.invoice_id) "
                   "AND NOT EXISTS (SELECT 1 FROM {fee} f WHERE f.reminder_id = r.id) "
                   "ORDER BY r.id "
                   "ON CONFLICT (reminder_id) DO NOTHING").format(fee=fee, rem=rem, item=item)
            cur.execute(sql, [batch.pk, now])
            fees = cur.rowcount
        if claimed <= 0 and fees <= 0:
            transaction.set_rollback(True)
            return None
        batch.document_count = claimed
        batch.reminder_fee_count = fees
        batch.save(update_fields=["document_count", "reminder_fee_count", "updated_at"])
    log.info("erp export: batch %s claimed %s documents and %s reminder fees", batch.pk, claimed, fees)
    return batch


def _party(buyer: dict) -> list[str]:
    """The buyer's text columns, spreadsheet-safe (csvcells): they hold what people typed."""
    return [text(buyer.get(k, "")) for k in ("erp_customer_number", "name", "orgnr", "email", "basis_number",
                                             "metering_point_id")]


def _csv_row(doc, filename: str, receipts=()) -> list[str]:
    buyer, seller = doc.buyer or {}, doc.seller or {}
    fmt_amount, fmt_number = ehf.fmt_amount, ehf.fmt_number
    breakdown = "|".join(f"{g['code']}:{fmt_number(g['rate'])}:{fmt_amount(g['base'])}:{fmt_amount(g['vat'])}"
                         for g in doc.vat_breakdown or [])
    credit_note = doc.kind == Invoice.Kind.CREDIT_NOTE
    # Nothing is due on a credit note: its due date stays empty even where the snapshot has one.
    due = "" if credit_note or not doc.due_date else doc.due_date.isoformat()
    return ["credit_note" if credit_note else "invoice", text(doc.kind), str(doc.number),
            str(doc.credited_number) if doc.credited_number else "", doc.issue_date.isoformat(), due,
            doc.delivery_date.isoformat() if doc.delivery_date else "", text(doc.kid), text(doc.currency),
            *_party(buyer), fmt_amount(doc.net_total), fmt_amount(doc.vat_total), fmt_amount(doc.gross_total),
            text(breakdown), text(seller.get("bank_account", "")), text(filename), "",
            text("|".join(r.filename for r in receipts)), "|".join(r.sha256 for r in receipts)]


def _fee_row(fee) -> list[str]:
    """A reminder fee as its own CSV record: booked on the invoice's customer and KID, outside VAT."""
    amount = ehf.fmt_amount(fee.fee)
    return [REMINDER_FEE, "reminder", str(fee.invoice_number), "", timezone.localdate(fee.sent_at).isoformat(),
            fee.due_date.isoformat(), "", text(fee.kid), text(fee.currency), *_party(fee.buyer or {}),
            amount, "0.00", amount, f"O:0:{amount}:0.00", text(fee.bank_account or ""), "", str(fee.step), "", ""]


# Only what the EHF and the CSV read: snapshot columns, as light named rows (no model instances).
DOC_FIELDS = ("id", "kind", "series", "number", "issue_date", "due_date", "delivery_date", "kid", "currency",
              "seller", "buyer", "net_total", "vat_total", "gross_total", "vat_breakdown", "note",
              "credited_invoice_id", "credited_number", "credited_date", "basis_id", "created_at")
LINE_FIELDS = ("invoice_id", "position", "category_code", "category_label", "description", "quantity", "unit",
               "unit_price", "amount", "vat_code", "vat_rate")


@dataclass(frozen=True)
class ReceiptRef:
    """A receipt an invoice rests on, as the export names it: file name in receipts.zip, its SHA-256."""

    pk: int
    filename: str
    sha256: str


def _receipts_of(chunk) -> dict[int, list[ReceiptRef]]:
    """Per invoice of the chunk (credit notes have none): the receipts of the customer's accepted answers
    on its basis — the offer's acceptance and accepted change notices — issued no later than the invoice.
    One query for the chunk; a receipt not rendered yet is rendered (and sealed) first."""
    from offers.documents import document_filename, document_pdf_ensure
    from offers.models import Receipt

    invoices = [d for d in chunk if d.kind != Invoice.Kind.CREDIT_NOTE]
    if not invoices:
        return {}
    by_basis: dict[int, list] = {}
    for receipt in (Receipt.objects.filter(basis_id__in={d.basis_id for d in invoices})
                    .filter(Q(acceptance__decision="accepted") | Q(change_notice__status="accepted"))
                    .select_related("basis", "acceptance", "change_notice").order_by("created_at", "id")):
        if not receipt.pdf_sha256:
            try:
                document_pdf_ensure("receipt", receipt.pk)
            except Exception:  # noqa: BLE001 — a seal that cannot be made must not hold back the invoices
                log.exception("erp export: receipt %s could not be rendered; exported without it", receipt.pk)
                continue
            receipt.refresh_from_db(fields=["pdf", "pdf_sha256"])
        by_basis.setdefault(receipt.basis_id, []).append(receipt)
    return {d.id: [ReceiptRef(r.pk, document_filename("receipt", r), r.pdf_sha256)
                   for r in by_basis.get(d.basis_id, ()) if r.created_at <= d.created_at] for d in invoices}


def batch_documents(batch, chunk_size: int = CHUNK_SIZE):
    """Yield (document, lines, receipts) for every document of the batch, in number order.

    Streamed: documents come from one server-side cursor (`iterator(chunk_size)`), and the lines and the
    receipts of each chunk of documents are loaded with one query each — memory is bounded by the chunk
    size, not by the number of documents, and the query count is 1 + 2 × documents / chunk_size."""
    docs = (Invoice.objects.filter(erp_export_item__batch=batch)
            .annotate(credited_number=F("credited_invoice__number"),
                      credited_date=F("credited_invoice__issue_date"))
            .order_by("series", "number").values_list(*DOC_FIELDS, named=True)
            .iterator(chunk_size=chunk_size))
    while True:
        chunk = list(itertools.islice(docs, chunk_size))
        if not chunk:
            return
        lines: dict[int, list] = {}
        for ln in (InvoiceLine.objects.filter(invoice_id__in=[d.id for d in chunk])
                   .order_by("invoice_id", "position").values_list(*LINE_FIELDS, named=True)):
            lines.setdefault(ln.invoice_id, []).append(ln)
        receipts = _receipts_of(chunk)
        for doc in chunk:
            yield doc, lines.get(doc.id, ()), receipts.get(doc.id, ())


FEE_FIELDS = {"step": F("reminder__step"), "fee": F("reminder__fee"), "sent_at": F("reminder__sent_at"),
              "due_date": F("reminder__due_date"), "invoice_number": F("reminder__invoice__number"),
              "kid": F("reminder__invoice__kid"), "currency": F("reminder__invoice__currency"),
              "buyer": F("reminder__invoice__buyer"), "bank_account": F("reminder__invoice__seller__bank_account")}


def batch_reminder_fees(batch, chunk_size: int = CHUNK_SIZE):
    """The batch's reminder fees as light named rows, in invoice and step order (one streamed query)."""
    return (ExportReminderFee.objects.filter(batch=batch)
            .order_by("reminder__invoice__series", "reminder__invoice__number", "reminder__step")
            .annotate(**FEE_FIELDS).values_list(*FEE_FIELDS, named=True).iterator(chunk_size=chunk_size))


def _zip_compression() -> int:
    """settings.ERP_EXPORT_ZIP_COMPRESSION: "deflate" (default: level 1, fast, ~4× smaller) or "stored"."""
    if settings.ERP_EXPORT_ZIP_COMPRESSION == "stored":
        return ziparchive.STORED
    return ziparchive.DEFLATED


def _receipt_bytes(ref: ReceiptRef) -> bytes:
    """The stored receipt PDF (through the documents' storage), checked against its recorded SHA-256."""
    from offers.documents import document_pdf_bytes

    _name, content = document_pdf_bytes("receipt", ref.pk)
    if hashlib.sha256(content).hexdigest() != ref.sha256:
        raise RuntimeError(f"receipt {ref.pk}: stored PDF does not match its SHA-256")
    return content


def export_build(*, batch) -> ExportBatch:
    """Write the CSV, the EHF zip and — when an invoice rests on one — the zip of receipts of a claimed
    batch and store them with their SHA-256 (again, under fresh names, if an earlier run stored them and
    crashed before recording them: stored files are never replaced).

    One run builds a batch: the batch's row stays locked until its files are recorded. A run that finds
    the row locked (another run is building it: the nightly export and one started by hand, or a task
    delivered again while the first still runs) or the batch built already leaves it alone and returns
    it as it stands. A run that dies releases the lock with its connection; the next run builds the
    batch."""
    with transaction.atomic():
        claimed = (ExportBatch.objects.select_for_update(skip_locked=True)
                   .filter(pk=batch.pk, status=ExportBatch.Status.CLAIMED).first())
        if claimed is not None:
            _write_files(claimed)
    batch.refresh_from_db()
    return batch


def _write_files(batch) -> None:
    """export_build's work, on the locked batch: stream the documents into the files, store them, record them."""
    rel_dir = f"erp/batch-{batch.pk}"
    counts = {"invoice": 0, "credit_note": 0}
    build, filename = ehf.build, ehf.filename
    written_receipts: set[int] = set()
    with tempfile.TemporaryDirectory(prefix="kf-erp-export-") as tmp:
        tmp_csv, tmp_zip = Path(tmp) / "export.csv", Path(tmp) / "ehf.zip"
        tmp_receipts = Path(tmp) / RECEIPTS_ARCHIVE
        # The files are written locally as the documents stream past (the zip writers spool their
        # central directory to a temporary file, so nothing here grows with the number of documents),
        # then stored whole: a stored file is never seen half-written. Receipts are PDFs (compressed
        # already): stored in their zip as they are, each once per batch.
        with open(tmp_csv, "w", encoding="utf-8", newline="") as fh, open(tmp_zip, "wb") as zfh, \
                ziparchive.StreamingZipWriter(zfh, compression=_zip_compression(), when=timezone.localtime()) as zf, \
                open(tmp_receipts, "wb") as rfh, \
                ziparchive.StreamingZipWriter(rfh, compression=ziparchive.STORED, when=timezone.localtime()) as rz:
            writer = csv.writer(fh, delimiter=";", lineterminator="\r\n")
            writer.writerow(CSV_COLUMNS)
            for doc, lines, receipts in batch_documents(batch):
                name = filename(doc)
                zf.writestr(name, build(doc, lines, credited_number=doc.credited_number,
                                        credited_date=doc.credited_date))
                for ref in receipts:
                    if ref.pk not in written_receipts:
                        rz.writestr(ref.filename, _receipt_bytes(ref))
                        written_receipts.add(ref.pk)
                writer.writerow(_csv_row(doc, name, receipts))
                counts["credit_note" if doc.kind == Invoice.Kind.CREDIT_NOTE else "invoice"] += 1
            for fee in batch_reminder_fees(batch):
                writer.writerow(_fee_row(fee))
        # The receipts' zip is stored only when an invoice of the batch rests on a receipt.
        stored = {}
        for path in (tmp_csv, tmp_zip, tmp_receipts) if written_receipts else (tmp_csv, tmp_zip):
            with open(path, "rb") as fh:
                sha = hashlib.file_digest(fh, "sha256").hexdigest()
                fh.seek(0)
                stored[path.name] = (stored_save(f"{rel_dir}/{path.name}", fh), sha)
    # Totals are summed by the database (no money arithmetic here).
    docs = Invoice.objects.filter(erp_export_item__batch=batch)
    gross = {"invoice": docs.exclude(kind=Invoice.Kind.CREDIT_NOTE).aggregate(s=Sum("gross_total"))["s"] or 0,
             "credit_note": docs.filter(kind=Invoice.Kind.CREDIT_NOTE).aggregate(s=Sum("gross_total"))["s"] or 0}
    fees = ExportReminderFee.objects.filter(batch=batch).aggregate(n=Count("id"), s=Sum("reminder__fee"))
    (csv_name, csv_sha), (zip_name, zip_sha) = stored["export.csv"], stored["ehf.zip"]
    receipts_name, receipts_sha = stored.get(RECEIPTS_ARCHIVE, ("", ""))
    ExportBatch.objects.filter(pk=batch.pk).update(
        csv_file=csv_name, csv_sha256=csv_sha, ehf_archive=zip_name, ehf_sha256=zip_sha,
        receipts_archive=receipts_name, receipts_sha256=receipts_sha, built_at=timezone.now(),
        invoice_count=counts["invoice"], credit_note_count=counts["credit_note"],
        gross_total=gross["invoice"], credit_total=gross["credit_note"],
        document_count=counts["invoice"] + counts["credit_note"], reminder_fee_count=fees["n"],
        reminder_fee_total=fees["s"] or 0, updated_at=timezone.now(), status=ExportBatch.Status.PENDING)


class DeliveryFailed(Exception):
    pass


def export_deliver(*, batch_id: int, adapter=None) -> ExportBatch:
    """Deliver a built batch through the adapter. Idempotent: a delivered batch is left alone.
    Raises DeliveryFailed (after recording the error) so the Celery task retries with backoff."""
    now = timezone.now()
    claimable = Q(status__in=[ExportBatch.Status.PENDING, ExportBatch.Status.FAILED]) | Q(
        status=ExportBatch.Status.DELIVERING, updated_at__lt=now - STALE_DELIVERY)
    got = ExportBatch.objects.filter(claimable, pk=batch_id).update(
        status=ExportBatch.Status.DELIVERING, attempts=F("attempts") + 1, updated_at=now)
    batch = ExportBatch.objects.get(pk=batch_id)
    if not got:
        return batch  # delivered already, being delivered elsewhere, or not built yet
    adapter = adapter or adapters.get_adapter(batch.adapter or None)
    files = adapters.BatchFiles.of(batch)
    try:
        result = adapter.deliver(batch, files)
    except Exception as exc:  # noqa: BLE001 — any adapter failure is recorded and retried
        ExportBatch.objects.filter(pk=batch_id).update(status=ExportBatch.Status.FAILED,
                                                       last_error=str(exc)[:2000], updated_at=timezone.now())
        log.warning("erp export: batch %s delivery failed: %s", batch_id, exc)
        raise DeliveryFailed(str(exc)) from exc
    ExportBatch.objects.filter(pk=batch_id).update(
        status=ExportBatch.Status.DELIVERED, delivered_at=timezone.now(), last_error="",
        delivery_reference=result.reference[:200], updated_at=timezone.now())
    batch.refresh_from_db()
    return batch


def export_redeliver(*, batch, by=None) -> ExportBatch:
    """Mark a batch for delivery again (on demand). The caller queues the delivery task."""
    ExportBatch.objects.filter(pk=batch.pk).exclude(status=ExportBatch.Status.CLAIMED).update(
        status=ExportBatch.Status.PENDING, updated_at=timezone.now())
    batch.refresh_from_db()
    log.info("erp export: batch %s queued for re-delivery by %s", batch.pk, by)
    return batch


def export_unbuilt_batches():
    """Batches whose documents are claimed but whose files were never written (crash in between)."""
    return ExportBatch.objects.filter(status=ExportBatch.Status.CLAIMED)


def export_undelivered_batches():
    now = timezone.now()
    return ExportBatch.objects.filter(
        Q(status=ExportBatch.Status.PENDING) | Q(status=ExportBatch.Status.FAILED)
        | Q(status=ExportBatch.Status.DELIVERING, updated_at__lt=now - STALE_DELIVERY))


def export_run(*, by=None, trigger=ExportBatch.Trigger.SCHEDULE) -> ExportBatch | None:
    """Claim and build (no delivery): repairs unbuilt batches first. Returns the new batch or None."""
    for stale in export_unbuilt_batches():
        export_build(batch=stale)
    batch = export_claim(by=by, trigger=trigger)
    if batch is not None:
        export_build(batch=batch)
    return batch
