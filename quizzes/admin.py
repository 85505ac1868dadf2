"""The marketer's quiz builder: one page per quiz, choices nested inside questions."""

from __future__ import annotations

import nested_admin
from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import ngettext

from core.admin import BoundedFormsetsMixin, CappedInlineMixin, SafeDateHierarchyMixin
from quizzes.branding import AA_TEXT, contrast
from quizzes.models import (
    Answer,
    Attempt,
    Brand,
    Category,
    CategoryBand,
    Choice,
    Question,
    Quiz,
    Tier,
)
from quizzes.services import (
    band_coverage_problems,
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
    fields = ["order", "label", "points", "next_question", "image", "image_alt"]
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
        ("Picture", {"classes": ["collapse"], "fields": [("image", "image_alt")]}),
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
    fields = ["order", "name", "advice"]
    readonly_fields = ["advice"]
    sortable_field_name = "order"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(band_count=Count("bands"))

    @admin.display(description="bands and advice")
    def advice(self, category: Category) -> str:
        if category.pk is None:
            return "After saving: bands (Weak, Fair, Strong) with advice."
        count = getattr(category, "band_count", None)
        count = category.bands.count() if count is None else count
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:quizzes_category_change", args=[category.pk]),
            f"{count} band{'s' if count != 1 else ''}: edit" if count else "Add bands and advice",
        )


class CategoryBandInline(admin.StackedInline):
    model = CategoryBand
    extra = 0
    max_num = MAX_TIERS
    fields = [("name", "min_percent", "max_percent"), "headline", "advice"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    """A category's bands: its result line names the visitor's band and gives its advice.
    Reached from the quiz page (the category's "bands and advice" link)."""

    inlines = [CategoryBandInline]
    fields = ["quiz", "name", "coverage"]
    readonly_fields = ["quiz", "coverage"]

    def has_module_permission(self, request) -> bool:
        return False  # edited from its quiz, not listed on the admin's index

    def has_add_permission(self, request) -> bool:
        return False  # categories are added on the quiz page

    @admin.display(description="ready to publish")
    def coverage(self, category: Category) -> str:
        bands = list(category.bands.all())
        if not bands:
            return "No bands: the result shows this category's bar without advice."
        problems = band_coverage_problems(bands, one="band", many="Bands")
        if not problems:
            return "The bands cover 0–100 %."
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((p,) for p in problems))
        )


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
        ("image", "image_alt"),
    ]


@admin.register(Quiz)
class QuizAdmin(BoundedFormsetsMixin, nested_admin.NestedModelAdmin):
    list_display = ["title", "slug", "status", "question_total", "lead_total", "published_at"]
    list_filter = ["status"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["status", "published_at", "readiness", "visitor_link"]
    inlines = [CategoryInline, TierInline, QuestionInline]
    actions = ["publish", "unpublish", "duplicate", "preview"]
    save_on_top = True
    fieldsets = [
        (None, {"fields": ["title", "slug", "description", "start_label"]}),
        ("Look", {"fields": ["brand", ("cover_image", "cover_alt")]}),
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
        (
            "Scorecard e-mail",
            {
                "classes": ["collapse"],
                "fields": ["scorecard_subject", ("scorecard_from", "scorecard_reply_to")],
                "description": "Sent to each visitor with their PDF report by the rule "
                "“Scorecard to the visitor” (Automations → Rules).",
            },
        ),
    ]

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


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    """A reusable look; the quiz page's "+" beside Brand makes one without leaving the quiz."""

    list_display = ["name", "swatch", "font", "corners", "quiz_total"]
    search_fields = ["name"]
    readonly_fields = ["contrast_check"]
    fieldsets = [
        (None, {"fields": ["name", ("logo", "logo_alt")]}),
        (
            "Colours",
            {
                "fields": [
                    ("background_colour", "card_colour", "text_colour"),
                    ("primary_colour", "button_text_colour"),
                    "contrast_check",
                ],
                "description": "Quizzes with this brand can only be published when every "
                "colour pair reads well (WCAG AA, 4.5:1).",
            },
        ),
        ("Type and shape", {"fields": [("font", "corners")]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(quiz_count=Count("quizzes"))

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # A colour picker (the browser's own); it always sends #rrggbb.
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name.endswith("_colour") and field is not None:
            field.widget = forms.TextInput(attrs={"type": "color"})
        return field

    @admin.display(description="quizzes", ordering="quiz_count")
    def quiz_total(self, brand: Brand) -> int:
        return brand.quiz_count

    @admin.display(description="colours")
    def swatch(self, brand: Brand) -> str:
        look = brand.look
        return format_html(
            '<span style="display:inline-block;padding:.1rem .6rem;border-radius:4px;'
            'background:{};color:{};border:1px solid {}">{}</span>',
            look.primary,
            look.button_text,
            look.text,
            "Aa",
        )

    @admin.display(description="contrast")
    def contrast_check(self, brand: Brand) -> str:
        if brand.pk is None:
            return "Checked when you save."
        look = brand.look
        rows = [
            (
                name,
                fg,
                bg,
                f"{contrast(fg, bg):.1f}:1",
                "✓" if contrast(fg, bg) >= AA_TEXT else "✗ too low",
            )
            for name, fg, _, bg, _ in look.pairs()
        ]
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                '<li><span style="background:{2};color:{1};padding:0 .4rem">{0}</span> '
                "{3} {4}</li>",
                rows,
            ),
        )
