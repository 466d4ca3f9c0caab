"""The timeline of what happened to a basis or a shared cost."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .bases import InvoiceBasis
from .shared_costs import SharedCost


class AuditEvent(models.Model):
    """Who did what, when, from which status to which — the timeline."""

    basis = models.ForeignKey(InvoiceBasis, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="events")
    shared_cost = models.ForeignKey(SharedCost, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="events")
    action = models.CharField(max_length=80, db_index=True)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    actor_label = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["basis", "-at"])]
        verbose_name = _("hendelse")
        verbose_name_plural = _("hendelser")

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"
