"""Billing's own reactions to its audit events: a credit note or a payment that leaves an invoice
over-paid prepares the refunds in the same transaction. Connected in BillingConfig.ready()."""

from __future__ import annotations

from billing.models import AuditEvent, Invoice
from billing.selectors import refund_due
from billing.services.audit import audit
from billing.services.refunds import refunds_prepare
from billing.signals import audit_recorded


def _refund_after_credit(sender, event: AuditEvent, **kwargs):
    """A credit note (ordinary, final settlement or ten-year rule) may leave an invoice over-paid:
    prepare its refunds in the same transaction."""
    if event.action == "billing.invoice.credited":
        invoice_ids = [event.data.get("invoice")]
    elif event.action == "billing.basis.final_settled":
        invoice_ids = list(Invoice.objects.filter(pk__in=event.data.get("documents") or [],
                                                  kind=Invoice.Kind.CREDIT_NOTE)
                           .values_list("credited_invoice_id", flat=True))
    else:
        return
    for pk in {i for i in invoice_ids if i}:
        refunds_prepare(invoice=pk, by=event.actor_user)


def _refund_after_overpayment(sender, event: AuditEvent, **kwargs):
    """A payment that lands on an invoice with nothing left to pay (a second card checkout, a bank or
    manual payment) is flagged to the case worker and its excess refunded at once, in the same
    transaction."""
    if event.action != "billing.payment.confirmed" or not event.data.get("invoice"):
        return
    invoice = Invoice.objects.get(pk=event.data["invoice"])
    excess = refund_due(invoice)
    if excess <= 0:
        return
    audit(action="billing.payment.overpaid", by=event.actor_user, basis=invoice.basis,
          data={"invoice": invoice.pk, "number": invoice.number, "payment": event.data.get("payment"),
                "amount": event.data.get("amount"), "excess": str(excess)})
    refunds_prepare(invoice=invoice, by=event.actor_user)



audit_recorded.connect(_refund_after_credit, dispatch_uid="billing.receivers.refund_after_credit")
audit_recorded.connect(_refund_after_overpayment, dispatch_uid="billing.receivers.refund_after_overpayment")
