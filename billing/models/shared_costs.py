"""Shared main components (felles anlegg), their participants and the ten-year refunds."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.status import TenYearRefundStatus

from .bases import InvoiceBasis
from .catalog import CostCategory, VatCode
from .common import MONEY, QTY, AllocationMethod


class SharedCost(models.Model):
    """A main component (hovedkomponent) shared by several connections (§ 16-9)."""

    class CapacityUnit(models.TextChoices):
        KVA = "kVA", "kVA"
        KW = "kW", "kW"
        A = "A", "A"

    reference = models.CharField(_("ekstern referanse"), max_length=100, null=True, blank=True, unique=True)
    description = models.CharField(_("beskrivelse"), max_length=200)
    capacity = models.DecimalField(_("kapasitet"), max_digits=12, decimal_places=3,
                                   validators=[MinValueValidator(Decimal("0.001"))])
    capacity_unit = models.CharField(_("enhet"), max_length=3, choices=CapacityUnit.choices,
                                     default=CapacityUnit.KVA)
    allocation = models.CharField(_("fordelingsnøkkel"), max_length=30, choices=AllocationMethod.choices,
                                  default=AllocationMethod.COMPONENT_CAPACITY)
    expected_count = models.PositiveIntegerField(_("forventet antall tilknytninger"), null=True, blank=True)
    energised_on = models.DateField(_("spenningssatt"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("felles anlegg")
        verbose_name_plural = _("felles anlegg")

    def __str__(self):
        return self.description


class SharedCostLine(models.Model):
    shared_cost = models.ForeignKey(SharedCost, on_delete=models.CASCADE, related_name="lines")
    category = models.ForeignKey(CostCategory, on_delete=models.PROTECT)
    description = models.CharField(_("beskrivelse"), max_length=300)
    quantity = models.DecimalField(_("antall"), **QTY)
    unit = models.CharField(_("enhet"), max_length=20, default="stk")
    unit_price = models.DecimalField(_("enhetspris"), **MONEY)
    amount = models.DecimalField(_("beløp"), **MONEY)
    vat_code = models.ForeignKey(VatCode, on_delete=models.PROTECT)
    line_reference = models.CharField(_("linjereferanse"), max_length=100, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("kostnadslinje (felles anlegg)")
        verbose_name_plural = _("kostnadslinjer (felles anlegg)")


class SharedCostParticipant(models.Model):
    shared_cost = models.ForeignKey(SharedCost, on_delete=models.CASCADE, related_name="participants")
    basis = models.ForeignKey(InvoiceBasis, on_delete=models.PROTECT, related_name="shared_participations")
    capacity = models.DecimalField(_("kapasitet"), max_digits=12, decimal_places=3,
                                   validators=[MinValueValidator(Decimal("0"))])
    connected_on = models.DateField(_("tilknyttet"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["shared_cost", "basis"], name="participant_unique_basis")]
        verbose_name = _("deltaker")
        verbose_name_plural = _("deltakere")


class TenYearRefund(models.Model):
    """A refund proposed to an earlier payer when a later customer joins (tiårsregelen)."""

    Status = TenYearRefundStatus  # choices and transitions: billing/status.py

    shared_cost = models.ForeignKey(SharedCost, on_delete=models.CASCADE, related_name="refunds")
    participant = models.ForeignKey(SharedCostParticipant, on_delete=models.CASCADE, related_name="refunds")
    triggered_by = models.ForeignKey(SharedCostParticipant, on_delete=models.CASCADE, related_name="+")
    paid = models.DecimalField(_("betalt"), **MONEY)
    new_share = models.DecimalField(_("ny andel"), **MONEY)
    amount = models.DecimalField(_("tilbakebetaling"), **MONEY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    credit_note = models.ForeignKey("Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["participant", "triggered_by"], name="refund_once")]
        verbose_name = _("tilbakebetaling (tiårsregelen)")
        verbose_name_plural = _("tilbakebetalinger (tiårsregelen)")
