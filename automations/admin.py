"""Automations, built by marketers in admin: rules, conditions, actions, deliveries."""

from django.contrib import admin, messages
from django.db import models
from django.utils import timezone

from automations.delivery import delivery_replay, rule_dry_run
from automations.models import Action, Condition, Delivery, DeliveryAttempt, Rule
from core.admin import BoundedFormsetsMixin, CappedInlineMixin, SafeDateHierarchyMixin


class ConditionInline(CappedInlineMixin, admin.TabularInline):
    model = Condition
    extra = 1
    max_num = 10


class ActionInline(CappedInlineMixin, admin.StackedInline):
    model = Action
    extra = 0
    max_num = 10
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fields = [
        ("kind", "order"),
        ("webhook_url", "webhook_secret"),
        ("task_subject", "task_due_hours", "hubspot_owner_id"),
    ]


@admin.register(Rule)
class RuleAdmin(BoundedFormsetsMixin, admin.ModelAdmin):
    list_display = ["name", "trigger", "enabled", "paused_at", "owner"]
    list_filter = ["enabled", "trigger"]
    inlines = [ConditionInline, ActionInline]
    readonly_fields = ["paused_at", "paused_reason"]
    actions = ["dry_run_7", "dry_run_30", "resume"]

    def _dry_run(self, request, queryset, days):
        for rule in queryset:
            matched, total = rule_dry_run(rule=rule, days=days)
            self.message_user(
                request,
                f"“{rule}”: {matched} of the {total} {rule.trigger} events of the last "
                f"{days} days would have matched.",
            )

    @admin.action(description="Dry run over the last 7 days")
    def dry_run_7(self, request, queryset):
        self._dry_run(request, queryset, 7)

    @admin.action(description="Dry run over the last 30 days")
    def dry_run_30(self, request, queryset):
        self._dry_run(request, queryset, 30)

    @admin.action(description="Resume paused rules", permissions=["change"])
    def resume(self, request, queryset):
        count = queryset.exclude(paused_at=None).update(paused_at=None, paused_reason="")
        Rule.forget_triggers()
        self.message_user(
            request, f"{count} rule(s) resumed; their waiting deliveries will go out."
        )


class AttemptInline(CappedInlineMixin, admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    max_num = 200  # read-only: shown whole, never posted
    can_delete = False
    fields = ["at", "step", "status_code", "duration_ms", "error", "request", "response"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(BoundedFormsetsMixin, SafeDateHierarchyMixin, admin.ModelAdmin):
    list_display = ["pk", "action", "status", "attempts", "lead", "created_at", "last_error"]
    list_filter = ["status", "action__kind", "action__rule"]
    search_fields = ["lead__email", "uid"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "uid",
        "action",
        "event",
        "lead",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "last_error",
        "remote",
        "created_at",
        "delivered_at",
    ]
    inlines = [AttemptInline]
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Replay (send again)", permissions=["change"])
    def replay(self, request, queryset):
        for delivery in queryset:
            delivery_replay(delivery=delivery)
        self.message_user(
            request,
            f"{queryset.count()} deliver(ies) queued again at {timezone.now():%H:%M:%S}.",
            messages.SUCCESS,
        )
