"""The marketer's quiz builder: one page per quiz, choices nested inside questions."""

from __future__ import annotations

import nested_admin
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import ngettext

from core.admin import BoundedFormsetsMixin, CappedInlineMixin, SafeDateHierarchyMixin
from quizzes.models import (
    Answer,
    Attempt,
    Category,
    Choice,
    HiddenField,
    Question,
    Quiz,
    Tier,
)
from quizzes.services import (
    quiz_duplicate,
    quiz_problems,
    quiz_publish,
    quiz_unpublish,
)


def _quiz_being_edited(request: HttpRequest) -> Quiz | None:
    return getattr(request, "_quizfunnel_quiz", None)


# The most a quiz may have of each: a post claiming more is a form error, not a worker
# held for minutes (and the largest quiz fits DATA_UPLOAD_MAX_NUMBER_FIELDS).
MAX_QUESTIONS = 30
MAX_CHOICES = 10
MAX_CATEGORIES = 20
MAX_TIERS = 10


class ChoiceForm(forms.ModelForm):
    """A branch can only skip ahead: "then go to" offers the questions after this one."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get("next_question")
        if field is None or not self.instance.question_id:
            return  # a question not saved yet: its place is not known
        question = self.instance.question  # loaded with the choices (ChoiceInline)
        field.queryset = field.queryset.filter(quiz_id=question.quiz_id).filter(
            Q(order__gt=question.order) | Q(order=question.order, pk__gt=question.pk)
        )


class ChoiceInline(CappedInlineMixin, nested_admin.NestedTabularInline):
    model = Choice
    form = ChoiceForm
    fk_name = "question"
    extra = 0
    max_num = MAX_CHOICES
    min_num = 0
    fields = ["order", "label", "points", "next_question"]
    sortable_field_name = "order"

    def get_queryset(self, request):
        # Each choice's form reads its question's place: one query for all of them.
        return super().get_queryset(request).select_related("question")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "next_question":
            quiz = _quiz_being_edited(request)
            kwargs["queryset"] = (
                Question.objects.filter(quiz=quiz) if quiz else Question.objects.none()
            )
            kwargs["empty_label"] = "The next question"  # what no branch means
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class QuestionInline(CappedInlineMixin, nested_admin.NestedStackedInline):
    model = Question
    extra = 0
    max_num = MAX_QUESTIONS
    inlines = [ChoiceInline]
    sortable_field_name = "order"
    fieldsets = [
        (None, {"fields": [("order", "kind", "required"), "text", "help_text", "category"]}),
        (
            "Rating scale (rating questions only)",
            {
                "classes": ["collapse"],
                "fields": [
                    ("rating_min", "rating_max", "rating_points_per_step"),
                    ("rating_min_label", "rating_max_label"),
                ],
            },
        ),
    ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "category":
            quiz = _quiz_being_edited(request)
            kwargs["queryset"] = (
                Category.objects.filter(quiz=quiz) if quiz else Category.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CategoryInline(CappedInlineMixin, nested_admin.NestedTabularInline):
    model = Category
    extra = 0
    max_num = MAX_CATEGORIES
    fields = ["order", "name"]
    sortable_field_name = "order"


class TierInline(CappedInlineMixin, nested_admin.NestedStackedInline):
    model = Tier
    extra = 0
    max_num = MAX_TIERS
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fields = [
        ("name", "min_percent", "max_percent", "colour"),
        "headline",
        "body",
        ("cta_label", "cta_url"),
    ]


class HiddenFieldInline(CappedInlineMixin, nested_admin.NestedTabularInline):
    """The URL parameters the quiz keeps, with how many values were dropped."""

    model = HiddenField
    extra = 0
    max_num = 20
    fields = ["name", "pattern", "dropped"]
    readonly_fields = ["dropped"]
    verbose_name = "hidden field"
    verbose_name_plural = "hidden fields (URL parameters the quiz keeps)"

    @admin.display(description="values dropped")
    def dropped(self, field: HiddenField) -> str:
        if not field.pk or not field.dropped_count:
            return "none"
        return f"{field.dropped_count:,} run{'s' if field.dropped_count != 1 else ''}, last on " + (
            f"{field.last_dropped_at:%Y-%m-%d %H:%M} UTC" if field.last_dropped_at else "?"
        )


def embed_snippets(quiz: Quiz) -> list[tuple[str, str]]:
    """(label, snippet) for each mode, as the marketer pastes them into their site."""
    src = f"{settings.SITE_URL}/embed.js"
    return [
        ("In the page", f'<script src="{src}" data-quiz="{quiz.slug}" async></script>'),
        (
            "A button opening a popup",
            f'<script src="{src}" data-quiz="{quiz.slug}" data-mode="popup" '
            f'data-button-text="Take the quiz" async></script>',
        ),
        (
            "A button opening a side panel",
            f'<script src="{src}" data-quiz="{quiz.slug}" data-mode="slider" '
            f'data-button-text="Take the quiz" async></script>',
        ),
    ]


@admin.register(Quiz)
class QuizAdmin(BoundedFormsetsMixin, nested_admin.NestedModelAdmin):
    list_display = ["title", "slug", "status", "question_total", "lead_total", "published_at"]
    list_filter = ["status"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["status", "published_at", "readiness", "visitor_link", "embed_snippet"]
    inlines = [CategoryInline, TierInline, QuestionInline, HiddenFieldInline]
    actions = ["publish", "unpublish", "duplicate", "preview"]
    save_on_top = True
    fieldsets = [
        (None, {"fields": ["title", "slug", "description", "start_label"]}),
        ("Publishing", {"fields": ["status", "published_at", "readiness", "visitor_link"]}),
        (
            "Lead form",
            {
                "fields": [
                    "lead_form_title",
                    ("ask_name", "ask_company", "ask_phone"),
                    "consent_text",
                    "consent_required",
                ]
            },
        ),
        ("Embedding on your site", {"fields": ["embed_snippet", "embed_origins"]}),
    ]

    class Media:
        js = ["quizzes/copy.js"]

    @admin.display(description="embed snippet")
    def embed_snippet(self, quiz: Quiz) -> str:
        if not quiz.pk:
            return "Save the quiz first."
        rows = format_html_join(
            "",
            '<p><label for="embed-snippet-{0}">{1}</label><br>'
            '<textarea id="embed-snippet-{0}" readonly rows="2" cols="90" '
            'style="font-family: monospace">{2}</textarea> '
            '<button type="button" class="button" data-copy-from="embed-snippet-{0}">Copy</button>'
            "</p>",
            ((i, label, snippet) for i, (label, snippet) in enumerate(embed_snippets(quiz))),
        )
        note = (
            "Paste one into your page's HTML. The page's site must be listed below, "
            "and the quiz published."
        )
        return format_html("{}<p>{}</p>", rows, note)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                question_count=Count("questions", distinct=True),
                # Previews are the marketer's own test runs, not leads.
                lead_count=Count("leads", filter=Q(leads__is_preview=False), distinct=True),
            )
        )

    @admin.display(description="questions", ordering="question_count")
    def question_total(self, quiz: Quiz) -> int:
        return quiz.question_count

    @admin.display(description="leads", ordering="lead_count")
    def lead_total(self, quiz: Quiz) -> int:
        return quiz.lead_count

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The nested inlines limit their drop-downs to this quiz's questions and categories.
        request._quizfunnel_quiz = obj
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description="ready to publish")
    def readiness(self, quiz: Quiz) -> str:
        if not quiz.pk:
            return "Save the quiz first."
        problems = quiz_problems(quiz=quiz)
        if not problems:
            return "Yes: nothing stops this quiz from being published."
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((p,) for p in problems))
        )

    @admin.display(description="visitor link")
    def visitor_link(self, quiz: Quiz) -> str:
        if not quiz.pk:
            return "-"
        url = quiz.get_absolute_url()
        if quiz.is_published:
            return format_html('<a href="{}" target="_blank">{}</a>', url, url)
        return format_html(
            '<a href="{}?preview=1" target="_blank">Preview</a> (not published yet)', url
        )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        quiz = form.instance
        for question in quiz.questions.filter(kind=Question.Kind.YES_NO, choices__isnull=True):
            Choice.objects.bulk_create(
                [
                    # The same weight as the other questions' best answers (10).
                    Choice(question=question, label="Yes", points=10, order=0),
                    Choice(question=question, label="No", points=0, order=1),
                ]
            )
        if quiz.is_published:
            problems = quiz_problems(quiz=quiz)
            if problems:
                self.message_user(
                    request,
                    "This quiz is live but has problems: " + " ".join(problems),
                    messages.WARNING,
                )

    @admin.action(description="Publish selected quizzes", permissions=["change"])
    def publish(self, request, queryset):
        for quiz in queryset:
            problems = quiz_publish(quiz=quiz)
            if problems:
                self.message_user(
                    request,
                    f"“{quiz}” was not published: " + " ".join(problems),
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request, f"“{quiz}” is live at {quiz.get_absolute_url()}", messages.SUCCESS
                )

    @admin.action(description="Unpublish selected quizzes", permissions=["change"])
    def unpublish(self, request, queryset):
        for quiz in queryset:
            quiz_unpublish(quiz=quiz)
        count = queryset.count()
        self.message_user(
            request,
            ngettext("%(count)d quiz taken offline.", "%(count)d quizzes taken offline.", count)
            % {"count": count},
        )

    @admin.action(description="Duplicate selected quizzes (as drafts)", permissions=["add"])
    def duplicate(self, request, queryset):
        for quiz in queryset:
            copy = quiz_duplicate(quiz=quiz)
            self.message_user(request, f"“{quiz}” copied to the draft “{copy}”.")

    @admin.action(description="Preview the selected quiz", permissions=["change"])
    def preview(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one quiz to preview.", messages.WARNING)
            return None
        return HttpResponseRedirect(queryset.get().get_absolute_url() + "?preview=1")


class AnswerInline(CappedInlineMixin, admin.TabularInline):
    model = Answer
    extra = 0
    max_num = MAX_QUESTIONS
    can_delete = False
    fields = ["question", "display", "points", "max_points", "skipped", "answered_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Attempt)
class AttemptAdmin(SafeDateHierarchyMixin, admin.ModelAdmin):
    list_display = ["pk", "quiz", "started_at", "completed_at", "finished_at", "is_preview"]
    list_filter = ["quiz", "is_preview"]
    date_hierarchy = "started_at"
    readonly_fields = [
        "quiz",
        "token",
        "visitor_id",
        "first_touch",
        "last_touch",
        "is_preview",
        "started_at",
        "completed_at",
        "finished_at",
        "result_link",
    ]
    exclude = ["start_key"]
    inlines = [AnswerInline]

    @admin.display(description="result")
    def result_link(self, attempt: Attempt) -> str:
        if not attempt.finished_at:
            return "-"
        url = reverse("leads:result", kwargs={"slug": attempt.quiz.slug, "token": attempt.token})
        return format_html('<a href="{}">{}</a>', url, url)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
