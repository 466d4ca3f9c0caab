"""Bulk actions over several bases."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .bases import InvoiceBasis


class BulkJob(models.Model):
    """A batch of the same action over several bases (e.g. send offers), run as one Celery task per basis."""

    class Kind(models.TextChoices):
        SEND_OFFER = "send_offer", _("Send tilbud")

    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.SEND_OFFER)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("opprettet av"))
    created_at = models.DateTimeField(_("opprettet"), auto_now_add=True)
    total = models.PositiveIntegerField(_("antall"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("massehandling")
        verbose_name_plural = _("massehandlinger")

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"


class BulkJobItem(models.Model):
    """One basis in a bulk job and how it went."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Venter")
        RUNNING = "running", _("Pågår")
        DONE = "done", _("Fullført")
        FAILED = "failed", _("Feilet")

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="items")
    basis = models.ForeignKey(InvoiceBasis, on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("fakturagrunnlag"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    message = models.TextField(_("melding"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["job", "basis"], name="bulkjobitem_unique_basis")]
        verbose_name = _("massehandling (grunnlag)")
        verbose_name_plural = _("massehandling (grunnlag)")
