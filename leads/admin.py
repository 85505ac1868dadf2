from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.html import format_html, format_html_join

from core.access import SALES
from core.admin import SafeDateHierarchyMixin
from leads.models import Lead
from leads.selectors import lead_history
from leads.services import lead_assign, lead_set_status

# Changed through the leads services, never saved straight onto the row (history, first response).
PIPELINE_FIELDS = ("status", "owner")


def _cells(values, tag: str, numeric: frozenset[int]) -> str:
    return format_html_join(
        "",
        "<" + tag + "{}>{}</" + tag + ">",
        ((' style="text-align: right"' if i in numeric else "", v) for i, v in enumerate(values)),
    )


def _table(head: tuple[str, ...], rows: list[tuple], numeric: frozenset[int] = frozenset()) -> str:
    """A small read-only table (the admin styles `table`); values are escaped."""
    if not rows:
        return "-"
    return format_html(
        "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>",
        _cells(head, "th", numeric),
        format_html_join("", "<tr>{}</tr>", ((_cells(row, "td", numeric),) for row in rows)),
    )


@admin.register(Lead)
class LeadAdmin(SafeDateHierarchyMixin, admin.ModelAdmin):
    list_display = [
        "email",
        "name",
        "company",
        "quiz",
        "score_percent",
        "tier_name",
        "status",
        "created_at",
    ]
    list_filter = ["status", "tier_name", "quiz", "is_spam", "looks_automated", "is_preview"]
    search_fields = ["email", "name", "company"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    fieldsets = [
        (None, {"fields": ["email", "name", "company", "phone"]}),
        (
            "Pipeline",
            {"fields": ["status", "owner", "first_response_at", "first_response_by", "history"]},
        ),
        (
            "Score as given",
            {
                "fields": [
                    "quiz",
                    "score_points",
                    "score_max",
                    "score_percent",
                    "tier_name",
                    "category_table",
                    "answer_table",
                ]
            },
        ),
        (
            "Consent",
            {"fields": ["consent_given", "consent_text", "consent_language", "consented_at"]},
        ),
        (
            "Flags",
            {"fields": ["is_spam", "looks_automated", "is_preview", "created_at", "attempt"]},
        ),
        (
            "Browser (for the ad platforms)",
            {"fields": ["user_agent", "fbp", "ga_client_id"], "classes": ["collapse"]},
        ),
    ]
    readonly_fields = [
        "first_response_at",
        "first_response_by",
        "history",
        "email",
        "name",
        "company",
        "phone",
        "quiz",
        "score_points",
        "score_max",
        "score_percent",
        "tier_name",
        "category_table",
        "answer_table",
        "consent_given",
        "consent_text",
        "consent_language",
        "consented_at",
        "is_spam",
        "looks_automated",
        "is_preview",
        "created_at",
        "attempt",
        "user_agent",
        "fbp",
        "ga_client_id",
    ]

    def has_add_permission(self, request):
        return False

    @admin.display(description="category scores")
    def category_table(self, lead: Lead) -> str:
        rows = [
            (c["name"], f"{c['points']} of {c['max_points']}", f"{c['percent']} %")
            for c in lead.category_scores
        ]
        return _table(("Category", "Points", "Percent"), rows, numeric=frozenset({1, 2}))

    @admin.display(description="answers")
    def answer_table(self, lead: Lead) -> str:
        rows = []
        for number, item in enumerate(lead.answers, start=1):
            if item.get("skipped"):
                answer, points = "Skipped", "-"
            else:
                answer = item.get("answer") or "-"
                points = f"{item['points']} of {item['max_points']}" if item.get("scored") else "-"
            rows.append((number, item.get("question", ""), answer, points))
        return _table(("#", "Question", "Answer", "Points"), rows, numeric=frozenset({0, 3}))

    @admin.display(description="history")
    def history(self, lead: Lead) -> str:
        entries = lead_history(lead=lead)
        if not entries:
            return "–"
        return format_html_join(
            "",
            "<div>{} · {}: {}</div>",
            ((f"{e.at:%Y-%m-%d %H:%M}", e.by or "automation", e.text) for e in entries),
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner":
            # Members of Sales, and whoever owns a lead now (so the current owner stays shown).
            kwargs["queryset"] = (
                get_user_model()
                .objects.filter(Q(is_active=True, groups__name=SALES) | Q(leads__isnull=False))
                .distinct()
                .order_by("username")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj: Lead, form, change: bool) -> None:
        """Status and owner go through the services (history, first response); anything
        else the form changed is saved as admin would."""
        if not change:
            return super().save_model(request, obj, form, change)
        others = [f for f in form.changed_data if f not in PIPELINE_FIELDS]
        if others:
            obj.save(update_fields=others)
        if "status" in form.changed_data:
            lead_set_status(lead=obj, status=obj.status, by=request.user)
        if "owner" in form.changed_data:
            lead_assign(lead=obj, owner=obj.owner, by=request.user)
