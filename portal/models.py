"""The portal's own table: one-time login links. Checkout attempts and webhook events are billing's
(billing/models/payments.py), next to the payments they belong to."""

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


class BankIDLink(models.Model):
    """A customer account's verified BankID identity: the OpenID provider's `sub` for the person, made
    once from a logged-in session or from the offer e-mail's one-time link. "Logg inn med BankID" logs
    into the account whose link has the ID token's issuer and sub; nothing else (no name, no identity
    number) is ever used to find an account, and the identity number is not stored."""

    class Via(models.TextChoices):
        SESSION = "session", _("Innlogget kunde koblet til")
        LINK = "link", _("Lenke i tilbudse-posten")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bankid_link")
    issuer = models.CharField(max_length=255)
    sub = models.CharField(max_length=255)
    acr = models.CharField(max_length=200, blank=True)
    linked_at = models.DateTimeField(auto_now_add=True)
    linked_via = models.CharField(max_length=10, choices=Via.choices)
    linked_ip = models.GenericIPAddressField(null=True, blank=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "sub"], name="bankid_link_unique_sub")]
        verbose_name = _("BankID-kobling")
        verbose_name_plural = _("BankID-koblinger")
