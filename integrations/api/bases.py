"""Invoice bases: create (idempotent on the external reference) and read."""

from __future__ import annotations

from ninja import Status

from .. import selectors, services
from ..models import ApiClient
from .base import ApiError, api, need
from .fields import PathId
from .schemas import ERRORS, BasisIn, BasisOut


def basis_or_404(basis_id: int):
    basis = selectors.basis_get(basis_id)
    if basis is None:
        raise ApiError(404, "not_found", f"Fakturagrunnlag {basis_id} finnes ikke.")
    return basis


@api.post("/invoice-bases", response={200: BasisOut, 201: BasisOut, **ERRORS}, tags=["invoice-bases"],
          summary="Opprett fakturagrunnlag (idempotent på reference)")
def invoice_basis_create(request, payload: BasisIn):
    client = need(request, ApiClient.SCOPE_WRITE)
    basis, created = services.api_basis_create(
        by=client, reference=payload.reference, title=payload.title, customer=payload.customer.model_dump(),
        site=payload.site.model_dump() if payload.site else None, metering_point_id=payload.metering_point_id,
        order_date=payload.order_date, prepayment_required=payload.prepayment_required)
    basis.refresh_from_db()
    return Status(201 if created else 200, selectors.basis_json(basis))


@api.get("/invoice-bases/{basis_id}", response={200: BasisOut, **ERRORS}, tags=["invoice-bases"],
         summary="Hent fakturagrunnlag med linjer, summer, fakturaer, saker og hendelser")
def invoice_basis_detail(request, basis_id: PathId):
    need(request, ApiClient.SCOPE_READ)
    return Status(200, selectors.basis_json(basis_or_404(basis_id)))
