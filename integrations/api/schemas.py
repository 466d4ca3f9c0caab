"""Request bodies, and the documentation of the answers (the bodies are built by integrations/selectors.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from django.conf import settings
from ninja import Field, Schema
from pydantic import StrictBool

from .fields import (
    Capacity,
    DecimalStr,
    Email,
    Id,
    In,
    IsoDate,
    MeteringPoint,
    Money,
    Orgnr,
    Phone,
    Postcode,
    Quantity,
    ReqEmail,
    ReqText,
    Text,
)

# --- input -----------------------------------------------------------------------------------------


# The complete languages (settings.LANGUAGES) as the schema's enum.
LanguageCode = Literal[tuple(code for code, _name in settings.LANGUAGES)]


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
    # The customer's language for the portal, documents and e-mails (default bokmål). Given for an
    # existing customer, it changes their preference.
    language: LanguageCode | None = None


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
