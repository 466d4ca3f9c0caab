"""The money core's tables, one module per subject. Rules about one row live here; workflows live in
billing/services. Every model is imported here so `from billing.models import X` and Django's model
registry find it."""

from .audit import AuditEvent
from .bases import SOURCE_LABELS, CostLine, InvoiceBasis
from .bulk import BulkJob, BulkJobItem
from .catalog import VAT_LABELS, CostCategory, VatCode, category_label, vat_label
from .common import (
    MONEY,
    QTY,
    AllocationMethod,
    validate_kontonr,
    validate_metering_point,
    validate_orgnr,
)
from .invoices import ImmutableError, Invoice, InvoiceLine, NumberSeries, Reminder
from .offers import Acceptance, ChangeNotice, Offer
from .parties import CompanyProfile, Customer
from .payments import CheckoutAttempt, Payment, WebhookEvent
from .shared_costs import SharedCost, SharedCostLine, SharedCostParticipant, TenYearRefund

__all__ = [
    "CheckoutAttempt",
    "WebhookEvent",
    "SOURCE_LABELS",
    "MONEY",
    "QTY",
    "VAT_LABELS",
    "Acceptance",
    "AllocationMethod",
    "AuditEvent",
    "BulkJob",
    "BulkJobItem",
    "ChangeNotice",
    "CompanyProfile",
    "CostCategory",
    "CostLine",
    "Customer",
    "ImmutableError",
    "Invoice",
    "InvoiceBasis",
    "InvoiceLine",
    "NumberSeries",
    "Offer",
    "Payment",
    "Reminder",
    "SharedCost",
    "SharedCostLine",
    "SharedCostParticipant",
    "TenYearRefund",
    "VatCode",
    "validate_kontonr",
    "validate_metering_point",
    "validate_orgnr",
    "vat_label",
    "category_label",
]
