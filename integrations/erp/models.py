"""ERP export batches (the outbox of issued documents and reminder fees) and bank payment imports.

Exactly once: `ExportItem.invoice` is unique, so an issued invoice or credit note can belong to one
batch only; `ExportReminderFee.reminder` is unique in the same way for reminder fees. Claiming is an
`INSERT ... SELECT ... ON CONFLICT DO NOTHING` (see services/export.py), which PostgreSQL serialises on the
unique index; two concurrent runs never claim the same document or fee.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.models import MONEY, Invoice, Payment, Reminder


class ExportBatch(models.Model):
    class Status(models.TextChoices):
        CLAIMED = "claimed", _("Reservert")  # documents claimed, files not yet written
        PENDING = "pending", _("Venter på levering")  # files written, not yet delivered
        DELIVERING = "delivering", _("Leveres")
        DELIVERED = "delivered", _("Levert")
        FAILED = "failed", _("Levering feilet")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Nattlig kjøring")
        COMMAND = "command", _("Kommando")
        MANUAL = "manual", _("Manuelt")

    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.CLAIMED,
                              db_index=True)
    trigger = models.CharField(_("utløst av"), max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    adapter = models.CharField(_("ERP-adapter"), max_length=20, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("startet av"))
    created_at = models.DateTimeField(_("opprettet"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    document_count = models.PositiveIntegerField(_("dokumenter"), default=0)
    invoice_count = models.PositiveIntegerField(_("fakturaer"), default=0)
    credit_note_count = models.PositiveIntegerField(_("kreditnotaer"), default=0)
    gross_total = models.DecimalField(_("sum fakturaer"), **MONEY, default=0)
    credit_total = models.DecimalField(_("sum kreditnotaer"), **MONEY, default=0)
    reminder_fee_count = models.PositiveIntegerField(_("purregebyr"), default=0)
    reminder_fee_total = models.DecimalField(_("sum purregebyr"), **MONEY, default=0)
    # Names in the project's storage (written once); the SHA-256 of each file as written, which
    # `manage.py verify_documents` checks after a restore.
    csv_file = models.CharField(_("CSV-fil"), max_length=300, blank=True)
    csv_sha256 = models.CharField(max_length=64, blank=True)
    ehf_archive = models.CharField(_("EHF-arkiv"), max_length=300, blank=True)  # a zip of the EHF XML files
    ehf_sha256 = models.CharField(max_length=64, blank=True)
    # a zip of the receipts the batch's invoices rest on; empty when none of them rests on one
    receipts_archive = models.CharField(_("kvitteringsarkiv"), max_length=300, blank=True)
    receipts_sha256 = models.CharField(max_length=64, blank=True)
    built_at = models.DateTimeField(_("filer skrevet"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("leveringsforsøk"), default=0)
    last_error = models.TextField(_("siste feil"), blank=True)
    delivered_at = models.DateTimeField(_("levert"), null=True, blank=True)
    delivery_reference = models.CharField(_("mottakers referanse"), max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("eksportbunt")
        verbose_name_plural = _("eksportbunter")

    def __str__(self):
        return f"ERP-eksport #{self.pk}"


class ExportItem(models.Model):
    batch = models.ForeignKey(ExportBatch, on_delete=models.PROTECT, related_name="items")
    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, related_name="erp_export_item")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("eksportert dokument")
        verbose_name_plural = _("eksporterte dokumenter")


class ExportReminderFee(models.Model):
    """A reminder fee handed to the ERP (a CSV record of its own, no EHF: a reminder fee is a claim on
    the invoice, not a new invoice). Claimed once its invoice has been exported, in the same way."""

    batch = models.ForeignKey(ExportBatch, on_delete=models.PROTECT, related_name="reminder_fees")
    reminder = models.OneToOneField(Reminder, on_delete=models.PROTECT, related_name="erp_export_fee")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("eksportert purregebyr")
        verbose_name_plural = _("eksporterte purregebyr")


class BankImport(models.Model):
    """One bank file. Its counters move in the same transaction as each credit's row, so they always say
    what was booked; `transaction_count` of `credit_count` credits are done (the progress bar)."""

    class Format(models.TextChoices):
        CAMT054 = "camt054", _("ISO 20022 camt.054")
        OCR = "ocr", _("OCR giro (Nets)")

    class Status(models.TextChoices):
        QUEUED = "queued", _("I kø")
        RUNNING = "running", _("Behandles")
        DONE = "done", _("Ferdig")
        FAILED = "failed", _("Feilet")

    format = models.CharField(_("format"), max_length=10, choices=Format.choices)
    filename = models.CharField(_("filnavn"), max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    file = models.CharField(_("fil"), max_length=300, blank=True)  # its name in the storage; sha256 is its hash
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("lastet opp av"))
    created_at = models.DateTimeField(_("importert"), auto_now_add=True)
    transaction_count = models.PositiveIntegerField(_("transaksjoner"), default=0)
    matched_count = models.PositiveIntegerField(_("avstemt"), default=0)
    mismatched_count = models.PositiveIntegerField(_("avvikende beløp"), default=0)
    unmatched_count = models.PositiveIntegerField(_("uten treff"), default=0)
    duplicate_count = models.PositiveIntegerField(_("allerede importert"), default=0)
    total_amount = models.DecimalField(_("sum"), **MONEY, default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    credit_count = models.PositiveIntegerField(_("innbetalinger i filen"), default=0)
    rejected_count = models.PositiveIntegerField(_("avvist"), default=0)
    error = models.TextField(_("feil"), blank=True)  # why the file (not one credit) could not be imported
    finished_at = models.DateTimeField(_("ferdig"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("bankimport")
        verbose_name_plural = _("bankimporter")

    def __str__(self):
        return f"{self.filename} ({self.created_at:%Y-%m-%d})"


class BankTransaction(models.Model):
    class Status(models.TextChoices):
        MATCHED = "matched", _("Avstemt")
        MISMATCHED = "mismatched", _("Avvikende beløp")
        UNMATCHED = "unmatched", _("Ukjent KID")
        RESOLVED = "resolved", _("Behandlet")

    bank_import = models.ForeignKey(BankImport, on_delete=models.PROTECT, related_name="transactions")
    bank_reference = models.CharField(_("bankens referanse"), max_length=140, unique=True)
    kid = models.CharField(_("KID"), max_length=35, blank=True, db_index=True)
    amount = models.DecimalField(_("beløp"), **MONEY)
    booking_date = models.DateField(_("bokført"), null=True, blank=True)
    value_date = models.DateField(_("valutadato"), null=True, blank=True)
    payer = models.CharField(_("betaler"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, db_index=True)
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("faktura"))
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    expected_amount = models.DecimalField(_("utestående før betaling"), **MONEY, null=True, blank=True)
    message = models.CharField(_("merknad"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("banktransaksjon")
        verbose_name_plural = _("banktransaksjoner")

    def __str__(self):
        return f"{self.bank_reference} {self.amount}"


class BankRejectedCredit(models.Model):
    """A credit in a bank file that could not be booked (too long a reference or KID, an amount that is not
    a positive NOK amount in øre or does not fit, …). Kept as read, shortened, with the reason: the money
    did arrive, so a person must handle it."""

    bank_import = models.ForeignKey(BankImport, on_delete=models.CASCADE, related_name="rejected")
    position = models.PositiveIntegerField(_("nr. i filen"))
    bank_reference = models.CharField(_("bankens referanse"), max_length=140, blank=True)
    kid = models.CharField(_("KID"), max_length=40, blank=True)
    amount_text = models.CharField(_("beløp i filen"), max_length=40, blank=True)
    currency = models.CharField(_("valuta"), max_length=10, blank=True)
    payer = models.CharField(_("betaler"), max_length=200, blank=True)
    reason = models.CharField(_("årsak"), max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["bank_import", "position"]
        constraints = [models.UniqueConstraint(fields=["bank_import", "position"], name="erp_rejected_once")]
        verbose_name = _("avvist innbetaling")
        verbose_name_plural = _("avviste innbetalinger")

    def __str__(self):
        return f"{self.bank_reference or '?'}: {self.reason}"
