"""The JSON API for other systems (Nettmelding, work orders, product purchase orders): /api/v1/.

Every answer that is not 2xx is `{"error": {"code", "message", "fields"?}}` — ninja's own validation
errors, malformed JSON, auth failures and the billing services' errors included. Bad input never
gives a 500, and a failed write leaves nothing behind (each write is one transaction).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from decimal import Decimal
from typing import Annotated, Literal

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import DataError, IntegrityError, transaction
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from ninja import Field, NinjaAPI, Path, Schema, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StrictBool, WithJsonSchema

from billing import norwegian, textinput
from billing import services as billing
from billing.errors import BillingError, InvalidInput
from billing.models import AllocationMethod, CostCategory, CostLine, SharedCost, VatCode
from kundefaktura.errorpages import error_body, request_id
from kundefaktura.errorpages import too_large as _too_large

from . import selectors, services
from .models import ApiClient, RelatedCase

log = logging.getLogger(__name__)

MAX_BIGINT = 2**63 - 1


# --- errors ---------------------------------------------------------------------------------------


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


class BearerAuth(HttpBearer):
    openapi_description = "`Authorization: Bearer <token>` (create with `manage.py create_api_client NAME`)."

    def authenticate(self, request, token):
        client = services.api_client_authenticate(token)
        if client is not None:
            request.api_client = client
        return client


class LocalSwagger(Swagger):
    """Swagger UI from django-ninja's bundled files (no CDN, no inline script: fits the CSP)."""

    def render_page(self, request, api, **kwargs):
        settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        return render(request, "integrations/api_docs.html", {
            "title": api.title, "assets": reverse("api_docs_asset", args=["x"])[:-1],
            "swagger_settings": json.dumps(settings).replace("<", "\\u003c")})


api = NinjaAPI(
    title="Kundefaktura API", version="1.0.0", urls_namespace="api", auth=BearerAuth(),
    docs_url="/docs", openapi_url="/openapi.json", docs=LocalSwagger(),
    description="Fakturagrunnlag, kostnadslinjer, felles anlegg og relaterte saker for Nettmelding, "
                "arbeidsordre og produktkjøpsordre. Beløp og antall er desimalstrenger (\"57392.90\"), "
                "datoer ISO 8601. Feil: `{\"error\": {\"code\", \"message\", \"fields\"?}}`.",
)


def _respond(request, status, code, message, fields=None, headers=None):
    response = api.create_response(request, error_body(code, message, fields), status=status)
    for k, v in (headers or {}).items():
        response[k] = v
    return response


def _loc_key(loc) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "path", "query", "header"):
        parts = parts[1:]
    if parts and parts[0] == "payload":
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or "body"


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc):
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        msg = str(err.get("msg", "ugyldig verdi"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        fields.setdefault(_loc_key(err.get("loc", ())), []).append(msg)
    first = next(iter(fields.items()), ("body", ["ugyldig"]))
    return _respond(request, 422, "validation_error", f"Ugyldig inndata: {first[0]}: {first[1][0]}", fields)


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return _respond(request, 401, "unauthorized", "Mangler eller ugyldig API-nøkkel (Authorization: Bearer).",
                    headers={"WWW-Authenticate": "Bearer"})


@api.exception_handler(HttpError)
def _http_error(request, exc):
    code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
            409: "conflict", 429: "throttled"}.get(exc.status_code, "error")
    message = str(exc)
    if exc.status_code == 400 and "parse" in message.lower():
        code, message = "malformed_json", "Forespørselen er ikke gyldig JSON."
    return _respond(request, exc.status_code, code, message)


@api.exception_handler(ApiError)
def _api_error(request, exc):
    return _respond(request, exc.status, exc.code, exc.message, exc.fields)


@api.exception_handler(BillingError)
def _billing_error(request, exc):
    return _respond(request, exc.status_code, exc.code, exc.message, exc.fields)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return _respond(request, 404, "not_found", "Fant ikke ressursen.")


@api.exception_handler(ObjectDoesNotExist)
def _does_not_exist(request, exc):
    return _respond(request, 404, "not_found", "Fant ikke ressursen.")


@api.exception_handler(DjangoValidationError)
def _django_validation(request, exc):
    fields = exc.message_dict if hasattr(exc, "error_dict") else {"body": exc.messages}
    return _respond(request, 422, "invalid", exc.messages[0] if exc.messages else "Ugyldig inndata.", fields)


@api.exception_handler(IntegrityError)
def _integrity(request, exc):
    return _respond(request, 409, "conflict", "Konflikt med eksisterende data.")


@api.exception_handler(DataError)
def _data_error(request, exc):
    return _respond(request, 422, "invalid", "Verdien passer ikke (for lang eller utenfor gyldig område).")


@api.exception_handler(RequestDataTooBig)
def _body_too_big(request, exc):
    return _too_large(request)


@api.exception_handler(Exception)
def _unexpected(request, exc):
    rid = request_id(request)
    log.exception("unexpected API error, reference %s", rid)
    return _respond(request, 500, "server_error", f"Intern feil (referanse {rid}). Prøv igjen senere.")


def need(request, scope: str) -> ApiClient:
    client = getattr(request, "auth", None) or getattr(request, "api_client", None)
    if client is None:
        raise AuthenticationError()
    if not client.has_scope(scope):
        raise ApiError(403, "forbidden", f"API-klienten mangler tilgangen «{scope}».")
    return client


# --- input types ----------------------------------------------------------------------------------

def _clean_text(value: str) -> str:
    """Single-line text: no line breaks, tabs or other control characters (names, titles, addresses,
    references and descriptions end up in e-mail subjects, PDFs, EHF and CSV rows)."""
    reason = textinput.single_line_error(value)
    if reason:
        raise ValueError(reason)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("er ikke gyldig UTF-8") from None
    return value.strip()


def _required_text(value: str) -> str:
    value = _clean_text(value)
    if not value:
        raise ValueError("må fylles ut")
    return value


def Text(max_length: int):  # noqa: N802 — a type factory
    return Annotated[str, Field(max_length=max_length), AfterValidator(_clean_text)]


def ReqText(max_length: int):  # noqa: N802
    return Annotated[str, Field(min_length=1, max_length=max_length), AfterValidator(_required_text)]


def _email(value: str) -> str:
    value = _clean_text(value)
    if value:
        try:
            validate_email(value)
        except DjangoValidationError:
            raise ValueError("ugyldig e-postadresse") from None
    return value


def _required_email(value: str) -> str:
    value = _email(value)
    if not value:
        raise ValueError("må fylles ut")
    return value


Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
ReqEmail = Annotated[str, Field(max_length=254), AfterValidator(_required_email)]


def _decimal_parser(places: int, int_digits: int, *, min_value: Decimal | None = None, gt_zero=False):
    hint = "må være en desimalstreng med punktum og sifrene 0–9, f.eks. \"1234.50\""

    def parse(value):
        if isinstance(value, bool):
            raise ValueError(hint)
        if isinstance(value, float):
            value = repr(value)
        elif isinstance(value, int | Decimal):
            value = str(value)
        if not isinstance(value, str):
            raise ValueError(hint)
        try:
            dec = textinput.parse_decimal(value, places=places, int_digits=int_digits)
        except ValueError as exc:
            raise ValueError(hint if "0–9" in str(exc) else str(exc)) from None
        if gt_zero and dec <= 0:
            raise ValueError("må være større enn null")
        if min_value is not None and dec < min_value:
            raise ValueError(f"må være minst {min_value}")
        return dec

    return parse


def DecimalStr(places: int, int_digits: int, example: str, **kw):  # noqa: N802
    return Annotated[Decimal, BeforeValidator(_decimal_parser(places, int_digits, **kw)),
                     WithJsonSchema({"type": "string", "pattern": textinput.DECIMAL_PATTERN, "example": example})]


Money = DecimalStr(2, 12, "57392.90", min_value=Decimal("0"))
Quantity = DecimalStr(3, 11, "12.5", gt_zero=True)
Capacity = DecimalStr(3, 9, "400", min_value=Decimal("0"))


def _iso_date(value):
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("må være en ISO 8601-dato (ÅÅÅÅ-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError("finnes ikke i kalenderen") from None


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})]
Id = Annotated[int, Field(ge=1, le=MAX_BIGINT, strict=True)]
PathId = Annotated[int, Path(ge=1, le=MAX_BIGINT)]


class In(BaseModel):
    """Request bodies are plain pydantic models: ninja's Schema adds a per-object validator for reading
    ORM objects, which bodies never are (a 1000-line batch: ~15 ms instead of ~130 ms)."""

    model_config = ConfigDict(extra="forbid")


def _checked(check, message: str):
    def validate(value: str) -> str:
        if value and not check(value):
            raise ValueError(message)
        return value
    return validate


Postcode = Annotated[str, Field(max_length=10), AfterValidator(_clean_text),
                     AfterValidator(_checked(norwegian.postcode_valid, "må være et postnummer på fire siffer"))]
Phone = Annotated[str, Field(max_length=40), AfterValidator(_clean_text), AfterValidator(_checked(
    norwegian.phone_valid, "må være et telefonnummer med 8–15 siffer (mellomrom og + foran er lov)"))]
Orgnr = Annotated[str, Field(max_length=20), AfterValidator(_clean_text), AfterValidator(_checked(
    norwegian.orgnr_valid, "må være et gyldig organisasjonsnummer (ni siffer med riktig kontrollsiffer)"))]
MeteringPoint = Annotated[str, Field(max_length=30), AfterValidator(_clean_text), AfterValidator(_checked(
    norwegian.metering_point_valid, "må være 18 siffer med riktig GS1-kontrollsiffer"))]


class AddressIn(In):
    street: Text(200) = ""
    postal_code: Postcode = ""
    city: Text(100) = ""


class CustomerIn(In):
    name: ReqText(200)
    email: ReqEmail
    phone: Phone | None = None
    orgnr: Orgnr | None = None
    erp_customer_number: Text(40) | None = None
    address: AddressIn


class BasisIn(In):
    reference: ReqText(100)
    title: ReqText(200)
    customer: CustomerIn
    site: AddressIn | None = None
    metering_point_id: MeteringPoint | None = None
    order_date: IsoDate | None = None
    prepayment_required: StrictBool | None = None


class CostLineIn(In):
    source: Literal["nettmelding", "work_order", "product_order", "manual"]
    source_reference: ReqText(100)
    line_reference: ReqText(100)
    category: ReqText(40)
    description: ReqText(300)
    quantity: Quantity
    unit: ReqText(20)
    unit_price: Money
    vat_code: Text(2) | None = None
    customer_caused: StrictBool = False
    phase: Literal["estimate", "actual"] = "estimate"


class CostLineBatchIn(In):
    lines: list[CostLineIn] = Field(min_length=1, max_length=1000)


class SharedLineIn(In):
    category: Text(40) | None = None
    description: ReqText(300)
    quantity: Quantity = Decimal("1")
    unit: Text(20) = "stk"
    unit_price: Money
    vat_code: Text(2) | None = None
    line_reference: Text(100) = ""


class SharedCostIn(In):
    reference: ReqText(100)
    description: ReqText(200)
    capacity: DecimalStr(3, 9, "400", gt_zero=True)
    capacity_unit: Literal["kVA", "kW", "A"]
    allocation: Literal["component_capacity", "ordered_capacity", "equal_per_expected"]
    expected_count: Annotated[int, Field(ge=1, le=1_000_000, strict=True)] | None = None
    energised_on: IsoDate | None = None
    lines: list[SharedLineIn] = Field(default_factory=list, max_length=1000)


class ParticipantIn(In):
    invoice_basis: Id
    capacity: Capacity
    connected_on: IsoDate | None = None


class InstallerIn(In):
    name: ReqText(200)
    orgnr: Text(20) | None = None
    email: Email = ""


class RelatedCaseIn(In):
    source: Literal["nettmelding", "work_order", "product_order"]
    external_id: ReqText(100)
    title: Text(200) = ""
    installer: InstallerIn | None = None


# --- output documentation (the bodies are built by selectors) ---------------------------------------


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] | None = None


class ErrorOut(Schema):
    error: ErrorDetail


class VatGroupOut(Schema):
    code: str
    rate: str
    base: str
    vat: str


class TotalsOut(Schema):
    net: str
    vat: str
    gross: str
    vat_breakdown: list[VatGroupOut]


class LineOut(Schema):
    id: int
    source: str
    source_reference: str
    line_reference: str
    category: str
    description: str
    quantity: str
    unit: str
    unit_price: str
    amount: str
    vat_code: str
    customer_caused: bool
    phase: str
    is_change: bool
    invoiced: bool


class LineBatchOut(Schema):
    created: int
    lines: list[LineOut]


class RelatedCaseOut(Schema):
    id: int
    source: str
    external_id: str
    title: str
    installer: dict | None
    invoice_basis: int
    number: str
    status: str
    status_label: str
    work_release: Literal["blocked", "released"]
    created_at: str | None
    updated_at: str | None


class BasisOut(Schema):
    id: int
    number: str
    reference: str | None
    title: str
    status: str
    status_label: str
    work_release: Literal["blocked", "released"]
    work_released_at: str | None
    prepayment_required: bool
    customer: dict | None
    site: dict
    metering_point_id: str
    order_date: str | None
    offer_valid_until: str | None
    accepted_at: str | None
    lines: list[LineOut]
    totals: TotalsOut
    invoices: list[dict]
    related_cases: list[RelatedCaseOut]
    events: list[dict]
    created_at: str | None
    updated_at: str | None


class ParticipantOut(Schema):
    invoice_basis: int
    number: str
    capacity: str
    connected_on: str | None
    share: str


class SharedCostOut(Schema):
    id: int
    reference: str | None
    description: str
    capacity: str
    capacity_unit: str
    allocation: str
    expected_count: int | None
    energised_on: str | None
    lines: list[dict]
    total: str
    participants: list[ParticipantOut]
    carried_by_company: str


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


# --- helpers ----------------------------------------------------------------------------------------


def _basis_or_404(basis_id: int):
    basis = selectors.basis_get(basis_id)
    if basis is None:
        raise ApiError(404, "not_found", f"Fakturagrunnlag {basis_id} finnes ikke.")
    return basis


def _shared_or_404(shared_id: int):
    shared = selectors.shared_cost_get(shared_id)
    if shared is None:
        raise ApiError(404, "not_found", f"Felles anlegg {shared_id} finnes ikke.")
    return shared


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


def _once_more_on_race(fn):
    """Two identical requests at the same moment: the loser of the unique-constraint race runs again
    and then finds the winner's row (200, or 409 if the content differs)."""
    try:
        return fn()
    except IntegrityError:
        return fn()


def _allocation_json(shared):
    try:
        return selectors.shared_cost_json(shared)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


# --- endpoints --------------------------------------------------------------------------------------


@api.post("/invoice-bases", response={200: BasisOut, 201: BasisOut, **ERRORS}, tags=["invoice-bases"],
          summary="Opprett fakturagrunnlag (idempotent på reference)")
def invoice_basis_create(request, payload: BasisIn):
    client = need(request, ApiClient.SCOPE_WRITE)
    basis, created = services.api_basis_create(
        by=client, reference=payload.reference, title=payload.title, customer=payload.customer.model_dump(),
        site=payload.site.model_dump() if payload.site else None, metering_point_id=payload.metering_point_id,
        order_date=payload.order_date, prepayment_required=payload.prepayment_required)
    basis.refresh_from_db()
    return (201 if created else 200), selectors.basis_json(basis)


@api.get("/invoice-bases/{basis_id}", response={200: BasisOut, **ERRORS}, tags=["invoice-bases"],
         summary="Hent fakturagrunnlag med linjer, summer, fakturaer, saker og hendelser")
def invoice_basis_detail(request, basis_id: PathId):
    need(request, ApiClient.SCOPE_READ)
    return 200, selectors.basis_json(_basis_or_404(basis_id))


@api.post("/invoice-bases/{basis_id}/cost-lines", response={200: LineOut, 201: LineOut, **ERRORS},
          tags=["cost-lines"], summary="Legg til kostnadslinje (idempotent på source + line_reference)")
def cost_line_add(request, basis_id: PathId, payload: CostLineIn):
    client = need(request, ApiClient.SCOPE_WRITE)
    basis = _basis_or_404(basis_id)
    category = _Codes().check(payload)

    def add():
        with transaction.atomic():
            result = billing.line_add(basis=basis, by=client, **_line_kwargs(payload, category))
            services.link_client(client, basis)
        return result

    line, created = _once_more_on_race(add)
    line = CostLine.objects.select_related("category", "vat_code").get(pk=line.pk)
    return (201 if created else 200), selectors.line_json(line)


def _batch_error(exc: BillingError, index: int, data) -> ApiError:
    fields = {f"lines.{index}.{k}": v for k, v in exc.fields.items()}
    fields[f"lines.{index}"] = [exc.message]
    return ApiError(exc.status_code, exc.code,
                    f"Linje {index} (line_reference {data.line_reference}): {exc.message}", fields)


@api.post("/invoice-bases/{basis_id}/cost-lines/batch", response={200: LineBatchOut, 201: LineBatchOut, **ERRORS},
          tags=["cost-lines"], summary="Legg til opptil 1000 kostnadslinjer, alt eller ingenting")
def cost_line_batch(request, basis_id: PathId, payload: CostLineBatchIn):
    client = need(request, ApiClient.SCOPE_WRITE)
    basis = _basis_or_404(basis_id)
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
        results = _once_more_on_race(add)
    except BillingError as exc:
        index = getattr(exc, "index", 0)
        raise _batch_error(exc, index, payload.lines[index]) from None
    ids = [ln.pk for ln, _c in results]
    by_id = {ln.pk: ln for ln in CostLine.objects.select_related("category", "vat_code").filter(pk__in=ids)}
    created_count = sum(1 for _ln, c in results if c)
    body = {"created": created_count, "lines": [selectors.line_json(by_id[i]) for i in ids]}
    return (201 if created_count else 200), body


@api.post("/shared-costs", response={200: SharedCostOut, 201: SharedCostOut, **ERRORS}, tags=["shared-costs"],
          summary="Opprett felles anlegg (idempotent på reference)")
def shared_cost_create(request, payload: SharedCostIn):
    client = need(request, ApiClient.SCOPE_WRITE)
    with transaction.atomic():
        existing = SharedCost.objects.filter(reference=payload.reference).first()
        if existing is not None:
            return 200, _allocation_json(existing)
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
    return (201 if created else 200), body


@api.get("/shared-costs/{shared_id}", response={200: SharedCostOut, **ERRORS}, tags=["shared-costs"],
         summary="Hent felles anlegg med deltakernes andeler")
def shared_cost_detail(request, shared_id: PathId):
    need(request, ApiClient.SCOPE_READ)
    return 200, _allocation_json(_shared_or_404(shared_id))


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
    return (201 if created else 200), body


@api.post("/invoice-bases/{basis_id}/related-cases", response={200: RelatedCaseOut, 201: RelatedCaseOut, **ERRORS},
          tags=["related-cases"], summary="Knytt en sak i et annet system til grunnlaget")
def related_case_create(request, basis_id: PathId, payload: RelatedCaseIn):
    client = need(request, ApiClient.SCOPE_WRITE)
    basis = _basis_or_404(basis_id)
    case, created = _once_more_on_race(lambda: services.related_case_link(
        basis=basis, by=client, source=payload.source, external_id=payload.external_id, title=payload.title,
        installer=payload.installer.model_dump() if payload.installer else None))
    case = RelatedCase.objects.select_related("basis", "installer").get(pk=case.pk)
    return (201 if created else 200), selectors.related_case_json(case)


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
    return 200, selectors.related_case_json(case)
