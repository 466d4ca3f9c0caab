"""Issued documents: invoices and credit notes, their snapshot lines, numbering and reminders."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.status import InvoiceStatus

from .bases import CostLine, InvoiceBasis
from .common import MONEY, QTY


class NumberSeries(models.Model):
    """A gapless counter, locked in the issuing transaction."""

    name = models.CharField(max_length=20, primary_key=True)
    next_value = models.PositiveBigIntegerField(default=1)

    class Meta:
        verbose_name = _("nummerserie")
        verbose_name_plural = _("nummerserier")

    def __str__(self):
        return f"{self.name}: {self.next_value}"


class ImmutableError(Exception):
    """An issued document was about to change."""


class Invoice(models.Model):
    class Kind(models.TextChoices):
        PREPAYMENT = "prepayment", _("Forskuddsfaktura")
        ORDINARY = "ordinary", _("Faktura")
        CHANGE = "change", _("Endringsfaktura")
        FINAL = "final", _("Sluttfaktura")
        CREDIT_NOTE = "credit_note", _("Kreditnota")

    Status = InvoiceStatus  # choices and transitions: billing/status.py

    # Fields that never change once the document is issued.
    FROZEN_FIELDS = ("basis_id", "kind", "series", "number", "issue_date", "due_date", "delivery_date", "kid",
                     "vat_regime", "currency", "seller", "buyer", "net_total", "vat_total", "gross_total",
                     "vat_breakdown", "credited_invoice_id", "note")

    basis = models.ForeignKey(InvoiceBasis, on_delete=models.PROTECT, related_name="invoices")
    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices)
    series = models.CharField(_("serie"), max_length=20)
    number = models.PositiveBigIntegerField(_("fakturanummer"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT,
                              db_index=True)
    issue_date = models.DateField(_("fakturadato"), null=True, blank=True)
    due_date = models.DateField(_("forfallsdato"), null=True, blank=True, db_index=True)
    delivery_date = models.DateField(_("leveringsdato"), null=True, blank=True)
    kid = models.CharField(_("KID"), max_length=25, blank=True, db_index=True)
    vat_regime = models.CharField(_("MVA-regime"), max_length=8, choices=[("O", _("Utenfor MVA")),
                                                                            ("taxable", _("MVA-pliktig"))])
    currency = models.CharField(max_length=3, default="NOK")
    seller = models.JSONField(_("selger"), default=dict)
    buyer = models.JSONField(_("kjøper"), default=dict)
    net_total = models.DecimalField(_("netto"), **MONEY, default=Decimal("0"))
    vat_total = models.DecimalField(_("MVA"), **MONEY, default=Decimal("0"))
    gross_total = models.DecimalField(_("å betale"), **MONEY, default=Decimal("0"))
    vat_breakdown = models.JSONField(_("MVA per kategori"), default=list)
    credited_invoice = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="credit_notes", verbose_name=_("krediterer"))
    note = models.TextField(_("merknad"), blank=True)
    pdf = models.FileField(upload_to="invoices/%Y/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["series", "number"], name="invoice_unique_number")]
        verbose_name = _("faktura")
        verbose_name_plural = _("fakturaer")
        indexes = [models.Index(fields=["basis", "kind"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.display_number}"

    @property
    def display_number(self) -> str:
        return str(self.number) if self.number else f"({_('utkast')})"

    @property
    def is_issued(self) -> bool:
        return self.number is not None

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._frozen = {f: getattr(instance, f) for f in cls.FROZEN_FIELDS if f in instance.__dict__}
        instance._was_issued = instance.number is not None
        return instance

    def save(self, *args, **kwargs):
        if getattr(self, "_was_issued", False):
            changed = [f for f, v in self._frozen.items() if getattr(self, f) != v]
            if changed:
                raise ImmutableError(f"invoice {self.number} is issued; cannot change {', '.join(changed)}")
        super().save(*args, **kwargs)
        if self.number is not None:
            self._frozen = {f: getattr(self, f) for f in self.FROZEN_FIELDS}
            self._was_issued = True

    def delete(self, *args, **kwargs):
        if self.number is not None:
            raise ImmutableError(f"invoice {self.number} is issued and cannot be deleted")
        return super().delete(*args, **kwargs)


class InvoiceLine(models.Model):
    """A snapshot line of an invoice: copied, never read live again."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField()
    cost_line = models.ForeignKey(CostLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    category_code = models.CharField(max_length=40)
    category_label = models.CharField(max_length=100)
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(**QTY)
    unit = models.CharField(max_length=20)
    unit_price = models.DecimalField(**MONEY)
    amount = models.DecimalField(**MONEY)
    vat_code = models.CharField(max_length=2)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    customer_caused = models.BooleanField(default=False)

    class Meta:
        ordering = ["position"]
        verbose_name = _("fakturalinje")
        verbose_name_plural = _("fakturalinjer")

    def save(self, *args, **kwargs):
        if self.pk and Invoice.objects.filter(pk=self.invoice_id, number__isnull=False).exists():
            raise ImmutableError("lines of an issued invoice cannot change")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if Invoice.objects.filter(pk=self.invoice_id, number__isnull=False).exists():
            raise ImmutableError("lines of an issued invoice cannot be deleted")
        return super().delete(*args, **kwargs)


class Reminder(models.Model):
    """Purring: at most two per invoice (step 1 and 2), each with the company's reminder fee.

    The fee is a claim on the reminder (outside the VAT scope, not a sale), payable with the invoice's KID;
    payments beyond the invoice's balance settle unpaid reminder fees before anything counts as overpaid."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="reminders")
    step = models.PositiveSmallIntegerField(_("purring nr."))
    fee = models.DecimalField(_("purregebyr"), **MONEY, default=Decimal("0"))
    outstanding = models.DecimalField(_("utestående"), **MONEY, default=Decimal("0"))
    due_date = models.DateField(_("ny betalingsfrist"))
    pdf = models.FileField(upload_to="reminders/%Y/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(_("sendt"), auto_now_add=True)

    class Meta:
        ordering = ["invoice", "step"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "step"], name="reminder_once_per_step"),
            models.CheckConstraint(condition=models.Q(step__in=[1, 2]), name="reminder_step_1_or_2"),
        ]
        verbose_name = _("purring")
        verbose_name_plural = _("purringer")

    def __str__(self):
        return f"{self.invoice} purring {self.step}"
