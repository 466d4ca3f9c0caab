"""The audit trail: who did it (`actor`) and one event per change (`audit`), sent to listeners
inside the transaction so their outbox rows commit with it."""

from __future__ import annotations

from billing.models import AuditEvent
from billing.signals import audit_recorded
from kundefaktura import logs


def actor(by) -> tuple:
    from django.contrib.auth import get_user_model

    if by is None:
        return None, "system"
    if isinstance(by, get_user_model()):
        return by, by.get_full_name() or by.username
    return None, f"API: {getattr(by, 'name', by)}"


def audit(*, action, by=None, basis=None, shared_cost=None, from_status="", to_status="", note="", data=None):
    """Write one audit event and tell listeners (inside the transaction, so outbox rows commit with it)."""
    user, label = actor(by)
    if basis is not None:
        logs.bind_in_scope(basis=basis.number, basis_id=basis.pk)  # the rest of this request or task
    event = AuditEvent.objects.create(
        basis=basis, shared_cost=shared_cost, action=action, from_status=from_status or "",
        to_status=to_status or "", actor_user=user, actor_label=label, note=note or "", data=data or {},
    )
    audit_recorded.send(sender=AuditEvent, event=event)
    return event

