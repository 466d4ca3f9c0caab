"""Listeners on billing's audit events (sent inside the billing transaction): documents and e-mails
follow the money core's changes as outbox rows that commit — or roll back — with the change."""

import logging

from django.db import transaction
from django.dispatch import receiver

from billing.signals import audit_recorded

log = logging.getLogger(__name__)


def _queue_render(kind: str, pk: int) -> None:
    def run():
        from .tasks import document_render

        try:
            document_render.delay(kind, pk)
        except Exception:  # noqa: BLE001 - the e-mail task renders a missing PDF itself
            log.warning("could not queue PDF render of %s %s", kind, pk, exc_info=True)

    transaction.on_commit(run)


@receiver(audit_recorded, dispatch_uid="offers.on_audit")
def on_audit(sender, event, **kwargs):
    from . import services

    action, data = event.action, event.data or {}
    if action == "billing.basis.offer_sent" and data.get("offer"):
        services.offer_email_queue(offer_id=data["offer"])
    elif action == "billing.invoice.issued" and data.get("invoice"):
        services.invoice_email_queue(invoice_id=data["invoice"])
    elif action == "billing.invoice.credited" and data.get("credit_note"):
        services.invoice_email_queue(invoice_id=data["credit_note"])
    elif action == "billing.basis.accepted" and event.basis_id:
        services.acceptance_email_queue(basis_id=event.basis_id, offer_version=data.get("offer_version"))
    elif action == "billing.change_notice.accepted" and data.get("change_notice"):
        services.change_acceptance_email_queue(notice_id=data["change_notice"])
    elif action == "billing.payment.confirmed" and data.get("payment"):
        services.payment_receipt_queue(payment_id=data["payment"])
    elif action == "billing.basis.final_settled":
        for pk in data.get("documents", []):
            services.invoice_email_queue(invoice_id=pk)
