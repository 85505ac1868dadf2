"""Automations, built by marketers in admin: rules, conditions, actions, deliveries."""

import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html

from automations import crm
from automations.connections import (
    connection_disconnect,
    connection_test,
    connection_token_save,
    field_mapping_save,
    token_clean,
)
from automations.crypto import Unreadable
from automations.delivery import delivery_replay, rule_dry_run, rule_resume
from automations.models import (
    Action,
    Condition,
    Delivery,
    DeliveryAttempt,
    Erasure,
    HubSpotConnection,
    Rule,
)
from automations.privacy import erasure_crm_retry, leads_erase, person_erase, person_export_json
from automations.senders.http import Failure
from core.admin import BoundedFormsetsMixin, CappedInlineMixin, SafeDateHierarchyMixin
from core.forms import CleanForm
from leads.admin import LeadAdmin
from leads.models import Lead


class ConditionInline(CappedInlineMixin, admin.TabularInline):
    model = Condition
    extra = 1
    max_num = 10


class HiddenSecret(forms.HiddenInput):
    """A hidden field that never writes its value into the page."""

    def format_value(self, value):
        return None


class ActionForm(forms.ModelForm):
    """Shows the fields of the action's kind only (a HubSpot action has no webhook URL)."""

    webhook_url = forms.URLField(
        label="Webhook URL", max_length=500, required=False, assume_scheme="https"
    )

    class Meta:
        model = Action
        fields = [
            "kind",
            "order",
            "webhook_url",
            "webhook_secret",
            "task_subject",
            "task_due_hours",
            "hubspot_owner_id",
            "meta_pixel_id",
            "meta_access_token",
            "meta_event_name",
            "meta_test_event_code",
            "ga4_measurement_id",
            "ga4_api_secret",
            "ga4_tier_values",
            "ga4_currency",
            "ga4_validate",
            "phone_country",
            "only_with_consent",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Secrets are shown masked: the field is empty, its help says which one is saved
        # (its last four characters), and leaving it empty keeps it. The webhook's, which
        # this server made, can be shown for the receiver's code.
        for name in Action.SECRET_FIELDS:
            field = self.fields[name]
            field.widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
            saved = getattr(self.instance, name, "") if self.instance.pk else ""
            if isinstance(saved, Unreadable):
                field.help_text = (
                    "Saved, but it cannot be read with this server's FIELD_ENCRYPTION_KEY "
                    "(changed since?): paste it again."
                )
            elif saved and name == "webhook_secret":
                field.help_text = format_html(
                    "Saved (ends in …{}). Leave empty to keep it, or paste a new one. "
                    "<details><summary>Show it</summary><code>{}</code></details>",
                    saved[-4:],
                    saved,
                )
            elif saved:
                field.help_text = (
                    f"Saved (ends in …{saved[-4:]}). Leave empty to keep it, or paste a new one."
                )
            elif name == "webhook_secret":
                field.help_text = "Leave empty to have one made (shown here once saved)."
        # The browser hides the other kinds' fields as the kind changes (action_kind.js).
        self.fields["kind"].widget.attrs["data-kind-fields"] = json.dumps(
            {kind: list(names) for kind, names in Action.KIND_FIELDS.items()}
        )
        kind = self.data.get(self.add_prefix("kind")) if self.is_bound else self.instance.kind
        if kind not in Action.KIND_FIELDS:
            return  # a new action: every field until a kind is chosen
        used = set(Action.KIND_FIELDS[kind])
        for fields in Action.KIND_FIELDS.values():
            for name in set(fields) - used:
                if name in self.fields:
                    # Hidden, not removed: the values stay as they were when the kind changes
                    # (a secret's stays in the database: it is never written into the page).
                    secret = name in Action.SECRET_FIELDS
                    self.fields[name].widget = HiddenSecret() if secret else forms.HiddenInput()

    def _keep_secret(self, name: str) -> str:
        value = self.cleaned_data.get(name, "")
        return value.strip() if value and value.strip() else getattr(self.instance, name, "")

    def clean_webhook_secret(self) -> str:
        return self._keep_secret("webhook_secret")

    def clean_meta_access_token(self) -> str:
        return self._keep_secret("meta_access_token")

    def clean_ga4_api_secret(self) -> str:
        return self._keep_secret("ga4_api_secret")


class ActionInline(CappedInlineMixin, admin.StackedInline):
    model = Action
    form = ActionForm

    class Media:
        js = ["automations/action_kind.js"]

    extra = 0
    max_num = 10
    fields = [
        ("kind", "order"),
        ("webhook_url", "webhook_secret"),
        ("task_subject", "task_due_hours", "hubspot_owner_id"),
        ("meta_pixel_id", "meta_access_token"),
        ("meta_event_name", "meta_test_event_code"),
        ("ga4_measurement_id", "ga4_api_secret"),
        ("ga4_tier_values", "ga4_currency", "ga4_validate"),
        ("phone_country", "only_with_consent"),
    ]


@admin.register(Rule)
class RuleAdmin(BoundedFormsetsMixin, admin.ModelAdmin):
    list_display = ["name", "trigger", "quiz_list", "enabled", "paused_at", "held", "owner"]
    list_filter = ["enabled", "trigger", "quizzes"]
    filter_horizontal = ["quizzes"]
    inlines = [ConditionInline, ActionInline]
    readonly_fields = ["paused_at", "paused_reason"]
    actions = ["dry_run_7", "dry_run_30", "resume"]
    change_form_template = "automations/admin/rule_change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        rule = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if rule is not None and (rule.hold_reason() or self.held(rule)):
            held = self.held(rule)
            extra["resume_label"] = f"Resume and send {held} held deliver(ies)"
            extra["resume_help"] = rule.hold_reason() or "Some deliveries are held."
        return super().change_view(request, object_id, form_url, extra)

    def response_change(self, request, obj):
        if "_resume" in request.POST and self.has_change_permission(request, obj):
            sent = rule_resume(rule=obj)
            self.message_user(
                request,
                f"“{obj}” resumed: {sent} held deliver(ies) going out now.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    @admin.display(description="Held deliveries")
    def held(self, rule: Rule) -> int:
        return Delivery.objects.filter(action__rule=rule, status=Delivery.Status.HELD).count()

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("quizzes")

    @admin.display(description="Quizzes")
    def quiz_list(self, rule: Rule) -> str:
        return ", ".join(quiz.title for quiz in rule.quizzes.all()) or "All quizzes"

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

    @admin.action(description="Resume (switch on and send what is held)", permissions=["change"])
    def resume(self, request, queryset):
        for rule in queryset:
            sent = rule_resume(rule=rule)
            held = self.held(rule)
            message = f"“{rule}” resumed: {sent} held deliver(ies) going out now."
            if held:
                message += f" {held} still held: " + (
                    Delivery.objects.filter(action__rule=rule, status=Delivery.Status.HELD)
                    .values_list("held_reason", flat=True)
                    .first()
                )
            self.message_user(request, message, messages.WARNING if held else messages.SUCCESS)


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
    list_display = ["pk", "action", "status", "attempts", "lead", "created_at", "why"]
    list_filter = ["status", "action__kind", "action__rule"]
    search_fields = ["lead__email", "uid"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "uid",
        "action",
        "event",
        "lead",
        "after",
        "status",
        "held_reason",
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

    @admin.display(description="Why")
    def why(self, delivery: Delivery) -> str:
        if delivery.status == Delivery.Status.HELD:
            return delivery.held_reason
        if delivery.status == Delivery.Status.WAITING:
            return f"After #{delivery.after_id} ({delivery.after.action.get_kind_display()})"
        return delivery.last_error

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("action__rule", "after__action")

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


class TokenForm(CleanForm):
    token = forms.CharField(
        label="Private app access token",
        max_length=2000,
        strip=True,
        error_messages={"required": "Paste the token of your HubSpot private app."},
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}
        ),
        help_text="In HubSpot: Settings → Integrations → Private apps → your app → Auth → "
        "Show token. The app needs the scopes crm.objects.contacts.read and .write, "
        "crm.schemas.contacts.read, and tasks (crm.objects.tasks or sales-email-read).",
    )

    def clean_token(self):
        try:
            return token_clean(self.cleaned_data["token"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None


NOT_SENT = ""


class FieldMappingForm(CleanForm):
    """One choice per lead attribute, among HubSpot's writable contact properties."""

    def __init__(self, *args, attributes, properties, mapping, **kwargs):
        super().__init__(*args, **kwargs)
        self.attributes = attributes
        known = {p.name: p for p in properties}
        choices = [(NOT_SENT, "— not sent —")] + [
            (p.name, f"{p.label} ({p.name})")
            for p in properties
            if p.writable and p.name != "email"
        ]
        self.missing = {}
        for attribute in attributes:
            current = mapping.get(attribute.key, NOT_SENT)
            own = list(choices)
            if current and current not in known:
                # Deleted in HubSpot, or never made there: kept, and said so.
                self.missing[attribute.key] = current
                own.append((current, f"{current} — not in HubSpot (deleted or never created)"))
            elif current and not known[current].writable:
                own.append((current, f"{known[current].label} ({current}) — read-only in HubSpot"))
            self.fields[attribute.key] = forms.ChoiceField(
                label=attribute.label, choices=own, required=False, initial=current
            )

    def rows(self):
        return [(self[a.key], self.missing.get(a.key)) for a in self.attributes]

    def clean(self):
        data = super().clean()
        used: dict[str, str] = {}
        for attribute in self.attributes:
            prop = data.get(attribute.key)
            if not prop:
                continue
            if prop in used:
                self.add_error(
                    attribute.key,
                    f"“{prop}” is already filled with {used[prop]}: choose one.",
                )
            used[prop] = attribute.label
        return data


@admin.register(HubSpotConnection)
class ConnectionAdmin(admin.ModelAdmin):
    """The Connections page: HubSpot connected by a marketer, no server access needed."""

    def _allowed(self, request) -> bool:
        return request.user.is_active and request.user.has_perm("automations.change_rule")

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return HttpResponseRedirect("../../")

    def changelist_view(self, request, extra_context=None):
        if not self._allowed(request):
            raise PermissionDenied
        token_form = TokenForm()
        result = None
        if request.method == "POST":
            action = request.POST.get("action")
            if action == "save":
                token_form = TokenForm(request.POST)
                if token_form.is_valid():
                    result = connection_token_save(
                        token=token_form.cleaned_data["token"], by=request.user
                    )
                    if result.refused:
                        token_form.add_error("token", result.words + " It was not saved.")
                    else:
                        self.message_user(request, result.words, _level(result))
                        return HttpResponseRedirect(request.path)
            elif action == "test":
                result = connection_test()
                self.message_user(request, result.words, _level(result))
                return HttpResponseRedirect(request.path)
            elif action == "disconnect":
                connection_disconnect()
                self.message_user(
                    request,
                    "HubSpot disconnected: the token is deleted. New HubSpot deliveries are "
                    "held until it is connected again."
                    + (
                        " HUBSPOT_TOKEN is set on the server and still connects."
                        if settings.HUBSPOT_TOKEN
                        else ""
                    ),
                    messages.WARNING,
                )
                return HttpResponseRedirect(request.path)
        stored = crm.connection()
        state = crm.token_state(stored)
        properties, properties_error = [], ""
        if state.token:
            try:
                properties = crm.contact_property_list(state.token)
            except Failure as failure:
                properties_error = f"HubSpot's contact properties could not be read: {failure}"
        attributes = crm.lead_attributes()
        mapping = crm.field_mapping(stored)
        mapping_form = None
        if properties:
            data = request.POST if request.POST.get("action") == "mapping" else None
            mapping_form = FieldMappingForm(
                data, attributes=attributes, properties=properties, mapping=mapping
            )
            if data is not None and mapping_form.is_valid():
                field_mapping_save(mapping=mapping_form.cleaned_data)
                self.message_user(request, "Contact fields saved.", messages.SUCCESS)
                return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "title": "Connections",
            "opts": self.model._meta,
            "stored": stored,
            "state": state,
            "override": bool(settings.HUBSPOT_TOKEN),
            "override_last4": settings.HUBSPOT_TOKEN[-4:] if settings.HUBSPOT_TOKEN else "",
            "token_form": token_form,
            "mapping_form": mapping_form,
            "mapping_rows": [(a, mapping.get(a.key, "")) for a in attributes],
            "properties_error": properties_error,
            "rate_limit": settings.HUBSPOT_RATE_LIMIT_PER_10S,
            "held": Delivery.objects.filter(
                action__kind=Action.Kind.HUBSPOT, status=Delivery.Status.HELD
            ).count(),
        }
        status = 400 if request.method == "POST" else 200
        return TemplateResponse(
            request, "automations/admin/connections.html", context, status=status
        )


def _level(result) -> int:
    return messages.SUCCESS if result.ok else messages.WARNING
