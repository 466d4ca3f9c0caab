"""Cases in other systems linked to a basis, and their work release status."""

from __future__ import annotations

from ninja import Status

from billing import textinput

from .. import selectors, services
from ..models import ApiClient, RelatedCase
from .base import ApiError, api, need, once_more_on_race
from .bases import basis_or_404
from .fields import PathId
from .schemas import ERRORS, RelatedCaseIn, RelatedCaseOut


@api.post("/invoice-bases/{basis_id}/related-cases", response={200: RelatedCaseOut, 201: RelatedCaseOut, **ERRORS},
          tags=["related-cases"], summary="Knytt en sak i et annet system til grunnlaget")
def related_case_create(request, basis_id: PathId, payload: RelatedCaseIn):
    client = need(request, ApiClient.SCOPE_WRITE)
    basis = basis_or_404(basis_id)
    case, created = once_more_on_race(lambda: services.related_case_link(
        basis=basis, by=client, source=payload.source, external_id=payload.external_id, title=payload.title,
        installer=payload.installer.model_dump() if payload.installer else None))
    case = RelatedCase.objects.select_related("basis", "installer").get(pk=case.pk)
    return Status(201 if created else 200, selectors.related_case_json(case))


@api.get("/related-cases/{source}/{external_id}", response={200: RelatedCaseOut, **ERRORS}, tags=["related-cases"],
         summary="Status og arbeidsfrigivelse for en relatert sak")
def related_case_detail(request, source: str, external_id: str):
    need(request, ApiClient.SCOPE_READ)
    if source not in RelatedCase.Source.values or len(external_id) > 100 or textinput.single_line_error(external_id):
        raise ApiError(404, "not_found", "Fant ikke saken.")
    case = (RelatedCase.objects.select_related("basis", "installer")
            .filter(source=source, external_id=external_id).first())
    if case is None:
        raise ApiError(404, "not_found", f"Fant ikke saken {source}/{external_id}.")
    return Status(200, selectors.related_case_json(case))
