"""Payments and refunds against an invoice."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.status import PaymentStatus

from .common import MONEY
from .invoices import Invoice


class Payment(models.Model):
    """One row per payment attempt and per refund. Paid = confirmed payments − confirmed refunds."""

    class Method(models.TextChoices):
        CARD = "card", _("Kort")
        BANK_TRANSFER = "bank_transfer", _("Bankoverføring")
        MANUAL = "manual", _("Manuell registrering")

    Status = PaymentStatus  # choices and transitions: billing/status.py

    class Direction(models.TextChoices):
        PAYMENT = "payment", _("Innbetaling")
        REFUND = "refund", _("Tilbakebetaling")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.PAYMENT)
    method = models.CharField(_("metode"), max_length=14, choices=Method.choices)
    amount = models.DecimalField(_("beløp"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING,
                              db_index=True)
    provider = models.CharField(_("tilbyder"), max_length=20, blank=True)
    provider_reference = models.CharField(_("referanse"), max_length=200, blank=True)
    refund_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds")
    payout_account = models.CharField(_("utbetalingskonto"), max_length=11, blank=True)
    note = models.CharField(_("merknad"), max_length=300, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_reference", "direction"],
                                    condition=~models.Q(provider_reference=""), name="payment_unique_reference"),
        ]
        verbose_name = _("betaling")
        verbose_name_plural = _("betalinger")


class CheckoutAttempt(models.Model):
    """One checkout at a payment provider (a Stripe Checkout Session, or the local test page).

    The billing Payment row (status pending → confirmed/failed) is the money truth; this row keeps the
    provider's identifiers so webhooks can find the payment again.
    """

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="checkout")
    provider = models.CharField(max_length=20)
    session_id = models.CharField(max_length=255, unique=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("betalingsforsøk")
        verbose_name_plural = _("betalingsforsøk")

    def __str__(self):
        return f"{self.provider} {self.session_id}"


class WebhookEvent(models.Model):
    """A provider event processed once (the event id is unique)."""

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    result = models.CharField(max_length=40, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="webhookevent_unique_id")]
        verbose_name = _("webhook-hendelse")
        verbose_name_plural = _("webhook-hendelser")

    def __str__(self):
        return f"{self.provider} {self.type} {self.event_id}"
