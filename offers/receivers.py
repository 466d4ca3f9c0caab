"""Listeners on billing's audit events (sent inside the billing transaction): documents and e-mails
follow the money core's changes, and each answer of the customer gets its receipt. The e-mails are
outbox rows that commit — or roll back — with the change; each document's PDF is rendered once the
change has committed, by the prepare task of the e-mail that carries it (`offers.email_prepare`) or,
when no e-mail does, by the task `offers.document_render` (a lost task costs nothing: the e-mail delivery and the PDF view render a
missing PDF)."""

import logging

from django.dispatch import receiver

from billing.signals import audit_recorded
from kundefaktura.queue import enqueue_on_commit

log = logging.getLogger(__name__)

RENDER_TASK = "offers.document_render"

# billing's audit action → (document kind in offers.documents.DOCUMENTS, the `data` key holding its id
# or, for the final settlement, its list of ids)
RENDERED = {
    "billing.basis.offer_sent": ("offer", "offer"),
    "billing.invoice.issued": ("invoice", "invoice"),
    "billing.invoice.credited": ("invoice", "credit_note"),
    "billing.basis.final_settled": ("invoice", "documents"),
    "billing.change_notice.sent": ("change_notice", "change_notice"),
    "billing.invoice.reminder_sent": ("reminder", "reminder"),
}


def rendered_documents(event) -> list[tuple[str, int]]:
    """(kind, id) of each document `event` created."""
    if event.action not in RENDERED:
        return []
    kind, key = RENDERED[event.action]
    ids = (event.data or {}).get(key)
    return [(kind, pk) for pk in (ids if isinstance(ids, list) else [ids]) if pk]


def render_on_commit(kind: str, pk: int) -> None:
    enqueue_on_commit(RENDER_TASK, kind, pk)


def accepted_answer(basis_id: int, offer_version):
    """The acceptance a `billing.basis.accepted` event recorded (its basis and offer version)."""
    from billing.models import Acceptance

    qs = Acceptance.objects.filter(basis_id=basis_id, decision="accepted")
    if offer_version:
        qs = qs.filter(offer_version=offer_version)
    return qs.order_by("-at", "-pk").first()


@receiver(audit_recorded, dispatch_uid="offers.on_audit")
def on_audit(sender, event, **kwargs):
    # A document that a queued e-mail carries is rendered by that e-mail's prepare task on the render
    # queue, which then queues the send (offers/outbox.py): a second render task for it would only
    # wait on the first one's row lock.
    # The receipt of a customer's answer is issued first, so the confirmation e-mail can carry it.
    documents = rendered_documents(event)
    receipt = _answer_receipt(event)
    if receipt is not None:
        documents.append(("receipt", receipt.pk))
    carried = set()
    for row in _queue_emails(event):
        if row is not None and row.status == row.Status.QUEUED:
            carried.update((a.get("document"), a.get("pk")) for a in row.attachments if a.get("document"))
    for kind, pk in documents:
        if (kind, pk) not in carried:
            render_on_commit(kind, pk)


ANSWERED = ("billing.basis.accepted", "billing.change_notice.accepted", "billing.change_notice.declined")


def _answer_receipt(event):
    """The receipt of the customer's answer `event` records (issued once, inside the answer's
    transaction); None for any other event."""
    from . import services

    action, data = event.action, event.data or {}
    if action == "billing.basis.accepted" and event.basis_id:
        answer = accepted_answer(event.basis_id, data.get("offer_version"))
        return services.receipt_issue(acceptance=answer, by=event.actor_user) if answer is not None else None
    if action in ANSWERED and data.get("change_notice"):
        return services.receipt_issue(change_notice=data["change_notice"], by=event.actor_user)
    return None


def _queue_emails(event) -> list:
    """Queue the e-mails `event` calls for; the outbox rows (None where nothing was queued)."""
    from . import emails

    action, data = event.action, event.data or {}
    if action == "billing.basis.offer_sent" and data.get("offer"):
        return [emails.offer_email_queue(offer_id=data["offer"])]
    elif action == "billing.invoice.issued" and data.get("invoice"):
        return [emails.invoice_email_queue(invoice_id=data["invoice"])]
    elif action == "billing.invoice.credited" and data.get("credit_note"):
        return [emails.invoice_email_queue(invoice_id=data["credit_note"])]
    elif action == "billing.basis.final_settled":
        return [emails.invoice_email_queue(invoice_id=pk) for pk in data.get("documents", [])]
    elif action == "billing.basis.accepted" and event.basis_id:
        return [emails.acceptance_email_queue(basis_id=event.basis_id, offer_version=data.get("offer_version"))]
    elif action == "billing.basis.expired" and event.basis_id:
        return [emails.offer_expiry_email_queue(basis_id=event.basis_id)]
    elif action == "billing.change_notice.sent" and data.get("change_notice"):
        return [emails.change_notice_email_queue(notice_id=data["change_notice"])]
    elif action in ("billing.change_notice.accepted", "billing.change_notice.declined") \
            and data.get("change_notice"):
        return [emails.change_answer_email_queue(notice_id=data["change_notice"])]
    elif action == "billing.change_notice.expired" and data.get("change_notice"):
        return [emails.change_notice_expiry_email_queue(notice_id=data["change_notice"])]
    elif action == "billing.invoice.reminder_sent" and data.get("reminder"):
        return [emails.reminder_email_queue(reminder_id=data["reminder"])]
    elif action == "billing.payment.confirmed" and data.get("payment"):
        return [emails.payment_receipt_queue(payment_id=data["payment"])]
    return []
