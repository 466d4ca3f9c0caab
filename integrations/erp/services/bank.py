"""Bank payment import.

A file is recorded first (`bank_import_create`: the BankImport row and the stored file, or a failed
import with the reason when it is not a bank file), then booked credit by credit
(`bank_import_process`): each credit is checked, then registered or listed as rejected, and the
import's counters move in the same transaction as the credit's row — the summary is always what was
booked, also while a large file is being processed in the background or after a crash (a new run
continues after the last booked credit).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import providers
from billing import selectors as billing_selectors
from billing import services as billing_services
from billing.errors import BillingError, InvalidInput
from billing.formatting import nok
from billing.models import Invoice, Payment

from ..models import BankImport, BankRejectedCredit, BankTransaction
from .bank_files import Credit, credit_check, parse_bank_file
from .media import stored_read, stored_save

log = logging.getLogger("integrations.erp.services")


class BankFileInvalid(InvalidInput):
    """The file is not a bank file we can read; `bank_import` is its (failed) record."""

    def __init__(self, message, *, bank_import):
        super().__init__(message)
        self.bank_import = bank_import


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
                provider=providers.BANK, provider_reference=credit.bank_reference,
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


def bank_credit_book(*, bank_import_id: int, position: int, credit: Credit) -> None:
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
    rel = stored_save(f"erp/bank/import-{bank_import.pk}-{sha[:12]}", data)
    try:
        credits = parse_bank_file(data, fmt)
    except InvalidInput as exc:
        BankImport.objects.filter(pk=bank_import.pk).update(
            file=rel, status=BankImport.Status.FAILED, error=_short(str(exc.message), 1000),
            finished_at=timezone.now())
        bank_import.refresh_from_db()
        raise BankFileInvalid(exc.message, bank_import=bank_import) from exc
    BankImport.objects.filter(pk=bank_import.pk).update(file=rel, credit_count=len(credits))
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
        credits = parse_bank_file(stored_read(bank_import.file), bank_import.format)
        for position, credit in enumerate(credits, 1):
            if position > bank_import.transaction_count:
                bank_credit_book(bank_import_id=bank_import_id, position=position, credit=credit)
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


PROCESSING = "processing"  # a drop folder's file while one run imports it
STALE_CLAIM_S = 3600  # a file left that long in processing/ was left by a run that died: it is taken again


def _claim(path: Path, processing: Path) -> Path | None:
    """Take a file of the drop folder for this run: moved into processing/ (one rename, so two runs at
    once — the beat job and the command, or a task handed out twice — never both take it) and touched,
    so a claim left behind by a run that died is known by its age. None when another run took it."""
    try:
        claimed = _move(path, processing)
    except FileNotFoundError:
        return None
    os.utime(claimed)
    return claimed


def _release_stale_claims(processing: Path, directory: Path) -> None:
    """Files a run that died left in processing/ go back to the folder to be imported again (credits
    already booked are recognised as duplicates)."""
    if not processing.is_dir():
        return
    now = time.time()
    for path in processing.iterdir():
        try:
            if path.is_file() and now - path.stat().st_mtime > STALE_CLAIM_S:
                _move(path, directory)
                log.warning("bank import: %s was left in %s/ by a run that stopped; taken again", path.name,
                            PROCESSING)
        except FileNotFoundError:  # another run moved it meanwhile
            continue


def bank_import_dir(*, directory, by=None, settle_s: float = 0) -> list[BankImport]:
    """Import every file in a drop directory: a booked file is moved to done/, a file that cannot be
    imported to failed/ with the reason next to it (<file>.reason.txt), and the next file follows.
    Each file is claimed first (processing/), so runs at the same time import each file once. A file
    changed less than `settle_s` seconds ago is left for the next run: the bank may still be writing it."""
    directory = Path(directory)
    processing = directory / PROCESSING
    _release_stale_claims(processing, directory)
    imports = []
    for path in sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")):
        try:
            if settle_s and time.time() - path.stat().st_mtime < settle_s:
                continue
        except FileNotFoundError:  # taken by another run
            continue
        claimed = _claim(path, processing)
        if claimed is None:
            continue
        bank_import, reason = None, ""
        try:
            bank_import = bank_import_file(data=claimed.read_bytes(), filename=path.name, by=by)
            reason = bank_import.error if bank_import.status == BankImport.Status.FAILED else ""
        except BankFileInvalid as exc:
            reason, bank_import = str(exc.message), exc.bank_import
        except Exception as exc:  # noqa: BLE001 — one bad file must not stop the folder
            log.exception("bank import of %s failed", path)
            reason = str(exc)
        if bank_import is not None:
            imports.append(bank_import)
        if reason:
            moved = _move(claimed, directory / "failed")
            moved.with_name(moved.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
            log.warning("bank import: %s moved to failed/: %s", path.name, reason)
        else:
            _move(claimed, directory / "done")
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
