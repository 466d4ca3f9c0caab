"""Shared main components (felles anlegg) and their participants, whose shares become lines on their bases."""

from __future__ import annotations

from django.db import transaction
from ninja import Status

from billing import services as billing
from billing.errors import BillingError, InvalidInput
from billing.models import AllocationMethod, SharedCost

from .. import selectors, services
from ..models import ApiClient
from .base import ApiError, api, need
from .fields import PathId
from .schemas import ERRORS, ParticipantIn, SharedCostIn, SharedCostOut


def _shared_or_404(shared_id: int):
    shared = selectors.shared_cost_get(shared_id)
    if shared is None:
        raise ApiError(404, "not_found", f"Felles anlegg {shared_id} finnes ikke.")
    return shared


def _allocation_json(shared):
    try:
        return selectors.shared_cost_json(shared)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


@api.post("/shared-costs", response={200: SharedCostOut, 201: SharedCostOut, **ERRORS}, tags=["shared-costs"],
          summary="Opprett felles anlegg (idempotent på reference)")
def shared_cost_create(request, payload: SharedCostIn):
    client = need(request, ApiClient.SCOPE_WRITE)
    with transaction.atomic():
        existing = SharedCost.objects.filter(reference=payload.reference).first()
        if existing is not None:
            return Status(200, _allocation_json(existing))
        lines = []
        for index, ln in enumerate(payload.lines):
            try:
                billing.get_category(ln.category) if ln.category else None
                billing.get_vat_code(ln.vat_code) if ln.vat_code else None
            except BillingError as exc:
                raise ApiError(422, exc.code, f"Linje {index}: {exc.message}",
                               {f"lines.{index}.{k}": v for k, v in exc.fields.items()}) from None
            lines.append({k: v for k, v in ln.model_dump().items() if v not in (None, "")})
        shared, created = billing.shared_cost_create(
            by=client, description=payload.description, capacity=payload.capacity,
            capacity_unit=payload.capacity_unit, allocation=AllocationMethod(payload.allocation).value,
            expected_count=payload.expected_count, energised_on=payload.energised_on,
            reference=payload.reference, lines=lines)
        body = _allocation_json(shared)
    return Status(201 if created else 200, body)


@api.get("/shared-costs/{shared_id}", response={200: SharedCostOut, **ERRORS}, tags=["shared-costs"],
         summary="Hent felles anlegg med deltakernes andeler")
def shared_cost_detail(request, shared_id: PathId):
    need(request, ApiClient.SCOPE_READ)
    return Status(200, _allocation_json(_shared_or_404(shared_id)))


@api.post("/shared-costs/{shared_id}/participants", response={200: SharedCostOut, 201: SharedCostOut, **ERRORS},
          tags=["shared-costs"], summary="Legg til deltaker; andelene blir linjer på grunnlagene")
def shared_cost_participant_add(request, shared_id: PathId, payload: ParticipantIn):
    client = need(request, ApiClient.SCOPE_WRITE)
    shared = _shared_or_404(shared_id)
    basis = selectors.basis_get(payload.invoice_basis)
    if basis is None:
        raise ApiError(422, "invalid", f"Fakturagrunnlag {payload.invoice_basis} finnes ikke.",
                       {"invoice_basis": ["unknown"]})
    with transaction.atomic():
        _participant, created = billing.shared_cost_add_participant(
            shared_cost=shared, basis=basis, capacity=payload.capacity, by=client,
            connected_on=payload.connected_on)
        services.link_client(client, basis)
        body = _allocation_json(shared)
    return Status(201 if created else 200, body)
