"""Automations, built by marketers in admin: rules, conditions, actions, deliveries."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import models
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from automations.delivery import delivery_replay, rule_dry_run
from automations.models import Action, Condition, Delivery, DeliveryAttempt, Erasure, Rule
from automations.privacy import erasure_crm_retry, leads_erase, person_erase, person_export_json
from leads.admin import LeadAdmin
from leads.models import Lead


class ConditionInline(admin.TabularInline):
    model = Condition
    extra = 1


class ActionInline(admin.StackedInline):
    model = Action
    extra = 0
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fields = [
        ("kind", "order"),
        ("webhook_url", "webhook_secret"),
        ("task_subject", "task_due_hours", "hubspot_owner_id"),
    ]


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
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


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["at", "step", "status_code", "duration_ms", "error", "request", "response"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
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


# --- A person's data: erase and export from the leads list; the audit of erasures ----------

admin.site.unregister(Lead)


@admin.register(Lead)
class PrivacyLeadAdmin(LeadAdmin):
    """The leads admin, with erasure and export (they reach every app, so they live here).

    Delete goes through the erasure too: the lead's data goes and its events stay,
    anonymous, so funnels and the lead_submitted reconciliation stay true.
    """

    actions = [*(LeadAdmin.actions or []), "erase_people", "export_person"]

    def has_erase_person_permission(self, request) -> bool:
        return request.user.has_perm("automations.erase_person")

    def has_export_person_permission(self, request) -> bool:
        return request.user.has_perm("automations.export_person")

    @admin.action(
        description="Erase these people (every lead of their e-mail, at HubSpot too)",
        permissions=["erase_person"],
    )
    def erase_people(self, request, queryset):
        emails = sorted({lead.email.lower() for lead in queryset})
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "automations/erase_confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Erase these people?",
                    "emails": emails,
                    "leads": Lead.objects.filter(email__in=emails).count(),
                    "selected": queryset.values_list("pk", flat=True),
                    "opts": self.opts,
                    "action": "erase_people",
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        for email in emails:
            person_erase(email=email, by=request.user)
        self.message_user(
            request,
            f"{len(emails)} person(s) erased: their leads, answers, notes and the personal "
            "data of their events and deliveries; the deletion at HubSpot is on its way.",
            messages.SUCCESS,
        )
        return None

    @admin.action(
        description="Export everything about this person (JSON)", permissions=["export_person"]
    )
    def export_person(self, request, queryset):
        emails = sorted({lead.email.lower() for lead in queryset})
        if len(emails) != 1:
            self.message_user(
                request,
                "Choose the leads of one person (one e-mail address) to export.",
                messages.ERROR,
            )
            return None
        return _json_download(emails[0])

    def get_deleted_objects(self, objs, request):
        # No cascade to show and nothing protected: the erasure keeps the events
        # (anonymous) instead of deleting them.
        leads = list(objs)
        described = [
            f"{lead}: its answers' words, notes and the personal data of its events and "
            "deliveries (the events stay, anonymous, so every count stays the same)"
            for lead in leads
        ]
        return described, {Lead._meta.verbose_name_plural: len(leads)}, set(), []

    def delete_model(self, request, obj):
        leads_erase(leads=[obj], by=request.user)

    def delete_queryset(self, request, queryset):
        leads_erase(leads=list(queryset), by=request.user)


def _json_download(email: str) -> HttpResponse:
    response = HttpResponse(
        person_export_json(email=email), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="person-{timezone.localdate()}.json"'
    return response


@admin.register(Erasure)
class ErasureAdmin(admin.ModelAdmin):
    """Who erased whom and when (a keyed hash, never the e-mail), and the HubSpot deletion."""

    list_display = ["at", "kind", "by_label", "counts", "crm_status", "crm_last_error"]
    list_filter = ["kind", "crm_status"]
    date_hierarchy = "at"
    fields = [
        "at",
        "kind",
        "by",
        "by_label",
        "subject",
        "counts",
        "crm_status",
        "crm_attempts",
        "crm_next_attempt_at",
        "crm_last_error",
        "crm_done_at",
    ]
    readonly_fields = fields
    actions = ["retry_crm"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the audit stays

    def has_erase_person_permission(self, request) -> bool:
        return request.user.has_perm("automations.erase_person")

    @admin.action(description="Send the HubSpot deletion again", permissions=["erase_person"])
    def retry_crm(self, request, queryset):
        sent = sum(erasure_crm_retry(erasure=erasure) for erasure in queryset)
        self.message_user(request, f"{sent} HubSpot deletion(s) queued again.")
