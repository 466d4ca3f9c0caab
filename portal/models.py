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
