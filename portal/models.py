"""The portal's own tables: one-time login links, Stripe checkout attempts, processed webhook events."""

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def token_hash(token: str) -> str:
    """Only the SHA-256 of a login-link token is stored; the token itself lives in the e-mail."""
    return hashlib.sha256(token.encode()).hexdigest()


class LoginLink(models.Model):
    """A single-use, expiring login link sent by e-mail. Opening it shows a button; the POST logs in."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    requested_ip = models.GenericIPAddressField(null=True, blank=True)
    used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("innloggingslenke")
        verbose_name_plural = _("innloggingslenker")

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.expires_at > timezone.now() and self.user.is_active


class CheckoutAttempt(models.Model):
    """One card payment attempt at a provider (a Stripe Checkout Session, or the local test page).

    The billing Payment row (status pending → confirmed/failed) is the money truth; this row keeps the
    provider's identifiers so webhooks can find the payment again.
    """

    payment = models.OneToOneField("billing.Payment", on_delete=models.PROTECT, related_name="checkout")
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

    provider = models.CharField(max_length=20, default="stripe")
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
