"""ERP export and bank payment import workflows.

Export, in three idempotent steps (each safe to repeat after a crash):
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
   follow as CSV records of their own (`reminder_fee`, no EHF), from one more streamed query.
3. `export_deliver` — claims the batch for delivery with a conditional UPDATE, hands the files to
   the adapter; a failure is recorded (attempts, last error) and raised so the task retries.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import itertools
import logging
import os
import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import selectors as billing_selectors
from billing import services as billing_services
from billing.errors import BillingError, InvalidInput
from billing.models import Invoice, InvoiceLine, Payment, Reminder
from billing.templatetags.money import nok

from . import adapters, ehf, ziparchive
from .csvcells import escape as text
from .models import (
    BankImport,
    BankRejectedCredit,
    BankTransaction,
    ExportBatch,
    ExportItem,
    ExportReminderFee,
)

log = logging.getLogger(__name__)

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
               "bank_account", "ehf_file", "reminder_step"]
REMINDER_FEE = "reminder_fee"


def media_path(rel: str) -> Path:
    return Path(settings.MEDIA_ROOT) / rel


# --- export ---------------------------------------------------------------------------------------


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


def _csv_row(doc, filename: str) -> list[str]:
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
            text(breakdown), text(seller.get("bank_account", "")), text(filename), ""]


def _fee_row(fee) -> list[str]:
    """A reminder fee as its own CSV record: booked on the invoice's customer and KID, outside VAT."""
    amount = ehf.fmt_amount(fee.fee)
    return [REMINDER_FEE, "reminder", str(fee.invoice_number), "", timezone.localdate(fee.sent_at).isoformat(),
            fee.due_date.isoformat(), "", text(fee.kid), text(fee.currency), *_party(fee.buyer or {}),
            amount, "0.00", amount, f"O:0:{amount}:0.00", text(fee.bank_account or ""), "", str(fee.step)]


# Only what the EHF and the CSV read: snapshot columns, as light named rows (no model instances).
DOC_FIELDS = ("id", "kind", "series", "number", "issue_date", "due_date", "delivery_date", "kid", "currency",
              "seller", "buyer", "net_total", "vat_total", "gross_total", "vat_breakdown", "note",
              "credited_invoice_id", "credited_number", "credited_date")
LINE_FIELDS = ("invoice_id", "position", "category_code", "category_label", "description", "quantity", "unit",
               "unit_price", "amount", "vat_code", "vat_rate")


def batch_documents(batch, chunk_size: int = CHUNK_SIZE):
    """Yield (document, lines) for every document of the batch, in number order.

    Streamed: documents come from one server-side cursor (`iterator(chunk_size)`), and the lines of
    each chunk of documents are loaded with ONE query — memory is bounded by the chunk size, not by
    the number of documents, and the query count is 1 + documents / chunk_size."""
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
        for doc in chunk:
            yield doc, lines.get(doc.id, ())


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
    if getattr(settings, "ERP_EXPORT_ZIP_COMPRESSION", "deflate") == "stored":
        return ziparchive.STORED
    return ziparchive.DEFLATED


def export_build(*, batch) -> ExportBatch:
    """Write the CSV and the EHF zip of a claimed batch (again, if it was written before)."""
    rel_dir = Path("erp") / f"batch-{batch.pk}"
    out_dir = media_path(str(rel_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_rel, zip_rel = rel_dir / "export.csv", rel_dir / "ehf.zip"
    counts = {"invoice": 0, "credit_note": 0}
    tmp_csv, tmp_zip = out_dir / "export.csv.part", out_dir / "ehf.zip.part"
    build, filename = ehf.build, ehf.filename
    # Both files are written as the documents stream past; the zip writer spools its central
    # directory to a temporary file, so nothing here grows with the number of documents.
    with open(tmp_csv, "w", encoding="utf-8", newline="") as fh, open(tmp_zip, "wb") as zfh, \
            ziparchive.StreamingZipWriter(zfh, compression=_zip_compression(), when=timezone.localtime()) as zf:
        writer = csv.writer(fh, delimiter=";", lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for doc, lines in batch_documents(batch):
            name = filename(doc)
            zf.writestr(name, build(doc, lines, credited_number=doc.credited_number,
                                    credited_date=doc.credited_date))
            writer.writerow(_csv_row(doc, name))
            counts["credit_note" if doc.kind == Invoice.Kind.CREDIT_NOTE else "invoice"] += 1
        for fee in batch_reminder_fees(batch):
            writer.writerow(_fee_row(fee))
    # Totals are summed by the database (no money arithmetic here).
    docs = Invoice.objects.filter(erp_export_item__batch=batch)
    gross = {"invoice": docs.exclude(kind=Invoice.Kind.CREDIT_NOTE).aggregate(s=Sum("gross_total"))["s"] or 0,
             "credit_note": docs.filter(kind=Invoice.Kind.CREDIT_NOTE).aggregate(s=Sum("gross_total"))["s"] or 0}
    fees = ExportReminderFee.objects.filter(batch=batch).aggregate(n=Count("id"), s=Sum("reminder__fee"))
    os.replace(tmp_csv, out_dir / "export.csv")
    os.replace(tmp_zip, out_dir / "ehf.zip")
    ExportBatch.objects.filter(pk=batch.pk).update(
        csv_file=str(csv_rel), ehf_archive=str(zip_rel), built_at=timezone.now(),
        invoice_count=counts["invoice"], credit_note_count=counts["credit_note"],
        gross_total=gross["invoice"], credit_total=gross["credit_note"],
        document_count=counts["invoice"] + counts["credit_note"], reminder_fee_count=fees["n"],
        reminder_fee_total=fees["s"] or 0, updated_at=timezone.now(), status=ExportBatch.Status.PENDING)
    batch.refresh_from_db()
    return batch


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
    files = adapters.BatchFiles(media_path(batch.csv_file), media_path(batch.ehf_archive))
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


# --- bank payment import --------------------------------------------------------------------------
#
# A file is recorded first (`bank_import_create`: the BankImport row and the stored file, or a failed
# import with the reason when it is not a bank file), then booked credit by credit
# (`bank_import_process`): each credit is checked, then registered or listed as rejected, and the
# import's counters move in the same transaction as the credit's row — the summary is always what was
# booked, also while a large file is being processed in the background or after a crash (a new run
# continues after the last booked credit).

KID_MAX = 25  # Nets: a KID is 2–25 digits
AMOUNT_LIMIT = Decimal(10) ** (BankTransaction._meta.get_field("amount").max_digits
                               - BankTransaction._meta.get_field("amount").decimal_places)
REFERENCE_MAX = BankTransaction._meta.get_field("bank_reference").max_length
PAYER_MAX = BankTransaction._meta.get_field("payer").max_length
AMOUNT_TEXT = re.compile(r"-?[0-9]{1,40}(\.[0-9]{1,40})?")


@dataclass
class Credit:
    bank_reference: str
    amount_text: str
    kid: str = ""
    currency: str = ""
    booking_date: dt.date | None = None
    value_date: dt.date | None = None
    payer: str = ""
    amount: Decimal | None = None  # set by credit_check when the credit can be booked


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(el, *path):
    for name in path:
        if el is None:
            return None
        el = next((c for c in el if _local(c.tag) == name), None)
    return el


def _text(el, *path) -> str:
    found = _child(el, *path)
    return (found.text or "").strip() if found is not None else ""


def _date(el, name) -> dt.date | None:
    node = _child(el, name)
    if node is None:
        return None
    raw = _text(node, "Dt") or _text(node, "DtTm")[:10]
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


class BankFileInvalid(InvalidInput):
    """The file is not a bank file we can read; `bank_import` is its (failed) record."""

    def __init__(self, message, *, bank_import):
        super().__init__(message)
        self.bank_import = bank_import


def credit_check(credit: Credit) -> str:
    """Why this credit cannot be booked ("" when it can; then `credit.amount` is set): what the bank file
    says must fit what we store — reference and KID lengths, a positive NOK amount in øre that fits
    max_digits, a KID of digits only."""
    ref = credit.bank_reference
    if not ref:
        return _("Mangler bankens referanse (AcctSvcrRef).")
    if len(ref) > REFERENCE_MAX:
        return _("Bankens referanse er lengre enn %(n)s tegn.") % {"n": REFERENCE_MAX}
    if credit.currency and credit.currency != "NOK":
        return _("Valuta %(c)s: bare innbetalinger i NOK kan registreres.") % {"c": credit.currency[:10]}
    raw = credit.amount_text
    if not AMOUNT_TEXT.fullmatch(raw):
        return _("Ugyldig beløp.")
    amount = Decimal(raw)
    if amount <= 0:
        return _("Beløpet må være større enn null.")
    if amount >= AMOUNT_LIMIT:
        return _("Beløpet er for stort til å være en innbetaling.")
    if amount != amount.quantize(Decimal("0.01"), rounding=ROUND_DOWN):
        return _("Beløpet har mer enn to desimaler.")
    kid = credit.kid
    if kid and not (kid.isascii() and kid.isdigit() and 2 <= len(kid) <= KID_MAX):
        return _("KID må være 2–%(n)s sifre.") % {"n": KID_MAX}
    credit.amount = amount.quantize(Decimal("0.01"))
    return ""


def parse_camt054(data: bytes) -> list[Credit]:
    """Credits (CRDT) of an ISO 20022 camt.054 notification, any message version (namespace-agnostic).
    Raises InvalidInput only when the file as a whole is not one; each credit is checked on its own."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(_("Filen er ikke gyldig XML: %s") % exc) from exc
    if not any(_local(el.tag) == "BkToCstmrDbtCdtNtfctn" for el in root.iter()):
        raise InvalidInput(_("Filen er ikke en camt.054-melding (BkToCstmrDbtCdtNtfctn)."))
    credits = []
    for ntry in (el for el in root.iter() if _local(el.tag) == "Ntry"):
        if _text(ntry, "CdtDbtInd") != "CRDT":
            continue
        status = _text(ntry, "Sts") or _text(ntry, "Sts", "Cd")
        if status and status not in ("BOOK",):
            continue  # pending/info entries are not money yet
        booking, value = _date(ntry, "BookgDt"), _date(ntry, "ValDt")
        entry_ref = _text(ntry, "AcctSvcrRef") or _text(ntry, "NtryRef")
        txs = [tx for dtls in ntry if _local(dtls.tag) == "NtryDtls" for tx in dtls if _local(tx.tag) == "TxDtls"]
        for n, tx in enumerate(txs or [ntry], 1):
            amt = next((el for el in (_child(tx, "Amt"), _child(tx, "AmtDtls", "TxAmt", "Amt"), _child(ntry, "Amt"))
                        if el is not None and (el.text or "").strip()), None)
            ref = _text(tx, "Refs", "AcctSvcrRef") or (f"{entry_ref}-{n}" if len(txs) > 1 and entry_ref
                                                      else entry_ref)
            kid = ""
            for strd in (el for el in tx.iter() if _local(el.tag) == "Strd"):
                kid = _text(strd, "CdtrRefInf", "Ref")
                if kid:
                    break
            payer = _text(tx, "RltdPties", "Dbtr", "Nm") or _text(tx, "RltdPties", "Dbtr", "Pty", "Nm")
            credits.append(Credit(bank_reference=ref, amount_text=(amt.text or "").strip() if amt is not None else "",
                                  currency=(amt.get("Ccy") or "").strip() if amt is not None else "",
                                  kid=kid.replace(" ", ""), booking_date=booking, value_date=value,
                                  payer=payer[:PAYER_MAX]))
    return credits


def parse_ocr(data: bytes) -> list[Credit]:
    """Nets OCR giro file (80-character records): amount item 1 (record 30) and 2 (record 31)."""
    text_ = data.decode("latin-1")
    credits, assignment = [], ""
    pending = None
    for raw in text_.splitlines():
        line = raw.rstrip("\r\n").ljust(80)
        if not line.startswith("NY"):
            continue
        record = line[6:8]
        if record == "20":
            assignment = line[17:24].strip()
        elif record == "30":
            settle = line[15:21]
            try:
                settle_date = dt.datetime.strptime(settle, "%d%m%y").date()
            except ValueError:
                settle_date = None
            digits = line[32:49].strip() or "0"
            sign = "-" if line[31:32] == "-" else ""
            amount = (f"{sign}{int(digits) // 100}.{int(digits) % 100:02d}" if digits.isascii() and digits.isdigit()
                      else digits)
            pending = Credit(bank_reference=f"OCR-{assignment}-{line[8:15].strip()}-{settle}", amount_text=amount,
                             kid=line[49:74].strip(), booking_date=settle_date, value_date=settle_date)
            credits.append(pending)
        elif record == "31" and pending is not None:
            pending.bank_reference = f"OCR-{line[15:25].strip() or pending.bank_reference}-{line[8:15].strip()}"
    return credits


def _parse(data: bytes, fmt: str) -> list[Credit]:
    if fmt == BankImport.Format.CAMT054:
        return parse_camt054(data)
    credits = parse_ocr(data)
    if not credits and not data.strip().startswith(b"NY"):
        raise InvalidInput(_("Filen er verken camt.054 eller en OCR-fil."))
    return credits


def _match_invoice(kid: str) -> Invoice | None:
    if not kid:
        return None
    return (Invoice.objects.filter(kid=kid, number__isnull=False).exclude(kind=Invoice.Kind.CREDIT_NOTE)
            .order_by("-issue_date").first())


def _short(value: str, size: int) -> str:
    return value if len(value) <= size else value[:size - 1] + "…"


def _reject(credit: Credit, bank_import: BankImport, position: int, reason: str) -> str:
    BankRejectedCredit.objects.create(
        bank_import=bank_import, position=position, bank_reference=_short(credit.bank_reference, 140),
        kid=_short(credit.kid, 40), amount_text=_short(credit.amount_text, 40),
        currency=_short(credit.currency, 10), payer=_short(credit.payer, 200), reason=_short(reason, 300))
    return "rejected"


def _register(credit: Credit, bank_import: BankImport, position: int) -> str:
    """One credit → one BankTransaction (or a rejected credit); returns its status, 'duplicate' (seen
    before) or 'rejected'. Runs inside the caller's transaction."""
    reason = credit_check(credit)
    if reason:
        return _reject(credit, bank_import, position, reason)
    if BankTransaction.objects.filter(bank_reference=credit.bank_reference).exists():
        return "duplicate"
    invoice = _match_invoice(credit.kid)
    row = BankTransaction(bank_import=bank_import, bank_reference=credit.bank_reference, kid=credit.kid,
                          amount=credit.amount, booking_date=credit.booking_date, value_date=credit.value_date,
                          payer=credit.payer, invoice=invoice)
    try:
        with transaction.atomic():
            if invoice is None:
                row.status = BankTransaction.Status.UNMATCHED
                row.message = _("Ingen faktura med denne KID-en.") if credit.kid else _("Innbetalingen mangler KID.")
                row.save()
                return row.status
            # What the portal asks for: the balance plus unpaid reminder fees (one rule, in billing).
            owed = billing_selectors.amount_owed(invoice)
            payment, _created = billing_services.payment_register(
                invoice=invoice, by=None, amount=credit.amount, method=Payment.Method.BANK_TRANSFER,
                provider="bank", provider_reference=credit.bank_reference,
                note=_("Bankimport %(f)s") % {"f": bank_import.filename})
            row.payment = payment
            row.expected_amount = owed
            if credit.amount == owed:
                row.status = BankTransaction.Status.MATCHED
            else:
                row.status = BankTransaction.Status.MISMATCHED
                row.message = (_("Overbetaling: %(a)s innbetalt, %(o)s å betale.") if credit.amount > owed
                               else _("Delbetaling: %(a)s innbetalt, %(o)s å betale.")) % {
                    "a": nok(credit.amount), "o": nok(owed)}  # "100,00 kr", not "100.00"
            row.save()
            return row.status
    except IntegrityError:  # a concurrent import of the same file registered it first
        return "duplicate"
    except BillingError as exc:
        with transaction.atomic():
            row.status = BankTransaction.Status.MISMATCHED
            row.payment = None
            row.expected_amount = None
            row.message = _short(str(getattr(exc, "message", exc)), 300)
            row.save()
        return row.status
    except DatabaseError as exc:  # checked above; should the database still refuse it, it is listed, not lost
        log.warning("bank import %s: credit %s refused by the database: %s", bank_import.pk, position, exc)
        return _reject(credit, bank_import, position, _("Kunne ikke lagres: %s") % str(exc)[:200])


COUNTERS = {"matched": "matched_count", "mismatched": "mismatched_count", "unmatched": "unmatched_count",
            "duplicate": "duplicate_count", "rejected": "rejected_count"}


def _book(*, bank_import_id: int, position: int, credit: Credit) -> None:
    """Book credit number `position` (1-based) of the import, once: the import row is locked and its
    counter says whether this credit was booked already (by an earlier, interrupted run)."""
    with transaction.atomic():
        bank_import = BankImport.objects.select_for_update().get(pk=bank_import_id)
        if bank_import.transaction_count >= position:
            return
        outcome = _register(credit, bank_import, position)
        booked = outcome in ("matched", "mismatched", "unmatched")
        BankImport.objects.filter(pk=bank_import_id).update(
            transaction_count=F("transaction_count") + 1, **{COUNTERS[outcome]: F(COUNTERS[outcome]) + 1},
            total_amount=F("total_amount") + (credit.amount if booked else Decimal(0)))


def bank_import_create(*, data: bytes, filename: str, by=None, fmt: str | None = None) -> BankImport:
    """Record a bank file (camt.054 or OCR) and count its credits; nothing is booked yet (then
    `bank_import_process`, at once or in the background). A file that is not a bank file is recorded as a
    failed import with the reason, and BankFileInvalid (an InvalidInput) is raised with that reason."""
    if fmt is None:
        fmt = BankImport.Format.CAMT054 if data[:200].lstrip().startswith(b"<") else BankImport.Format.OCR
    sha = hashlib.sha256(data).hexdigest()
    bank_import = BankImport.objects.create(format=fmt, filename=filename[:255], sha256=sha, uploaded_by=by,
                                            status=BankImport.Status.QUEUED)
    rel = Path("erp") / "bank" / f"import-{bank_import.pk}-{sha[:12]}"
    media_path(str(rel.parent)).mkdir(parents=True, exist_ok=True)
    media_path(str(rel)).write_bytes(data)
    try:
        credits = _parse(data, fmt)
    except InvalidInput as exc:
        BankImport.objects.filter(pk=bank_import.pk).update(
            file=str(rel), status=BankImport.Status.FAILED, error=_short(str(exc.message), 1000),
            finished_at=timezone.now())
        bank_import.refresh_from_db()
        raise BankFileInvalid(exc.message, bank_import=bank_import) from exc
    BankImport.objects.filter(pk=bank_import.pk).update(file=str(rel), credit_count=len(credits))
    bank_import.refresh_from_db()
    return bank_import


def bank_import_process(*, bank_import_id: int) -> BankImport:
    """Book the credits of a recorded import, credit by credit. Idempotent: a finished import is left
    alone, an interrupted one continues after its last booked credit, and a bank reference is booked
    once across all imports. An unexpected failure stops the import as failed with the reason; what was
    booked before it stays booked and counted."""
    BankImport.objects.filter(pk=bank_import_id, status=BankImport.Status.QUEUED).update(
        status=BankImport.Status.RUNNING)
    bank_import = BankImport.objects.get(pk=bank_import_id)
    if bank_import.status != BankImport.Status.RUNNING:
        return bank_import
    try:
        credits = _parse(media_path(bank_import.file).read_bytes(), bank_import.format)
        for position, credit in enumerate(credits, 1):
            if position > bank_import.transaction_count:
                _book(bank_import_id=bank_import_id, position=position, credit=credit)
    except Exception as exc:  # noqa: BLE001 — recorded on the import and shown to the case worker
        log.exception("bank import %s stopped", bank_import_id)
        BankImport.objects.filter(pk=bank_import_id).update(
            status=BankImport.Status.FAILED, finished_at=timezone.now(),
            error=_short(_("Importen stoppet: %s") % getattr(exc, "message", exc), 1000))
    else:
        BankImport.objects.filter(pk=bank_import_id, status=BankImport.Status.RUNNING).update(
            status=BankImport.Status.DONE, finished_at=timezone.now())
    bank_import.refresh_from_db()
    return bank_import


def bank_import_file(*, data: bytes, filename: str, by=None, fmt: str | None = None) -> BankImport:
    """Record and book a bank file at once (command line, drop folder, small uploads)."""
    bank_import = bank_import_create(data=data, filename=filename, by=by, fmt=fmt)
    return bank_import_process(bank_import_id=bank_import.pk)


def bank_imports_unfinished() -> list[int]:
    """Imports still queued or running (e.g. their task was lost while the broker was down)."""
    return list(BankImport.objects.filter(status__in=[BankImport.Status.QUEUED, BankImport.Status.RUNNING])
                .order_by("pk").values_list("pk", flat=True))


def bank_import_in_background(bank_import: BankImport) -> bool:
    """Large files are booked by a Celery task (the page shows progress) instead of in the request."""
    return bank_import.credit_count > settings.ERP_BANK_BACKGROUND_CREDITS


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    n = 1
    while target.exists():
        target = folder / f"{path.stem}.{n}{path.suffix}"
        n += 1
    os.replace(path, target)
    return target


def bank_import_dir(*, directory, by=None) -> list[BankImport]:
    """Import every file in a drop directory: a booked file is moved to done/, a file that cannot be
    imported to failed/ with the reason next to it (<file>.reason.txt), and the next file follows."""
    directory = Path(directory)
    imports = []
    for path in sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")):
        bank_import, reason = None, ""
        try:
            bank_import = bank_import_file(data=path.read_bytes(), filename=path.name, by=by)
            reason = bank_import.error if bank_import.status == BankImport.Status.FAILED else ""
        except BankFileInvalid as exc:
            reason, bank_import = str(exc.message), exc.bank_import
        except Exception as exc:  # noqa: BLE001 — one bad file must not stop the folder
            log.exception("bank import of %s failed", path)
            reason = str(exc)
        if bank_import is not None:
            imports.append(bank_import)
        if reason:
            moved = _move(path, directory / "failed")
            moved.with_name(moved.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
            log.warning("bank import: %s moved to failed/: %s", path.name, reason)
        else:
            _move(path, directory / "done")
    return imports


def attention_transactions():
    """What the case worker must look at: unknown KIDs and amounts that do not match."""
    return (BankTransaction.objects.filter(status__in=[BankTransaction.Status.UNMATCHED,
                                                      BankTransaction.Status.MISMATCHED])
            .select_related("invoice", "bank_import").order_by("-created_at", "-id"))


def transaction_resolve(*, tx: BankTransaction, by) -> BankTransaction:
    """The case worker has handled an unmatched/mismatched credit (refund, manual booking …)."""
    with transaction.atomic():
        tx = BankTransaction.objects.select_for_update().get(pk=tx.pk)
        if tx.status in (BankTransaction.Status.UNMATCHED, BankTransaction.Status.MISMATCHED):
            tx.message = (tx.message + " " + _("Behandlet av %s.") % (by.get_username() if by else "system"))[:300]
            tx.status = BankTransaction.Status.RESOLVED
            tx.save(update_fields=["status", "message"])
    return tx
