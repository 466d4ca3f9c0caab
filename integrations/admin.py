from django.contrib import admin

from .models import ApiClient, DeliveryAttempt, Installer, Notification, RelatedCase, Subscription


@admin.register(Installer)
class InstallerAdmin(admin.ModelAdmin):
    list_display = ("name", "orgnr", "email", "phone")
    search_fields = ("name", "orgnr", "email")
    filter_horizontal = ("users",)


@admin.register(RelatedCase)
class RelatedCaseAdmin(admin.ModelAdmin):
    list_display = ("source", "external_id", "title", "basis", "installer", "updated_at")
    list_filter = ("source",)
    search_fields = ("external_id", "title", "basis__number")
    raw_id_fields = ("basis", "installer")


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ("name", "token_prefix", "scopes", "is_active", "last_used_at")
    readonly_fields = ("token_hash", "token_prefix", "created_at", "last_used_at")
    inlines = [SubscriptionInline]

    def has_add_permission(self, request):
        return False  # tokens are created with `manage.py create_api_client` (printed once)


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    readonly_fields = ("at", "status_code", "ok", "error", "duration_ms")
    can_delete = False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "basis", "event_type", "subscription", "status", "attempts", "next_attempt_at")
    list_filter = ("status", "event_type")
    raw_id_fields = ("basis", "event", "subscription")
    inlines = [DeliveryAttemptInline]
