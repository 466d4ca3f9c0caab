"""Admin for the money core: every model listed with search and filters. Issued invoices (and their
lines) are read-only here as everywhere: corrections are credit notes, made in the workspace."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .forms import CompanyProfileForm
from .models import (
    Acceptance,
    AuditEvent,
    BulkJob,
    BulkJobItem,
    CompanyProfile,
    CostCategory,
    CostLine,
    Customer,
    Invoice,
    InvoiceBasis,
    InvoiceLine,
    NumberSeries,
    Offer,
    Payment,
    SharedCost,
    SharedCostLine,
    SharedCostParticipant,
    TenYearRefund,
    VatCode,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that are evidence (audit events, acceptances, offers): view only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CompanyProfile)
class CompanyProfileAdmin(admin.ModelAdmin):
    form = CompanyProfileForm  # the same input rules as the settings page
    list_display = ("name", "orgnr", "vat_registered", "kid_scheme", "due_days", "updated_at")
    search_fields = ("name", "orgnr")
    list_filter = ("vat_registered", "kid_scheme", "base_deduction_enabled")

    def has_add_permission(self, request):
        return not CompanyProfile.objects.exists()

    def save_model(self, request, obj, form, change):
        # Every change of the company's settings is audited, from the admin as from the settings page.
        from .services import company_profile_save

        company_profile_save(profile=obj, by=request.user)


@admin.register(VatCode)
class VatCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "rate")
    search_fields = ("code", "name")
    list_filter = ("rate",)


@admin.register(CostCategory)
class CostCategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "label", "default_vat", "sort_order")
    search_fields = ("code", "label")
    list_filter = ("default_vat",)
    list_select_related = ("default_vat",)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "orgnr", "email", "city", "erp_customer_number")
    search_fields = ("name", "orgnr", "email", "erp_customer_number", "phone")
    list_filter = ("kind", "language")
    raw_id_fields = ("user",)


class CostLineInline(admin.TabularInline):
    model = CostLine
    extra = 0
    fields = ("source", "category", "description", "quantity", "unit", "unit_price", "amount", "vat_code",
              "phase", "invoice")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(InvoiceBasis)
class InvoiceBasisAdmin(admin.ModelAdmin):
    list_display = ("number", "title", "customer", "status", "source", "offer_valid_until", "created_at")
    search_fields = ("number", "title", "reference", "customer__name", "site_street", "metering_point_id")
    list_filter = ("status", "source", "prepayment_required", "created_at")
    list_select_related = ("customer",)
    raw_id_fields = ("customer", "created_by")
    # Status, numbers and release are owned by the services (status machine); not edited here.
    readonly_fields = ("number", "status", "offer_version", "accepted_at", "work_released_at", "created_at",
                       "updated_at")
    inlines = [CostLineInline]
    date_hierarchy = "created_at"


@admin.register(CostLine)
class CostLineAdmin(admin.ModelAdmin):
    list_display = ("basis", "description", "category", "amount", "vat_code", "source", "phase", "invoice")
    search_fields = ("description", "basis__number", "source_reference", "line_reference")
    list_filter = ("source", "phase", "category", "vat_code", "customer_caused", "is_change")
    list_select_related = ("basis", "category", "vat_code", "invoice")
    raw_id_fields = ("basis", "shared_cost", "invoice", "created_by")

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.invoice_id:
            return [f.name for f in obj._meta.fields]
        return ("amount", "invoice")

    def has_delete_permission(self, request, obj=None):
        return not (obj is not None and obj.invoice_id)


class SharedCostLineInline(admin.TabularInline):
    model = SharedCostLine
    extra = 0


class SharedCostParticipantInline(admin.TabularInline):
    model = SharedCostParticipant
    extra = 0
    raw_id_fields = ("basis",)


@admin.register(SharedCost)
class SharedCostAdmin(admin.ModelAdmin):
    list_display = ("description", "capacity", "capacity_unit", "allocation", "expected_count", "energised_on")
    search_fields = ("description", "reference")
    list_filter = ("allocation", "capacity_unit")
    inlines = [SharedCostLineInline, SharedCostParticipantInline]
    raw_id_fields = ("created_by",)


@admin.register(SharedCostLine)
class SharedCostLineAdmin(admin.ModelAdmin):
    list_display = ("shared_cost", "description", "amount", "vat_code")
    search_fields = ("description", "shared_cost__description", "line_reference")
    list_filter = ("category", "vat_code")
    list_select_related = ("shared_cost", "vat_code")


@admin.register(SharedCostParticipant)
class SharedCostParticipantAdmin(admin.ModelAdmin):
    list_display = ("shared_cost", "basis", "capacity", "connected_on")
    search_fields = ("shared_cost__description", "basis__number", "basis__customer__name")
    list_filter = ("connected_on",)
    list_select_related = ("shared_cost", "basis")
    raw_id_fields = ("basis",)


@admin.register(TenYearRefund)
class TenYearRefundAdmin(ReadOnlyAdmin):
    list_display = ("shared_cost", "participant", "paid", "new_share", "amount", "status")
    search_fields = ("shared_cost__description", "participant__basis__number")
    list_filter = ("status",)
    list_select_related = ("shared_cost", "participant__basis")


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdmin):
    list_display = ("basis", "version", "kind", "valid_until", "gross", "sent_at")
    search_fields = ("basis__number", "basis__customer__name")
    list_filter = ("kind", "sent_at")
    list_select_related = ("basis",)


@admin.register(Acceptance)
class AcceptanceAdmin(ReadOnlyAdmin):
    list_display = ("basis", "offer_version", "decision", "channel", "at")
    search_fields = ("basis__number", "note")
    list_filter = ("decision", "channel")
    list_select_related = ("basis",)


@admin.register(NumberSeries)
class NumberSeriesAdmin(ReadOnlyAdmin):
    list_display = ("name", "next_value")
    search_fields = ("name",)
    list_filter = ()


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    fields = ("position", "category_label", "description", "quantity", "unit", "unit_price", "amount",
              "vat_code", "vat_rate")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return obj is None or not obj.is_issued

    def has_change_permission(self, request, obj=None):
        return obj is None or not obj.is_issued


class InvoiceIssuedFilter(admin.SimpleListFilter):
    title = _("utstedt")
    parameter_name = "issued"

    def lookups(self, request, model_admin):
        return [("yes", _("Utstedt")), ("no", _("Utkast"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(number__isnull=False)
        if self.value() == "no":
            return queryset.filter(number__isnull=True)
        return queryset


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    """Issued invoices are immutable: view only (no change, no delete); drafts are issued in the workspace."""

    list_display = ("display_number", "kind", "basis", "issue_date", "due_date", "gross_total", "status", "kid")
    search_fields = ("number", "kid", "basis__number", "basis__customer__name")
    list_filter = ("kind", "status", "vat_regime", InvoiceIssuedFilter, "issue_date")
    list_select_related = ("basis",)
    inlines = [InvoiceLineInline]
    readonly_fields = [f for f in Invoice.FROZEN_FIELDS if not f.endswith("_id")] + [
        "basis", "credited_invoice", "status", "pdf", "pdf_sha256", "sent_at", "created_by", "created_at"]

    def has_add_permission(self, request):
        return False  # invoices are issued by the billing services only

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_issued:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_issued:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(InvoiceLine)
class InvoiceLineAdmin(admin.ModelAdmin):
    list_display = ("invoice", "position", "description", "amount", "vat_code")
    search_fields = ("description", "invoice__number", "category_code")
    list_filter = ("vat_code", "category_code")
    list_select_related = ("invoice",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.invoice.is_issued:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.invoice.is_issued:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("invoice", "direction", "method", "amount", "status", "provider", "provider_reference",
                    "created_at")
    search_fields = ("provider_reference", "invoice__number", "invoice__kid", "note")
    list_filter = ("direction", "method", "status", "provider")
    list_select_related = ("invoice",)
    raw_id_fields = ("invoice", "refund_of", "created_by")
    # Payments change state through the services (confirm, refund); the admin shows them.
    readonly_fields = ("invoice", "direction", "method", "amount", "status", "provider", "provider_reference",
                       "refund_of", "confirmed_at", "created_by", "created_at")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "action", "basis", "from_status", "to_status", "actor_label")
    search_fields = ("action", "basis__number", "actor_label", "note")
    list_filter = ("action", "to_status", "at")
    list_select_related = ("basis",)
    date_hierarchy = "at"


class BulkJobItemInline(admin.TabularInline):
    model = BulkJobItem
    extra = 0
    readonly_fields = ("basis", "status", "message", "updated_at")
    can_delete = False


@admin.register(BulkJob)
class BulkJobAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "created_by", "created_at", "total")
    search_fields = ("created_by__username",)
    list_filter = ("kind", "created_at")
    inlines = [BulkJobItemInline]


@admin.register(BulkJobItem)
class BulkJobItemAdmin(ReadOnlyAdmin):
    list_display = ("job", "basis", "status", "message", "updated_at")
    search_fields = ("basis__number", "message")
    list_filter = ("status",)
    list_select_related = ("job", "basis")
