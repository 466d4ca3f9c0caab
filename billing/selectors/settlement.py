"""The final settlement (kontrollforskriften § 16-11) as the pages and the invoice PDF show it, and
as `billing/services/settlement.py` issues it."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from billing import money
from billing.models import AuditEvent, CostLine, Invoice, InvoiceLine
from billing.money import ZERO
from billing.selectors.totals import accepted_estimate, accepted_estimate_rows, base_deduction_amount


def settlement_preview(basis) -> dict[str, money.Settlement]:
    """Per VAT code: accepted estimate, actual (capped / customer-caused), already invoiced, difference."""
    estimate, actual, actual_cc = (defaultdict(lambda: ZERO) for _ in range(3))
    for code, _rate, amount in accepted_estimate_rows(basis):
        estimate[code] += amount
    lines = list(basis.lines.select_related("vat_code", "category"))
    for ln in lines:
        if ln.phase == CostLine.Phase.ACTUAL:
            (actual_cc if ln.customer_caused else actual)[ln.vat_code.code] += ln.amount
    deduction = base_deduction_amount(basis, lines)
    if deduction:
        actual["O"] -= deduction
    invoiced: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for il in InvoiceLine.objects.filter(invoice__basis=basis, invoice__number__isnull=False).select_related("invoice"):
        sign = -1 if il.invoice.kind == Invoice.Kind.CREDIT_NOTE else 1
        invoiced[il.vat_code] += sign * il.amount
    codes = sorted(set(actual) | set(actual_cc))
    return {code: money.final_settlement(accepted_estimate=estimate[code], actual=actual[code],
                                         actual_customer_caused=actual_cc[code],
                                         already_invoiced=invoiced[code]) for code in codes}


def settlement_rows(basis) -> list[dict]:
    """The § 16-11 calculation per VAT code (net amounts), for the preview page."""
    estimate = {g.code: g.base for g in accepted_estimate(basis).groups}
    actual: dict[str, Decimal] = {}
    for ln in basis.lines.filter(phase=CostLine.Phase.ACTUAL, customer_caused=False).select_related("vat_code"):
        actual[ln.vat_code.code] = actual.get(ln.vat_code.code, ZERO) + ln.amount
    rows = []
    for code, s in settlement_preview(basis).items():
        rows.append({"code": code, "estimate": estimate.get(code, ZERO), "cap": s.cap,
                     "actual": actual.get(code, ZERO), "capped_actual": s.capped_actual,
                     "customer_caused": s.customer_caused_actual, "recalculated": s.recalculated,
                     "already_invoiced": s.already_invoiced, "difference": s.difference,
                     "refund": -s.difference if s.difference < 0 else ZERO,
                     "to_invoice": s.difference if s.difference > 0 else ZERO})
    return rows


def settlement_calculation(invoice) -> dict | None:
    """For a final invoice or a settlement credit note: the calculation that produced it (from the audit
    event of the settlement), so the invoice PDF can print it."""
    event = (AuditEvent.objects.filter(basis_id=invoice.basis_id, action="billing.basis.final_settled",
                                       data__documents__contains=[invoice.pk]).order_by("-at").first())
    if event is None:
        return None
    return {"settlement": event.data.get("settlement", {}), "at": event.at}

