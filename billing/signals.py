"""Signals other apps listen to. Sent inside the transaction that wrote the audit event, so a
listener's outbox rows commit (or roll back) with the change itself."""

from django.dispatch import Signal

# kwargs: event (billing.models.AuditEvent)
audit_recorded = Signal()
