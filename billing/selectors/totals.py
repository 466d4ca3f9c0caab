"""Totals of a basis and the estimate the customer accepted: offer versions, the base deduction,
accepted change lines, the VAT regime of a line, and the allocation of a shared cost."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from billing import money
from billing.models import Acceptance, CompanyProfile, CostLine, InvoiceBasis, Offer, VatCode
from billing.money import ZERO
from billing.status import AFTER_ACCEPTANCE
from kundefaktura.compiled import compiled

CONTRIBUTION_CATEGORY = "connection_contribution"


def regime_of(code: str) -> str:
    """Peppol BR-O-11: an `O` document holds nothing else, so `O` lines get invoices of their own."""
    return "O" if code == "O" else "taxable"


def base_deduction_amount(basis, lines=None) -> Decimal:
    """How much the legacy base deduction takes off this basis' contribution (0 when not applied)."""
    if not basis.base_deduction_applied:
        return ZERO
    profile = CompanyProfile.load()
    if not profile.base_deduction_enabled or not money.base_deduction_allowed(basis.order_date):
        return ZERO
    lines = lines if lines is not None else basis.lines.select_related("category")
    contribution = sum((ln.amount for ln in lines if ln.category.code == CONTRIBUTION_CATEGORY
                        and ln.phase == CostLine.Phase.ESTIMATE), ZERO)
    return contribution - money.apply_base_deduction(contribution, profile.base_deduction_amount)


def basis_totals(basis, lines=None, *, phase=CostLine.Phase.ESTIMATE) -> money.Totals:
    """Totals of a basis: its estimate lines, less any legacy base deduction, VAT per category."""
    if lines is None:
        lines = list(basis.lines.select_related("vat_code", "category"))
    rows = [(ln.vat_code.code, ln.vat_code.rate, ln.amount) for ln in lines if ln.phase == phase]
    if phase == CostLine.Phase.ESTIMATE:
        deduction = base_deduction_amount(basis, lines)
        if deduction:
            o = VatCode.objects.get(code="O")
            rows.append((o.code, o.rate, -deduction))
    return money.totals(rows)


def current_offer(basis) -> Offer | None:
    found = _newest_offer(basis.pk) if basis.pk is not None else []
    for offer in found:
        Offer.basis.field.set_cached_value(offer, basis)
    return found[0] if found else None


# The pages' and the services' per-basis queries, compiled once (kundefaktura/compiled.py).
_accepted_answer = compiled(lambda basis_id: Acceptance.objects.filter(basis=basis_id, decision="accepted")
                            .select_related("offer").order_by("-at", "-pk")[:1])
_newest_offer = compiled(lambda basis_id: Offer.objects.filter(basis=basis_id, kind="offer").order_by("-version")[:1])
_offer_lines = compiled(lambda basis_id: CostLine.objects.filter(
    basis=basis_id, phase=CostLine.Phase.ESTIMATE, is_change=False).select_related("category", "vat_code")
    .order_by("position", "id"))


def accepted_offer(basis) -> Offer | None:
    """The offer version the customer accepted: the agreement the estimate is invoiced from."""
    found = _accepted_answer(basis.pk) if basis.pk is not None else []
    return found[0].offer if found else None


def offer_lines(basis) -> list[CostLine]:
    """The lines an offer is made of: the basis' estimate lines that are not change lines."""
    lines = _offer_lines(basis.pk) if basis.pk is not None else []
    for line in lines:
        CostLine.basis.field.set_cached_value(line, basis)
    return lines


def offer_snapshot(basis, lines) -> dict:
    return {"lines": [{"id": ln.pk, "category": ln.category.code, "description": ln.description,
                       "quantity": str(ln.quantity), "unit": ln.unit, "unit_price": str(ln.unit_price),
                       "amount": str(ln.amount), "vat_code": ln.vat_code.code,
                       "customer_caused": ln.customer_caused} for ln in lines],
            "base_deduction": str(base_deduction_amount(basis, lines))}


def offer_outdated(offer: Offer | None, basis, lines=None) -> bool:
    """The offer's content no longer matches the basis (marked when the lines changed while it was out,
    or found different now): it may not be accepted; a new version must be sent. `lines`: every line of
    the basis with category and VAT code, when the caller has them (the basis page)."""
    if offer is None:
        return False
    if offer.outdated_at:
        return True
    own = offer_lines(basis) if lines is None else sorted(
        (ln for ln in lines if ln.phase == CostLine.Phase.ESTIMATE and not ln.is_change),
        key=lambda ln: (ln.position, ln.pk))
    return offer_snapshot(basis, own) != offer.snapshot


def is_accepted_offer_line(line: CostLine, basis: InvoiceBasis) -> bool:
    """A line of the offer the customer has accepted. What was accepted is the agreement: a changed cost
    after acceptance is a new change line with a change notice (docs/billing-rules.md, "Changes after
    acceptance"), never a silent edit of the accepted line. Actual-cost lines (final settlement) and
    change lines are not offer lines."""
    return basis.status in AFTER_ACCEPTANCE and line.phase == CostLine.Phase.ESTIMATE and not line.is_change


def change_line_accepted(line: CostLine) -> bool:
    """A change line (added after acceptance) is invoiceable, and part of the accepted estimate, only once
    the customer has accepted the change notice that carried it (billing/services/changes.py)."""
    if not line.is_change:
        return True
    notice = line.change_notice if line.change_notice_id else None
    return notice is not None and notice.status == notice.Status.ACCEPTED


def accepted_estimate_rows(basis, extra_lines=()) -> list[tuple[str, Decimal, Decimal]]:
    """The accepted estimate as (VAT code, rate, amount) rows: the accepted offer version's snapshot less
    its base deduction, plus the accepted change lines (plus `extra_lines`, a proposal). Before any
    acceptance: the basis' own offer lines. The § 16-11 cap and the change notices are built on it."""
    lines = list(basis.lines.filter(phase=CostLine.Phase.ESTIMATE).select_related("category", "vat_code",
                                                                               "change_notice"))
    offer = accepted_offer(basis)
    if offer is None:
        own = [ln for ln in lines if not ln.is_change]
        rows = [(ln.vat_code.code, ln.vat_code.rate, ln.amount) for ln in own]
        deduction = base_deduction_amount(basis, own)
    else:
        rates = {v.code: v.rate for v in VatCode.objects.all()}
        snapshot = offer.snapshot or {}
        rows = [(e["vat_code"], rates[e["vat_code"]], Decimal(e["amount"])) for e in snapshot.get("lines", [])]
        deduction = Decimal(snapshot.get("base_deduction") or "0")
    if deduction:
        o = VatCode.objects.get(code="O")
        rows.append((o.code, o.rate, -deduction))
    changes = [ln for ln in lines if ln.is_change and change_line_accepted(ln)]
    known = {ln.pk for ln in changes}
    changes += [ln for ln in extra_lines if ln.pk not in known]
    return rows + [(ln.vat_code.code, ln.vat_code.rate, ln.amount) for ln in changes]


def accepted_estimate(basis, extra_lines=()) -> money.Totals:
    """The accepted estimate: offer lines plus accepted change lines (plus `extra_lines`, a proposal)."""
    return money.totals(accepted_estimate_rows(basis, extra_lines))


def shared_cost_total(shared) -> Decimal:
    return sum((ln.amount for ln in shared.lines.all()), ZERO)


def shared_cost_allocation(shared, participants=None) -> dict:
    """The allocation table: per VAT code, each counted participant's share and the company's part.
    Participants connected more than ten years after energising pay nothing (and are not counted)."""
    participants = list(participants if participants is not None else shared.participants.all())
    counted = [p for p in participants
               if p.connected_on is None or money.within_ten_years(shared.energised_on, p.connected_on)]
    by_code: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for ln in shared.lines.select_related("vat_code"):
        by_code[ln.vat_code.code] += ln.amount
    result = {"groups": {}, "shares": defaultdict(lambda: ZERO), "carried": ZERO, "total": sum(by_code.values(), ZERO)}
    for code, cost in sorted(by_code.items()):
        alloc = money.allocate(shared.allocation, cost, shared.capacity, shared.expected_count,
                               [(p.pk, p.capacity) for p in counted])
        result["groups"][code] = alloc
        for pid, share in alloc.shares.items():
            result["shares"][pid] += share
        result["carried"] += alloc.carried_by_company
    return result

