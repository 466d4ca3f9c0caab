"""Signal receivers: status and work-release changes become outbox rows in the same transaction."""

from . import services


def on_audit_recorded(sender, event, **kwargs):
    services.notifications_for_event(event)
