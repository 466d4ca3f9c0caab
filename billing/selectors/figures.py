"""Offers sent and accepted, for /metrics: today's counts (local day) and running totals, read from the
audit trail (one query)."""

from datetime import datetime, time

from django.db.models import Count, Q
from django.utils import timezone

from billing.clock import today
from billing.models import AuditEvent
from kundefaktura.metrics import Figure

SENT, ACCEPTED = "billing.basis.offer_sent", "billing.basis.accepted"


def offer_figures():
    midnight = timezone.make_aware(datetime.combine(today(), time.min))
    row = AuditEvent.objects.filter(action__in=[SENT, ACCEPTED]).aggregate(
        sent=Count("pk", filter=Q(action=SENT)), accepted=Count("pk", filter=Q(action=ACCEPTED)),
        sent_today=Count("pk", filter=Q(action=SENT, at__gte=midnight)),
        accepted_today=Count("pk", filter=Q(action=ACCEPTED, at__gte=midnight)))
    return [
        Figure("offers_sent", "Offers sent (audit events)", row["sent"], kind="counter"),
        Figure("offers_accepted", "Offers accepted (audit events)", row["accepted"], kind="counter"),
        Figure("offers_sent_today", "Offers sent since local midnight", row["sent_today"]),
        Figure("offers_accepted_today", "Offers accepted since local midnight", row["accepted_today"]),
    ]
