"""The marketer's quiz builder: one page per quiz, choices nested inside questions."""

from __future__ import annotations

import re
from dataclasses import dataclass

import nested_admin
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import ngettext

from core.admin import BoundedFormsetsMixin, CappedInlineMixin, SafeDateHierarchyMixin
from quizzes.admin_translating import (
    PARAM,
    TranslatingAdminMixin,
    requested_language,
    translating,
)
from quizzes.blocks import rule_problems
from quizzes.branding import AA_TEXT, contrast
from quizzes.models import (
    Answer,
    Attempt,
    BlockCondition,
    Brand,
    Category,
    CategoryBand,
    Choice,
    HiddenField,
    Question,
    Quiz,
    ResultBlock,
    Tier,
)
from quizzes.scorecards import TEMPLATES, quiz_from_template
from quizzes.selectors import quiet_minutes, quiz_shape, runs_in_progress
from quizzes.services import (
    band_coverage_problems,
    quiz_duplicate,
    quiz_problems,
    quiz_publish,
    quiz_unpublish,
)
from quizzes.translating import language_label, quiz_progress


def _quiz_being_edited(request: HttpRequest) -> Quiz | None:
    return getattr(request, "_quizfunnel_quiz", None)


# The most a quiz may have of each: a post claiming more is a form error, not a worker
# held for minutes (and the largest quiz fits DATA_UPLOAD_MAX_NUMBER_FIELDS).
MAX_QUESTIONS = 30
MAX_CHOICES = 10
MAX_CATEGORIES = 20
MAX_TIERS = 10
MAX_BLOCKS = 20
MAX_CONDITIONS = 10


# --- One page builds the whole quiz ------------------------------------------------
#
# A category or question added on the page is not in the database yet, so its drop-downs
# cannot offer it from a queryset. static/quizzes/builder.js gives each new row a key of
# its own (a hidden `builder_key`, stable when rows are dragged or removed) and adds
# "new:<key>" options to the drop-downs that may point at it. The form takes such a value
# as a pending reference; QuizAdmin.save_related links it to the saved row once every row
# is saved. Without JavaScript nothing is pending and the page works as before (choose
# after saving).

BUILDER_KEY = re.compile(r"^[a-z0-9]{6,20}$")
PENDING_PREFIX = "new:"


@dataclass(frozen=True)
class PendingRef:
    key: str


class CachedModelChoiceField(forms.ModelChoiceField):
    """A drop-down whose options can be a list read once for the page (`cached_choices`)."""

    cached_choices: list | None = None

    def _get_choices(self):
        if self.cached_choices is not None:
            return self.cached_choices
        return super()._get_choices()

    choices = property(_get_choices, forms.ChoiceField.choices.fset)


class PendingModelChoiceField(CachedModelChoiceField):
    """A drop-down that also takes "new:<key>": a row added on this page, not saved yet.

    Its options can be given as a list read once for the page (`cached_choices`): a
    20-question quiz has some 80 "then go to" drop-downs, and each would otherwise read
    the quiz's questions again.
    """

    def to_python(self, value):
        if isinstance(value, str) and value.startswith(PENDING_PREFIX):
            key = value.removeprefix(PENDING_PREFIX)
            if not BUILDER_KEY.match(key):
                raise ValidationError("That choice is not on this page any more.", "invalid_key")
            return PendingRef(key)
        return super().to_python(value)

    def validate(self, value):
        if not isinstance(value, PendingRef):
            super().validate(value)

    def has_changed(self, initial, data):
        if isinstance(data, str) and data.startswith(PENDING_PREFIX):
            return True
        return super().has_changed(initial, data)


class BuilderFormMixin:
    """A row of the one-page builder: its own key, and pending references to new rows."""

    pending_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pending: dict[str, str] = {}
        if "builder_key" in self.fields:
            self.fields["builder_key"].widget.attrs["data-builder-key"] = ""
        for name in self.pending_fields:
            field = self.fields.get(name)
            if field is None or not self.is_bound:
                continue
            value = self.data.get(self.add_prefix(name), "")
            if isinstance(value, str) and value.startswith(PENDING_PREFIX):
                # Re-rendered after an error: the script selects it again once it has
                # put the new rows' options back.
                field.widget.attrs["data-pending"] = value

    def has_changed(self) -> bool:
        # A key alone is not an edit: an untouched new row stays skipped, as in Django.
        return any(name != "builder_key" for name in self.changed_data)

    def clean(self):
        cleaned = super().clean()
        for name in self.pending_fields:
            value = cleaned.get(name)
            if isinstance(value, PendingRef):
                self.pending[name] = value.key
                cleaned[name] = None
        key = cleaned.get("builder_key") or ""
        if key and not BUILDER_KEY.match(key):
            cleaned["builder_key"] = ""
        return cleaned


def _builder_key_field() -> forms.CharField:
    return forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)


class CategoryForm(BuilderFormMixin, forms.ModelForm):
    builder_key = _builder_key_field()


class QuestionForm(BuilderFormMixin, forms.ModelForm):
    builder_key = _builder_key_field()
    pending_fields = ("category",)


class ChoiceForm(BuilderFormMixin, forms.ModelForm):
    """A branch can only skip ahead: "then go to" offers the questions after this one."""

    pending_fields = ("next_question",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get("next_question")
        if field is None or not self.instance.question_id:
            return  # a question not saved yet: its place is not known
        question = self.instance.question  # loaded with the choices (ChoiceInline)
        places = getattr(field, "places", None)
        if places is not None:
            here = (question.order, question.pk)
            field.cached_choices = [
                (value, label)
                for value, label in field.cached_choices
                if value == "" or places.get(value, here) > here
            ]
        field.queryset = field.queryset.filter(quiz_id=question.quiz_id).filter(
            Q(order__gt=question.order) | Q(order=question.order, pk__gt=question.pk)
        )


class ChoiceInline(TranslatingAdminMixin, CappedInlineMixin, nested_admin.NestedTabularInline):
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
            kwargs["form_class"] = PendingModelChoiceField
            field = super().formfield_for_foreignkey(db_field, request, **kwargs)
            # Read once for the page: nested-admin builds this form class per question.
            questions = getattr(request, "_quizfunnel_branch_targets", None)
            if questions is None:
                questions = list(kwargs["queryset"].only("pk", "text", "order"))
                request._quizfunnel_branch_targets = questions
            field.cached_choices = [("", field.empty_label)] + [(q.pk, str(q)) for q in questions]
            field.places = {q.pk: (q.order, q.pk) for q in questions}
            return field
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class QuestionInline(TranslatingAdminMixin, CappedInlineMixin, nested_admin.NestedStackedInline):
    model = Question
    form = QuestionForm
    extra = 0
    max_num = MAX_QUESTIONS
    inlines = [ChoiceInline]
    sortable_field_name = "order"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("order", "kind", "required"),
                    "text",
                    "help_text",
                    "category",
                    "builder_key",
                ]
            },
        ),
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
            kwargs["form_class"] = PendingModelChoiceField
            field = super().formfield_for_foreignkey(db_field, request, **kwargs)
            categories = getattr(request, "_quizfunnel_categories", None)
            if categories is None:
                categories = request._quizfunnel_categories = list(kwargs["queryset"])
            field.cached_choices = [("", field.empty_label)] + [(c.pk, str(c)) for c in categories]
            return field
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CategoryInline(TranslatingAdminMixin, CappedInlineMixin, nested_admin.NestedTabularInline):
    model = Category
    form = CategoryForm
    extra = 0
    max_num = MAX_CATEGORIES
    fields = ["order", "name", "builder_key", "advice"]
    readonly_fields = ["advice"]
    sortable_field_name = "order"

    def get_queryset(self, request):
        self._request = request  # the band links keep the page's translation mode
        return super().get_queryset(request).annotate(band_count=Count("bands"))

    @admin.display(description="bands and advice")
    def advice(self, category: Category) -> str:
        if category.pk is None:
            return "After saving: bands (Weak, Fair, Strong) with advice."
        count = getattr(category, "band_count", None)
        count = category.bands.count() if count is None else count
        language = translating(self._request) if getattr(self, "_request", None) else ""
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:quizzes_category_change", args=[category.pk])
            + (f"?{PARAM}={language}" if language else ""),
            f"{count} band{'s' if count != 1 else ''}: edit" if count else "Add bands and advice",
        )


class CategoryBandInline(TranslatingAdminMixin, admin.StackedInline):
    model = CategoryBand
    extra = 0
    max_num = MAX_TIERS
    fields = [("name", "min_percent", "max_percent"), "headline", "advice"]


@admin.register(Category)
class CategoryAdmin(TranslatingAdminMixin, admin.ModelAdmin):
    """A category's bands: its result line names the visitor's band and gives its advice.
    Reached from the quiz page (the category's "bands and advice" link)."""

    inlines = [CategoryBandInline]
    fields = ["quiz", "name", "coverage"]
    readonly_fields = ["quiz", "coverage"]
    change_form_template = "admin/quizzes/translating_change_form.html"

    def get_fieldsets(self, request, obj=None):
        quiz = obj.quiz if obj else None
        request._quizfunnel_translating = requested_language(request, quiz.language) if quiz else ""
        return super().get_fieldsets(request, obj)

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        language = translating(request)
        context |= {
            "translating": language,
            "translating_label": language_label(language) if language else "",
            "original_url": request.path,
        }
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def response_change(self, request, obj):
        return _keep_translating(request, super().response_change(request, obj))

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


class TierInline(TranslatingAdminMixin, CappedInlineMixin, nested_admin.NestedStackedInline):
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


def _condition_targets(request, quiz: Quiz | None) -> dict[str, list]:
    """The options of the conditions' drop-downs, read once for the page."""
    targets = getattr(request, "_quizfunnel_condition_targets", None)
    if targets is not None:
        return targets
    if quiz is None:
        targets = {name: [] for name in ("tier", "category", "band", "question", "choice")}
    else:
        # The questions' and categories' own drop-downs have read them for this page.
        questions = getattr(request, "_quizfunnel_branch_targets", None)
        if questions is None:
            questions = list(Question.objects.filter(quiz=quiz).only("pk", "text", "order"))
        categories = getattr(request, "_quizfunnel_categories", None)
        if categories is None:
            categories = list(Category.objects.filter(quiz=quiz))
        number = {q.pk: n for n, q in enumerate(questions, start=1)}
        bands = CategoryBand.objects.filter(category__quiz=quiz).select_related("category")
        choices = Choice.objects.filter(question__quiz=quiz).order_by(
            "question__order", "question_id", "order", "pk"
        )
        targets = {
            "tier": [(t.pk, str(t)) for t in quiz.tiers.all()],
            "category": [(c.pk, c.name) for c in categories],
            "band": [
                (b.pk, f"{b.category.name}: {b}")
                for b in sorted(bands, key=lambda b: (b.category.order, b.category_id))
            ],
            "question": [(q.pk, f"{number[q.pk]}. {q.text[:70]}") for q in questions],
            "choice": [
                (c.pk, f"{number.get(c.question_id, '?')}. {c.label[:60]}") for c in choices
            ],
        }
    request._quizfunnel_condition_targets = targets
    return targets


class BlockConditionInline(CappedInlineMixin, nested_admin.NestedStackedInline):
    """A block's conditions, one line each; the kind says which of the other fields count
    (builder.js shows only those)."""

    model = BlockCondition
    extra = 0
    max_num = MAX_CONDITIONS
    fields = [
        (
            "kind",
            "tier",
            "category",
            "band",
            "question",
            "choice",
            "compare",
            "number",
            "field_name",
            "value",
        )
    ]
    verbose_name = "condition"
    verbose_name_plural = (
        "conditions (none: the block always shows; a band or an answer brings its category "
        "or question)"
    )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        # A plain drop-down: the add/change/view icons beside it would lead off the page.
        if field is not None and isinstance(field.widget, RelatedFieldWidgetWrapper):
            field.widget = field.widget.widget
        return field

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in ("tier", "category", "band", "question", "choice"):
            quiz = _quiz_being_edited(request)
            model = db_field.related_model
            if model in (Tier, Category, Question):
                kwargs["queryset"] = (
                    model.objects.filter(quiz=quiz) if quiz else model.objects.none()
                )
            elif model is CategoryBand:
                kwargs["queryset"] = model.objects.filter(category__quiz=quiz)
            else:
                kwargs["queryset"] = model.objects.filter(question__quiz=quiz)
            kwargs["form_class"] = CachedModelChoiceField
            field = super().formfield_for_foreignkey(db_field, request, **kwargs)
            options = _condition_targets(request, quiz)[db_field.name]
            field.cached_choices = [("", "---------"), *options]
            return field
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ResultBlockInline(TranslatingAdminMixin, CappedInlineMixin, nested_admin.NestedStackedInline):
    """Blocks on the result, shown in order when their conditions hold."""

    model = ResultBlock
    extra = 0
    max_num = MAX_BLOCKS
    inlines = [BlockConditionInline]
    sortable_field_name = "order"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    verbose_name = "result block"
    verbose_name_plural = (
        "result blocks (shown on the result, the e-mail and the PDF when their conditions hold)"
    )
    fields = [
        ("order", "match"),
        "headline",
        "body",
        ("image", "image_alt"),
        ("cta_label", "cta_url"),
        "conditions_check",
    ]
    readonly_fields = ["conditions_check"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("conditions")

    @admin.display(description="conditions check")
    def conditions_check(self, block: ResultBlock) -> str:
        if block.pk is None:
            return "Checked when you save."
        # One read of the quiz's shape for all its blocks (an inline lives for one request).
        shapes = self.__dict__.setdefault("_shapes", {})
        if block.quiz_id not in shapes:
            shapes[block.quiz_id] = quiz_shape(quiz=block.quiz)
        shape = shapes[block.quiz_id]
        problems = rule_problems(block.rule(), shape)
        if not problems:
            if not block.conditions.all():
                return "No conditions: shown on every result."
            return "Every condition can hold."
        return format_html(
            '<ul class="qf-block-problems">{}</ul>',
            format_html_join("", "<li>⚠ {}</li>", ((p,) for p in problems)),
        )


def _keep_translating(request: HttpRequest, response):
    """A save that comes back to the same page comes back in the same language."""
    language = translating(request)
    url = getattr(response, "url", "")
    if language and url and url.split("?")[0] == request.path and f"{PARAM}=" not in url:
        response["Location"] = url + ("&" if "?" in url else "?") + f"{PARAM}={language}"
    return response


class QuizForm(forms.ModelForm):
    """The quiz's own fields; its further languages as boxes to tick, not JSON."""

    languages = forms.MultipleChoiceField(
        label="Translated into",
        choices=settings.LANGUAGES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Visitors may take the quiz in these languages too. Publishing needs "
        "every text translated into each.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "language" in self.fields:
            # A post without it (an older page, a script) keeps the quiz's language.
            self.fields["language"].required = False

    def clean_language(self):
        return self.cleaned_data.get("language") or self.instance.language

    def clean(self):
        cleaned = super().clean()
        default = cleaned.get("language") or self.instance.language
        chosen = set(cleaned.get("languages") or [])
        cleaned["languages"] = [c for c, _ in settings.LANGUAGES if c in chosen and c != default]
        return cleaned


def _descend(formset):
    """Every form of a formset and of the formsets nested in its forms (nested-admin)."""
    for form in formset:
        yield form
        for nested in getattr(form, "nested_formsets", None) or []:
            yield from _descend(nested)


def _link_pending(formsets) -> int:
    """Point each pending reference at the row it named, now saved; returns how many
    named a row that is not there (removed before saving)."""
    saved: dict[tuple[type, str], models.Model] = {}
    pending = []
    for top in formsets:
        for form in _descend(top):
            data = getattr(form, "cleaned_data", None) or {}
            if not isinstance(form, BuilderFormMixin) or data.get("DELETE"):
                continue
            key = data.get("builder_key")
            if key and form.instance.pk:
                saved[(type(form.instance), key)] = form.instance
            pending += [(form.instance, name, key) for name, key in form.pending.items()]
    lost = 0
    for instance, name, key in pending:
        if instance.pk is None:
            continue
        target = saved.get((instance._meta.get_field(name).related_model, key))
        lost += target is None
        setattr(instance, name, target)
        instance.save(update_fields=[name])
    return lost


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
class QuizAdmin(TranslatingAdminMixin, BoundedFormsetsMixin, nested_admin.NestedModelAdmin):
    form = QuizForm
    change_form_template = "admin/quizzes/translating_change_form.html"
    list_display = ["title", "slug", "status", "question_total", "lead_total", "published_at"]
    list_filter = ["status"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = [
        "status",
        "published_at",
        "readiness",
        "visitor_link",
        "embed_snippet",
        "blocks_preview",
        "translation_status",
    ]
    inlines = [CategoryInline, TierInline, QuestionInline, HiddenFieldInline, ResultBlockInline]
    actions = ["publish", "unpublish", "duplicate", "preview"]
    save_on_top = True
    change_list_template = "admin/quizzes/quiz/change_list.html"

    class Media:
        js = ["django_htmx/htmx-2.min.js", "quizzes/builder.js", "quizzes/copy.js"]
        css = {"all": ["quizzes/builder.css"]}

    fieldsets = [
        (None, {"fields": ["title", "slug", "description", "start_label"]}),
        ("Look", {"fields": ["brand", "cover_image", "cover_alt"]}),
        ("Languages", {"fields": ["language", "languages", "translation_status"]}),
        ("Publishing", {"fields": ["status", "published_at", "readiness", "visitor_link"]}),
        ("Visitor experience", {"fields": ["auto_advance"]}),
        (
            "Lead form",
            {
                "fields": [
                    "lead_form_position",
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
        ("Embedding on your site", {"fields": ["embed_snippet", "embed_origins"]}),
        (
            "Preview result blocks",
            {
                "fields": ["blocks_preview"],
                "classes": ["qf-blocks-preview-set"],
                "description": "Which result blocks (below) a set of answers would show.",
            },
        ),
    ]

    @admin.display(description="answers")
    def blocks_preview(self, quiz: Quiz) -> str:
        if not quiz.pk:
            return "Save the quiz first."
        # The preview scores answers: leads' work, reached by URL name, never by import.
        url = reverse("admin:leads_lead_blocks_preview", args=[quiz.pk])
        return format_html(
            '<div id="qf-blocks-preview" hx-get="{}" hx-trigger="load" hx-swap="innerHTML">'
            '<a href="{}">Preview which result blocks a set of answers shows</a></div>',
            url,
            url,
        )

    @admin.display(description="translations")
    def translation_status(self, quiz: Quiz) -> str:
        if not quiz.pk:
            return "Tick a language and save; then translate each text beside its original."
        states = quiz_progress(quiz)
        if not states:
            return "Only the default language. Tick a language above and save to translate."
        path = reverse("admin:quizzes_quiz_change", args=[quiz.pk])
        return format_html(
            '<ul class="qf-languages">{}</ul>',
            format_html_join(
                "",
                '<li>{} {} <a class="button" href="{}?{}={}">Translate into {}</a></li>',
                (
                    (
                        str(state),
                        "✓" if state.complete else f"({state.total - state.done} to go)",
                        path,
                        PARAM,
                        state.language,
                        state.label,
                    )
                    for state in states
                ),
            ),
        )

    def get_fieldsets(self, request, obj=None):
        # The first the page asks of the quiz: which language it is translated into here.
        request._quizfunnel_translating = requested_language(request, obj.language) if obj else ""
        return super().get_fieldsets(request, obj)

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        language = translating(request)
        context |= {"translating": language, "original_url": request.path}
        if language:
            state = next((s for s in quiz_progress(obj) if s.language == language), None)
            context |= {
                "translating_label": language_label(language),
                "translating_progress": str(state) if state else "",
                "translating_offered": state is not None,
            }
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    @admin.display(description="embed snippet")
    def embed_snippet(self, quiz: Quiz) -> str:
        if not quiz.pk:
            return "Save the quiz first."
        rows = format_html_join(
            "",
            '<p><label for="embed-snippet-{0}">{1}</label><br>'
            '<textarea id="embed-snippet-{0}" readonly rows="2" cols="90" '
            'style="font-family: monospace; width: 100%; max-width: 44rem; '
            'box-sizing: border-box">{2}</textarea> '
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
        publish = mark_safe(
            '<button type="submit" name="_publish" class="button default" '
            'data-action="publish">Save and publish</button>'
        )
        if not quiz.pk:
            return format_html(
                "<p>Build the whole quiz on this page, then save it or publish it at once."
                "</p><p>{}</p>",
                publish,
            )
        problems = quiz_problems(quiz=quiz)
        buttons = [
            format_html(
                '<a class="button" href="{}?preview=1" target="_blank" rel="noopener" '
                'data-action="preview">Preview</a>',
                quiz.get_absolute_url(),
            )
        ]
        if quiz.is_published:
            buttons.insert(
                0,
                format_html(
                    '<a class="button" href="{}" data-action="unpublish">Unpublish…</a>',
                    reverse("admin:quizzes_quiz_unpublish", args=[quiz.pk]),
                ),
            )
        else:
            buttons.insert(0, publish)
        actions = format_html(
            '<p class="quiz-actions">{}</p><p class="qf-note">Preview shows the quiz as last '
            "saved; your preview runs are never counted.</p>",
            format_html_join(" ", "{}", ((b,) for b in buttons)),
        )
        if not problems:
            state = "It is live." if quiz.is_published else "Nothing stops it."
            return format_html("<p>Yes: {}</p>{}", state, actions)
        return format_html(
            "<ul>{}</ul>{}", format_html_join("", "<li>{}</li>", ((p,) for p in problems)), actions
        )

    @admin.display(description="visitor link")
    def visitor_link(self, quiz: Quiz) -> str:
        if not quiz.pk:
            return "-"
        url = quiz.get_absolute_url()
        if quiz.is_published:
            return format_html('<a href="{}" target="_blank">{}</a>', url, url)
        if quiz.is_closed:
            return format_html(
                "{} (closed: new visitors see “this quiz is closed”; runs already begun can "
                "finish)",
                url,
            )
        return format_html(
            '<a href="{}?preview=1" target="_blank">Preview</a> (not published yet)', url
        )

    # --- Publish, unpublish and templates as pages and buttons -----------------------

    def get_urls(self):
        own = [
            path(
                "<int:quiz_id>/unpublish/",
                self.admin_site.admin_view(self.unpublish_view),
                name="quizzes_quiz_unpublish",
            ),
            path(
                "templates/",
                self.admin_site.admin_view(self.templates_view),
                name="quizzes_quiz_templates",
            ),
        ]
        return own + super().get_urls()

    def _publish_from_form(self, request, quiz: Quiz) -> None:
        problems = quiz_publish(quiz=quiz)
        if problems:
            self.message_user(
                request,
                f"“{quiz}” was saved but not published: " + " ".join(problems),
                messages.ERROR,
            )
        else:
            self.message_user(
                request, f"“{quiz}” is live at {quiz.get_absolute_url()}", messages.SUCCESS
            )

    def response_add(self, request, obj, post_url_continue=None):
        if "_publish" in request.POST:
            self._publish_from_form(request, obj)
            return HttpResponseRedirect(reverse("admin:quizzes_quiz_change", args=[obj.pk]))
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if "_publish" in request.POST:
            self._publish_from_form(request, obj)
            return _keep_translating(request, HttpResponseRedirect(request.path))
        return _keep_translating(request, super().response_change(request, obj))

    def unpublish_view(self, request, quiz_id: int):
        quiz = Quiz.objects.filter(pk=quiz_id).first()
        if quiz is None:
            raise Http404("No such quiz.")
        if not self.has_change_permission(request, quiz):
            raise PermissionDenied
        change_url = reverse("admin:quizzes_quiz_change", args=[quiz.pk])
        if request.method == "POST":
            running = quiz_unpublish(quiz=quiz)
            self.message_user(request, f"“{quiz}” is offline. " + _running_words(running))
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "quiz": quiz,
            "title": f"Unpublish “{quiz}”?",
            "running": runs_in_progress(quiz=quiz),
            "quiet_minutes": quiet_minutes(),
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/quizzes/quiz/unpublish.html", context)

    def templates_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            name = request.POST.get("template", "")
            if name not in TEMPLATES:
                self.message_user(request, "Choose one of the templates below.", messages.ERROR)
                return HttpResponseRedirect(request.path)
            quiz = quiz_from_template(name=name)
            self.message_user(
                request,
                f"“{quiz}” is a draft made from the template: change its texts, then publish.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:quizzes_quiz_change", args=[quiz.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "New quiz from a template",
            "templates": [t.summary() for t in TEMPLATES.values()],
        }
        return TemplateResponse(request, "admin/quizzes/quiz/templates.html", context)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        quiz = form.instance
        lost = _link_pending(formsets)
        if lost:
            self.message_user(
                request,
                ngettext(
                    "%(count)d choice pointed at a row removed before saving; it was left empty.",
                    "%(count)d choices pointed at rows removed before saving; they were left "
                    "empty.",
                    lost,
                )
                % {"count": lost},
                messages.WARNING,
            )
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
        quizzes = list(queryset)
        running = sum(quiz_unpublish(quiz=quiz) for quiz in quizzes)
        count = len(quizzes)
        self.message_user(
            request,
            ngettext("%(count)d quiz taken offline.", "%(count)d quizzes taken offline.", count)
            % {"count": count}
            + " "
            + _running_words(running),
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


def _running_words(running: int) -> str:
    if not running:
        return "No run was in progress; new visitors see “this quiz is closed”."
    return (
        ngettext(
            "%(count)d run in progress can still finish; ",
            "%(count)d runs in progress can still finish; ",
            running,
        )
        % {"count": running}
        + "new visitors see “this quiz is closed”."
    )


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
