"""Conversion events in admin: read-only (append-only, no path changes one)."""

from django.contrib import admin

from core.admin import CappedInlineMixin, SafeDateHierarchyMixin
from tracking.models import (
    ConversionEvent,
    CustomEvent,
    CustomEventProperty,
    EventEnrichment,
    ExternalEvent,
    Identity,
    ReconciliationRun,
    RejectedEvent,
)


class ReadOnlyAdmin(SafeDateHierarchyMixin, admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


class EnrichmentInline(CappedInlineMixin, admin.TabularInline):
    model = EventEnrichment
    extra = 0
    max_num = 100  # read-only: shown whole, never posted
    can_delete = False
    readonly_fields = ["client_event_id", "properties", "occurred_at", "received_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ConversionEvent)
class ConversionEventAdmin(ReadOnlyAdmin):
    list_display = [
        "occurred_at",
        "name",
        "quiz",
        "source",
        "ft_source",
        "device",
        "is_bot",
        "is_preview",
    ]
    list_filter = ["name", "source", "quiz", "device", "is_bot", "is_preview"]
    search_fields = ["event_id", "visitor_id", "attempt__token"]
    date_hierarchy = "occurred_at"
    list_select_related = ["quiz"]
    inlines = [EnrichmentInline]
    show_full_result_count = False


@admin.register(RejectedEvent)
class RejectedEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "reason", "visitor_id", "key_id"]
    search_fields = ["reason", "visitor_id"]
    date_hierarchy = "received_at"


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdmin):
    list_display = ["ran_at", "ok", "since"]


class CustomEventPropertyInline(CappedInlineMixin, admin.TabularInline):
    model = CustomEventProperty
    extra = 1
    max_num = 50
    fields = ["name", "type", "required", "description"]


@admin.register(CustomEvent)
class CustomEventAdmin(admin.ModelAdmin):
    """The tracking plan's custom events: what other systems may send (Segment format)."""

    list_display = ["name", "description", "funnel_position", "property_list"]
    search_fields = ["name", "description"]
    inlines = [CustomEventPropertyInline]

    @admin.display(description="properties")
    def property_list(self, obj: CustomEvent) -> str:
        return (
            ", ".join(
                f"{p.name} ({p.type}{', required' if p.required else ''})"
                for p in obj.properties.all()
            )
            or "none"
        )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("properties")


@admin.register(ExternalEvent)
class ExternalEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "type", "name", "user_id", "anonymous_id", "key_id"]
    list_filter = ["type", "name"]
    search_fields = ["message_id", "user_id", "anonymous_id"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False


@admin.register(Identity)
class IdentityAdmin(ReadOnlyAdmin):
    list_display = ["email", "kind", "value", "linked_at"]
    search_fields = ["email", "value"]
