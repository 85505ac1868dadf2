from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core.access import SALES
from core.admin import SafeDateHierarchyMixin
from core.text import clean_text
from leads.blocks import blocks_preview
from leads.models import Lead
from leads.selectors import lead_history
from leads.services import lead_assign, lead_set_status
from quizzes.models import Question, Quiz

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

    # --- The quiz builder's "Preview result blocks" (linked from quizzes.admin by URL name)

    def get_urls(self):
        own = [
            path(
                "blocks-preview/<int:quiz_id>/",
                self.admin_site.admin_view(self.blocks_preview_view),
                name="leads_lead_blocks_preview",
            )
        ]
        return own + super().get_urls()

    def blocks_preview_view(self, request, quiz_id: int):
        """Which result blocks a set of answers (and hidden field values) would show: a
        page of its own (a GET form, no JavaScript needed), or htmx partials inside the
        quiz builder."""
        if not request.user.has_perm("quizzes.change_quiz"):
            raise PermissionDenied
        quiz = Quiz.objects.filter(pk=quiz_id).first()
        if quiz is None:
            raise Http404("No such quiz.")
        # Numbered as the quiz numbers them; text questions have nothing to pick.
        questions = [
            (number, q)
            for number, q in enumerate(quiz.ordered_questions(), start=1)
            if q.is_choice or q.kind == Question.Kind.RATING
        ]
        hidden_names = list(quiz.hidden_fields.values_list("name", flat=True))
        try:
            choices, ratings, hidden = _preview_picks(request.GET, questions, hidden_names)
        except ValueError as error:
            return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")
        rows = [
            {
                "question": q,
                "number": number,
                "picked": set(choices.get(q.pk, [])),
                "rating": ratings.get(q.pk),
                "multiple": q.kind == Question.Kind.MULTIPLE,
            }
            for number, q in questions
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Preview result blocks of “{quiz}”",
            "quiz": quiz,
            "rows": rows,
            "hidden_fields": [(name, hidden.get(name, "")) for name in hidden_names],
            "preview": blocks_preview(quiz=quiz, choices=choices, ratings=ratings, hidden=hidden),
            "block_count": quiz.result_blocks.count(),
            "action": reverse("admin:leads_lead_blocks_preview", args=[quiz.pk]),
            "change_url": reverse("admin:quizzes_quiz_change", args=[quiz.pk]),
        }
        template = "admin/leads/blocks_preview.html"
        if request.htmx:
            part = "result" if request.htmx.target == "qf-blocks-preview-result" else "panel"
            template += "#" + part
        return TemplateResponse(request, template, context)


def _preview_picks(data, questions, hidden_names):
    """(choices, ratings, hidden) from the preview's form: q<id> (choice ids), r<id> (a
    rating), h_<name> (a hidden field's value). ValueError in words for what is not a
    number or outside a rating scale."""
    choices, ratings, hidden = {}, {}, {}
    for number, question in questions:
        if question.is_choice:
            values = [v for v in data.getlist(f"q{question.pk}") if v]
            if not all(v.isdigit() for v in values):
                raise ValueError(f"Question {number}: choose one of its answers.")
            if values:
                choices[question.pk] = [int(v) for v in values]
        else:
            value = data.get(f"r{question.pk}", "")
            if not value:
                continue
            try:
                rating = int(value)
            except ValueError:
                rating = None
            if rating is None or rating not in question.rating_values():
                raise ValueError(
                    f"Question {number}: choose a rating from {question.rating_min} "
                    f"to {question.rating_max}."
                )
            ratings[question.pk] = rating
    for name in hidden_names:
        value = clean_text(data.get(f"h_{name}", "")).strip()
        if len(value) > 200:
            raise ValueError(f"Hidden field “{name}”: keep the value to 200 characters.")
        if value:
            hidden[name] = value
    return choices, ratings, hidden
