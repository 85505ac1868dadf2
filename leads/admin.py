from django.contrib import admin

from core.admin import SafeDateHierarchyMixin
from leads.models import Lead


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
    list_filter = ["status", "tier_name", "quiz", "is_spam", "is_preview"]
    search_fields = ["email", "name", "company"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    fieldsets = [
        (None, {"fields": ["email", "name", "company", "phone", "status"]}),
        (
            "Score as given",
            {
                "fields": [
                    "quiz",
                    "score_points",
                    "score_max",
                    "score_percent",
                    "tier_name",
                    "category_scores",
                    "answers",
                ]
            },
        ),
        ("Consent", {"fields": ["consent_given", "consent_text", "consented_at"]}),
        ("Flags", {"fields": ["is_spam", "is_preview", "created_at", "attempt"]}),
    ]
    readonly_fields = [
        "email",
        "name",
        "company",
        "phone",
        "quiz",
        "score_points",
        "score_max",
        "score_percent",
        "tier_name",
        "category_scores",
        "answers",
        "consent_given",
        "consent_text",
        "consented_at",
        "is_spam",
        "is_preview",
        "created_at",
        "attempt",
    ]

    def has_add_permission(self, request):
        return False
