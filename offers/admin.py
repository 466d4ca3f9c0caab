from django.contrib import admin

from .models import Attachment, OutboundEmail


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ("title", "always", "active", "created_at")
    list_filter = ("always", "active", "categories")
    filter_horizontal = ("categories",)
    autocomplete_fields = ("bases",)
    search_fields = ("title",)


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    """Read-only: e-mails are written by the services and resent from the basis page."""

    list_display = ("created_at", "kind", "to", "subject", "status", "attempts", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("to", "subject", "basis__number")
    readonly_fields = [f.name for f in OutboundEmail._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
