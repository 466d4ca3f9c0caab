"""Cost lines on an invoice basis: one at a time or a batch of up to 1000, all or nothing."""

from __future__ import annotations

from django.db import transaction
from ninja import Status

from billing import services as billing
from billing.errors import BillingError, InvalidInput
from billing.models import CostCategory, CostLine, VatCode

from .. import selectors, services
from ..models import ApiClient
from .base import ApiError, api, need, once_more_on_race
from .bases import basis_or_404
from .fields import PathId
from .schemas import ERRORS, CostLineBatchIn, CostLineIn, LineBatchOut, LineOut


def _line_kwargs(data: CostLineIn, category: CostCategory) -> dict:
    return dict(source=data.source, source_reference=data.source_reference, line_reference=data.line_reference,
                category=category, description=data.description, quantity=data.quantity, unit=data.unit,
                unit_price=data.unit_price, vat_code=data.vat_code or None,
                customer_caused=data.customer_caused, phase=data.phase)


class _Codes:
    """Known category and VAT codes, loaded once per request (a batch checks 1000 lines with them)."""

    def __init__(self):
        self.categories = {c.code: c for c in CostCategory.objects.select_related("default_vat")}
        self.vat_codes = set(VatCode.objects.values_list("code", flat=True))

    def check(self, data: CostLineIn) -> CostCategory:
        """Unknown codes are 422 with the field named, before any service call."""
        if data.category not in self.categories:
            raise InvalidInput(f"Ukjent kostnadskategori: {data.category}", fields={"category": ["unknown"]})
        if data.vat_code and data.vat_code not in self.vat_codes:
            raise InvalidInput(f"Ukjent MVA-kode: {data.vat_code}", fields={"vat_code": ["unknown"]})
        return self.categories[data.category]


@api.post("/invoice-bases/{basis_id}/cost-lines", response={200: LineOut, 201: LineOut, **ERRORS},
          tags=["cost-lines"], summary="Legg til kostnadslinje (idempotent på source + line_reference)")
def cost_line_add(request, basis_id: PathId, payload: CostLineIn):
    client = need(request, ApiClient.SCOPE_WRITE)
    basis = basis_or_404(basis_id)
    category = _Codes().check(payload)

    def add():
        with transaction.atomic():
            result = billing.line_add(basis=basis, by=client, **_line_kwargs(payload, category))
            services.link_client(client, basis)
        return result

    line, created = once_more_on_race(add)
    line = CostLine.objects.select_related("category", "vat_code").get(pk=line.pk)
    return Status(201 if created else 200, selectors.line_json(line))


def _batch_error(exc: BillingError, index: int, data) -> ApiError:
    fields = {f"lines.{index}.{k}": v for k, v in exc.fields.items()}
    fields[f"lines.{index}"] = [exc.message]
    return ApiError(exc.status_code, exc.code,
                    f"Linje {index} (line_reference {data.line_reference}): {exc.message}", fields)


@api.post("/invoice-bases/{basis_id}/cost-lines/batch", response={200: LineBatchOut, 201: LineBatchOut, **ERRORS},
          tags=["cost-lines"], summary="Legg til opptil 1000 kostnadslinjer, alt eller ingenting")
def cost_line_batch(request, basis_id: PathId, payload: CostLineBatchIn):
    client = need(request, ApiClient.SCOPE_WRITE)
    basis = basis_or_404(basis_id)
    codes = _Codes()
    batch = []
    for index, data in enumerate(payload.lines):
        try:
            batch.append(_line_kwargs(data, codes.check(data)))
        except BillingError as exc:
            raise _batch_error(exc, index, data) from None

    def add():
        with transaction.atomic():
            result = billing.lines_add(basis=basis, by=client, lines=batch)
            services.link_client(client, basis)
        return result

    try:
        results = once_more_on_race(add)
    except BillingError as exc:
        index = getattr(exc, "index", 0)
        raise _batch_error(exc, index, payload.lines[index]) from None
    ids = [ln.pk for ln, _c in results]
    by_id = {ln.pk: ln for ln in CostLine.objects.select_related("category", "vat_code").filter(pk__in=ids)}
    created_count = sum(1 for _ln, c in results if c)
    body = {"created": created_count, "lines": [selectors.line_json(by_id[i]) for i in ids]}
    return Status(201 if created_count else 200, body)
