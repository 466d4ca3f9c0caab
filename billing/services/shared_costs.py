"""Shared costs (felles anlegg) and the ten-year rule: shares per participant, and refunds proposed
as draft credit notes when a later participant joins."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from billing import money
from billing.clock import today
from billing.errors import ConflictError, InvalidInput, TransitionError
from billing.models import (
    CompanyProfile,
    CostCategory,
    CostLine,
    Invoice,
    InvoiceBasis,
    InvoiceLine,
    SharedCost,
    SharedCostLine,
    SharedCostParticipant,
    TenYearRefund,
    VatCode,
)
from billing.money import ZERO
from billing.selectors import CONTRIBUTION_CATEGORY, regime_of, shared_cost_allocation, shared_cost_total
from billing.services.audit import actor, audit
from billing.services.locking import lock_basis
from billing.services.numbering import CREDIT_SERIES
from billing.services.offers import offer_outdate_if_changed
from billing.services.validation import get_category, get_vat_code, validate
from billing.services.wording import customer_language
from billing.status import AFTER_ACCEPTANCE, Status


@transaction.atomic
def shared_cost_create(*, by, description: str, capacity, capacity_unit: str = "kVA", allocation: str | None = None,
                       expected_count: int | None = None, energised_on: dt.date | None = None,
                       reference: str | None = None, lines: list[dict] | None = None) -> tuple[SharedCost, bool]:
    if reference:
        existing = SharedCost.objects.filter(reference=reference).first()
        if existing:
            return existing, False
    allocation = allocation or CompanyProfile.load().default_allocation
    shared = SharedCost(description=description, capacity=Decimal(str(capacity)), capacity_unit=capacity_unit,
                        allocation=allocation, expected_count=expected_count, energised_on=energised_on,
                        reference=reference or None, created_by=actor(by)[0])
    validate(shared, exclude=["created_by"])
    if allocation == "equal_per_expected" and not expected_count:
        raise InvalidInput(_("Likt per forventet tilknytning krever forventet antall."),
                           fields={"expected_count": ["required"]})
    shared.save()
    for data in lines or []:
        _shared_line_create(shared, data)
    audit(action="billing.shared_cost.created", by=by, shared_cost=shared,
          data={"cost": str(shared_cost_total(shared)), "allocation": allocation})
    return shared, True


def _shared_line_create(shared, data: dict) -> SharedCostLine:
    cat = get_category(data.get("category") or CONTRIBUTION_CATEGORY)
    vc = get_vat_code(data["vat_code"]) if data.get("vat_code") else cat.default_vat
    qty, price = Decimal(str(data.get("quantity", 1))), Decimal(str(data["unit_price"]))
    return SharedCostLine.objects.create(shared_cost=shared, category=cat, description=data["description"],
                                         quantity=qty, unit=data.get("unit") or "stk", unit_price=price,
                                         amount=money.line_amount(qty, price), vat_code=vc,
                                         line_reference=data.get("line_reference") or "")


@transaction.atomic
def shared_cost_add_line(*, shared_cost, by, **data) -> SharedCostLine:
    shared = SharedCost.objects.select_for_update().get(pk=shared_cost.pk)
    line = _shared_line_create(shared, data)
    audit(action="billing.shared_cost.line_added", by=by, shared_cost=shared,
          data={"amount": str(line.amount), "description": line.description})
    _sync_shares(shared, by=by)
    return line


def _sync_shares(shared, *, by) -> list[TenYearRefund]:
    """Keep every participant's share line in step; propose ten-year refunds to earlier payers."""
    participants = list(shared.participants.order_by("id"))
    # Every participant's basis locked first, in id order, and its status read under the lock: a share
    # line's write locks its basis (the stored sums, billing/migrations/0014_basis_estimate_net.py), and
    # the other services lock a basis before its lines, so this order cannot deadlock with them.
    bases = {b.pk: b for b in InvoiceBasis.objects.select_for_update(of=("self",)).select_related("customer")
             .filter(pk__in={p.basis_id for p in participants}).order_by("pk")}
    for p in participants:
        SharedCostParticipant.basis.field.set_cached_value(p, bases[p.basis_id])
    try:
        alloc = shared_cost_allocation(shared, participants)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    refunds = []
    for p in participants:
        for code, group in alloc["groups"].items():
            share = group.shares.get(p.pk, ZERO)
            ref = f"SC{shared.pk}-P{p.pk}-{code}"
            line = CostLine.objects.filter(source=CostLine.Source.SHARED_COST, line_reference=ref).first()
            if line and line.invoice_id:
                # What its invoice charged for it (an offer line is invoiced from the accepted snapshot).
                paid = sum((il.amount for il in line.invoice.lines.all() if il.cost_line_id == line.pk), ZERO) \
                    or line.amount
                if share < paid:
                    refunds.append((p, line, paid, share))
                continue
            if line and line.amount == share:
                continue
            basis = bases[p.basis_id]
            if basis.status == Status.CANCELLED:
                continue
            with customer_language(basis.customer):
                description = _("Andel av %(d)s: %(c)s %(u)s av %(t)s %(u)s") % {
                    "d": shared.description, "c": f"{p.capacity.normalize():f}", "u": shared.capacity_unit,
                    "t": f"{shared.capacity.normalize():f}"}
            if line:
                line.amount = line.unit_price = share
                line.description = description
                line.save(update_fields=["amount", "unit_price", "description", "updated_at"])
            elif share:
                cat = CostCategory.objects.get(code=CONTRIBUTION_CATEGORY)
                CostLine.objects.create(
                    basis=basis, source=CostLine.Source.SHARED_COST, source_reference=shared.reference or f"SC{shared.pk}",
                    line_reference=ref, category=cat, description=description, quantity=Decimal("1"),
                    unit="andel", unit_price=share, amount=share, vat_code=VatCode.objects.get(code=code),
                    shared_cost=shared, is_change=basis.status in AFTER_ACCEPTANCE,
                    position=(basis.lines.aggregate(m=Max("position"))["m"] or 0) + 1)
            audit(action="billing.line.share_updated", by=by, basis=basis,
                  data={"shared_cost": shared.pk, "share": str(share), "vat_code": code})
            offer_outdate_if_changed(basis, by=by)
    return refunds


@transaction.atomic
def shared_cost_add_participant(*, shared_cost, basis, capacity, by,
                                connected_on: dt.date | None = None) -> tuple[SharedCostParticipant, bool]:
    """Add a participant; shares are recomputed, earlier payers get ten-year refunds proposed as draft
    credit notes. The same basis again with the same capacity returns the existing participant."""
    shared = SharedCost.objects.select_for_update().get(pk=shared_cost.pk)
    capacity = Decimal(str(capacity))
    if capacity < 0:
        raise InvalidInput(_("Kapasitet kan ikke være negativ."), fields={"capacity": ["min"]})
    existing = shared.participants.filter(basis=basis).first()
    if existing:
        if existing.capacity == capacity:
            return existing, False
        raise ConflictError(_("Grunnlaget er allerede deltaker med en annen kapasitet."))
    basis = lock_basis(basis)
    if basis.status == Status.CANCELLED:
        raise TransitionError(_("Grunnlaget er kansellert."), code="cancelled")
    participant = SharedCostParticipant.objects.create(shared_cost=shared, basis=basis, capacity=capacity,
                                                       connected_on=connected_on or today())
    audit(action="billing.shared_cost.participant_added", by=by, shared_cost=shared,
          data={"basis": basis.number, "capacity": str(capacity)})
    refunds = _sync_shares(shared, by=by)
    profile = CompanyProfile.load()
    factor = Decimal("1")
    if profile.refund_indexing and shared.energised_on:
        years = Decimal((participant.connected_on - shared.energised_on).days) / Decimal("365.25")
        factor = (1 + profile.refund_index_annual_percent / 100) ** int(years)
    for p, line, paid, share in refunds:
        amount = money.ten_year_refunds(payments={p.pk: paid}, new_shares={p.pk: share},
                                        index_factor=factor).get(p.pk)
        if not amount:
            continue
        refund, created = TenYearRefund.objects.get_or_create(
            participant=p, triggered_by=participant,
            defaults={"shared_cost": shared, "paid": paid, "new_share": share, "amount": amount})
        if created:
            with customer_language(p.basis.customer):
                note = _("Tilbakebetaling etter tiårsregelen: %(d)s fikk en ny deltaker (%(b)s).") % {
                    "d": shared.description, "b": basis.number}
                refund_text = _("Tilbakebetaling, tiårsregelen: %s") % shared.description
            credit = Invoice.objects.create(
                basis=p.basis, kind=Invoice.Kind.CREDIT_NOTE, series=CREDIT_SERIES, status=Invoice.Status.DRAFT,
                vat_regime=regime_of(line.vat_code.code), credited_invoice=line.invoice,
                note=note, created_by=actor(by)[0])
            InvoiceLine.objects.create(
                invoice=credit, position=1, cost_line=line, category_code=line.category.code,
                category_label=line.category.label,
                description=refund_text,
                quantity=Decimal("1"), unit="stk", unit_price=amount, amount=amount, vat_code=line.vat_code.code,
                vat_rate=line.vat_code.rate)
            refund.credit_note = credit
            refund.save(update_fields=["credit_note"])
            audit(action="billing.ten_year.refund_proposed", by=by, basis=p.basis,
                  data={"shared_cost": shared.pk, "amount": str(amount), "paid": str(paid),
                        "new_share": str(share), "draft_credit_note": credit.pk})
    return participant, True

