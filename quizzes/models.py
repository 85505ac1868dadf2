"""Quiz definitions (Quiz, Category, Tier, Question, Choice) and the visitor's run
(Attempt, Answer).

An Answer keeps a copy of what it earned (points, maximum, the answer as shown),
so editing a published quiz never changes what a visitor was already given.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable
from email.utils import parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, RegexValidator, validate_email
from django.db import models
from django.urls import reverse
from django.utils import timezone

from quizzes import blocks
from quizzes.branding import CORNERS, FONTS, Look
from quizzes.embedding import hidden_field_problems, site_problems
from quizzes.i18n import Translatable
from quizzes.images import QuizImageField

SECONDS_PER_QUESTION = 12

_HEX = re.compile(r"#[0-9a-fA-F]{6}")
hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Enter a colour such as #1f7a4d.")
ALT_HELP = "Describe the picture for people who cannot see it (required with a picture)."


def _alt_required(instance, image: str, alt: str) -> dict[str, str]:
    if getattr(instance, image) and not getattr(instance, alt).strip():
        return {alt: "Describe the picture: people who cannot see it hear this text instead."}
    return {}


class Brand(models.Model):
    """A reusable look for quizzes: logo, colours, font and corners."""

    name = models.CharField(max_length=100, unique=True)
    logo = QuizImageField(help_text="Shown above the quiz. PNG, JPEG or WebP.")
    logo_alt = models.CharField("logo text", max_length=200, blank=True, help_text=ALT_HELP)
    background_colour = models.CharField(max_length=7, default="#f4f6f9", validators=[hex_colour])
    card_colour = models.CharField(max_length=7, default="#ffffff", validators=[hex_colour])
    text_colour = models.CharField(max_length=7, default="#1f2937", validators=[hex_colour])
    primary_colour = models.CharField(
        max_length=7,
        default="#1d4ed8",
        validators=[hex_colour],
        help_text="Buttons, links, the progress bar and chosen answers.",
    )
    button_text_colour = models.CharField(max_length=7, default="#ffffff", validators=[hex_colour])
    font = models.CharField(
        max_length=30, choices=[(k, v[0]) for k, v in FONTS.items()], default="system"
    )
    corners = models.CharField(
        max_length=10, choices=[(k, v[0]) for k, v in CORNERS.items()], default="rounded"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = _alt_required(self, "logo", "logo_alt")
        if errors:
            raise ValidationError(errors)

    @property
    def look(self) -> Look:
        """The brand's look; a value that is not a colour (saved around the form) is ignored."""
        default = Look()

        def colour(value: str, fallback: str) -> str:
            return value.lower() if _HEX.fullmatch(value or "") else fallback

        return Look(
            background=colour(self.background_colour, default.background),
            card=colour(self.card_colour, default.card),
            text=colour(self.text_colour, default.text),
            primary=colour(self.primary_colour, default.primary),
            button_text=colour(self.button_text_colour, default.button_text),
            font=self.font if self.font in FONTS else default.font,
            corners=self.corners if self.corners in CORNERS else default.corners,
        )


def validate_embed_sites(value: str) -> None:
    problems = site_problems(value)
    if problems:
        raise ValidationError(problems)


class Quiz(Translatable):
    TRANSLATED_FIELDS = (
        "title",
        "description",
        "start_label",
        "lead_form_title",
        "consent_text",
        "scorecard_subject",
        "cover_alt",
    )

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    class FieldMode(models.TextChoices):
        OFF = "off", "Not asked"
        OPTIONAL = "optional", "Optional"
        REQUIRED = "required", "Required"

    class LeadFormPosition(models.TextChoices):
        AFTER = "after", "After the questions"
        BEFORE = "before", "Before the questions"
        NONE = "none", "Not at all (an anonymous result)"

    title = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=80, unique=True, help_text="The end of the quiz's address: /q/this-slug/."
    )
    description = models.TextField(max_length=2000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    start_label = models.CharField(max_length=60, default="Start the quiz")
    cover_image = QuizImageField(help_text="A picture on the quiz's first page.")
    cover_alt = models.CharField("cover text", max_length=200, blank=True, help_text=ALT_HELP)
    brand = models.ForeignKey(
        Brand,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="quizzes",
        help_text="Logo, colours and font. Leave empty for Quizfunnel's own look.",
    )

    # The builder's visitor conveniences.
    auto_advance = models.BooleanField(
        default=False,
        help_text="Go on to the next question as soon as a single-choice or yes/no answer "
        "is picked (multiple choice, rating and text questions keep their Next button).",
    )

    # The lead form.
    lead_form_position = models.CharField(
        "where the lead form goes",
        max_length=10,
        choices=LeadFormPosition.choices,
        default=LeadFormPosition.AFTER,
        help_text="Before the questions, a visitor who leaves half-way is still a lead "
        "(their unfinished run is recorded as abandoned). Not at all: visitors see their "
        "result without giving an e-mail, and no lead is made.",
    )
    lead_form_title = models.CharField(
        max_length=200, default="Where should we send your scorecard?"
    )
    ask_name = models.CharField(
        max_length=10, choices=FieldMode.choices, default=FieldMode.OPTIONAL
    )
    ask_company = models.CharField(
        max_length=10, choices=FieldMode.choices, default=FieldMode.OPTIONAL
    )
    ask_phone = models.CharField(max_length=10, choices=FieldMode.choices, default=FieldMode.OFF)
    consent_text = models.TextField(
        max_length=2000,
        blank=True,
        help_text="Shown beside the consent checkbox. Leave empty to hide the checkbox.",
    )
    consent_required = models.BooleanField(
        default=False, help_text="The visitor must tick the consent box to see the result."
    )

    # The scorecard e-mailed to the visitor (automations' "E-mail the visitor their scorecard").
    scorecard_subject = models.CharField(
        max_length=200,
        blank=True,
        default="Your result: {percent} % ({tier}) on {quiz}",
        help_text="You can use {quiz}, {percent}, {tier} and {name}. Empty: "
        "“Your result: {percent} % ({tier}) on {quiz}”.",
    )
    scorecard_from = models.CharField(
        max_length=254,
        blank=True,
        help_text="Sender, e.g. “Acme Growth <hello@acme.example>”. Empty: DEFAULT_FROM_EMAIL.",
    )
    scorecard_reply_to = models.EmailField(
        max_length=254, blank=True, help_text="Where the visitor's replies go. Empty: the sender."
    )

    # Embedding (quizzes.embedding): the sites whose pages may show this quiz in a frame.
    language = models.CharField(
        "default language",
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text="The language the quiz is written in.",
    )
    languages = models.JSONField(
        "translated into",
        default=list,
        blank=True,
        help_text='Further languages visitors may take the quiz in, e.g. ["de"].',
    )
    embed_origins = models.TextField(
        "sites allowed to embed",
        max_length=4000,
        blank=True,
        validators=[validate_embed_sites],
        help_text=(
            "One site per line, as its origin: https://www.example.com, "
            "https://*.example.com (its subdomains) or http://localhost:* (any port). "
            "Leave empty: no other site may embed the quiz."
        ),
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "quizzes"
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("quizzes:intro", kwargs={"slug": self.slug})

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def look(self) -> Look:
        return self.brand.look if self.brand_id else Look()

    def clean(self) -> None:
        errors = _alt_required(self, "cover_image", "cover_alt")
        try:
            self.scorecard_subject.format(quiz="", percent="", tier="", name="")
        except (KeyError, IndexError, ValueError) as error:
            errors["scorecard_subject"] = (
                f"The subject uses a placeholder there is not ({error}); "
                "you can use {quiz}, {percent}, {tier} and {name}."
            )
        if self.scorecard_from:
            _name, address = parseaddr(self.scorecard_from)
            try:
                validate_email(address)
            except ValidationError:
                errors["scorecard_from"] = (
                    "Enter an address, optionally with a name: Acme Growth <hello@acme.example>."
                )
        if errors:
            raise ValidationError(errors)

    @property
    def is_closed(self) -> bool:
        """Published once and taken offline since: new visitors see "this quiz is closed"."""
        return not self.is_published and self.published_at is not None

    @property
    def lead_first(self) -> bool:
        return self.lead_form_position == self.LeadFormPosition.BEFORE

    @property
    def asks_for_lead(self) -> bool:
        return self.lead_form_position != self.LeadFormPosition.NONE

    def texts_to_translate(self) -> list[str]:
        texts = super().texts_to_translate()
        if not self.asks_for_lead:
            texts = [t for t in texts if t not in ("lead_form_title", "consent_text")]
        return texts if self.cover_image else [t for t in texts if t != "cover_alt"]

    def clean_translation(self, field: str, value: str) -> None:
        if field == "scorecard_subject":
            try:
                value.format(quiz="", percent="", tier="", name="")
            except (KeyError, IndexError, ValueError) as error:
                raise ValidationError(
                    f"The subject uses a placeholder there is not ({error}); "
                    "you can use {quiz}, {percent}, {tier} and {name}."
                ) from None

    def offered_languages(self) -> list[str]:
        """The default language first, then the translations offered, each once."""
        known = dict(settings.LANGUAGES)
        offered = [self.language]
        for code in self.languages if isinstance(self.languages, list) else []:
            if code in known and code not in offered:
                offered.append(code)
        return offered

    def ordered_questions(self) -> list[Question]:
        # With its category (an answer keeps the category's name).
        return list(
            self.questions.order_by("order", "pk")
            .select_related("category")
            .prefetch_related("choices")
        )

    def question_count(self) -> int:
        """How many questions the quiz has: annotated by the visitor's selector, else counted."""
        annotated = self.__dict__.get("questions_total")
        return self.questions.count() if annotated is None else annotated

    def estimated_minutes(self, question_count: int | None = None) -> int:
        count = self.question_count() if question_count is None else question_count
        return max(1, round((count * SECONDS_PER_QUESTION + 30) / 60))


class Category(Translatable):
    TRANSLATED_FIELDS = ("name",)

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="categories")
    name = models.CharField(max_length=100)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["quiz", "name"], name="category_name_unique_per_quiz")
        ]

    def __str__(self) -> str:
        return self.name


class CategoryBand(Translatable):
    TRANSLATED_FIELDS = ("name", "headline", "advice")

    """A band of a category's percent with its advice (Weak 0–39 %: “Start with …”)."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="bands")
    name = models.CharField(max_length=60, help_text="e.g. Weak, Fair, Strong.")
    min_percent = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    max_percent = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    headline = models.CharField(max_length=200, blank=True)
    advice = models.TextField(
        max_length=4000, blank=True, help_text="What a visitor in this band should do next."
    )

    class Meta:
        ordering = ["min_percent", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.min_percent}–{self.max_percent} %)"

    def clean(self) -> None:
        if (
            self.min_percent is not None
            and self.max_percent is not None
            and self.min_percent > self.max_percent
        ):
            raise ValidationError({"max_percent": "The upper end must be at least the lower end."})


class Tier(Translatable):
    TRANSLATED_FIELDS = ("name", "headline", "body", "cta_label", "cta_url", "image_alt")
    # The same address serves every language unless the marketer gives another.
    OPTIONAL_TRANSLATIONS = ("cta_url",)

    """A band of the overall percent, both ends included (Warm: 50 to 79 %)."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="tiers")
    name = models.CharField(max_length=60)
    min_percent = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    max_percent = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    colour = models.CharField(max_length=7, default="#3b82f6", validators=[hex_colour])
    headline = models.CharField(max_length=200, blank=True)
    body = models.TextField(max_length=4000, blank=True)
    cta_label = models.CharField("call to action label", max_length=80, blank=True)
    cta_url = models.URLField("call to action URL", max_length=500, blank=True)
    image = QuizImageField(help_text="Optional picture on this tier's result.")
    image_alt = models.CharField("picture text", max_length=200, blank=True, help_text=ALT_HELP)

    class Meta:
        ordering = ["min_percent", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.min_percent}–{self.max_percent} %)"

    def texts_to_translate(self) -> list[str]:
        hidden = {"cta_label"} if not self.cta_url else set()
        hidden |= {"image_alt"} if not self.image else set()
        return [t for t in super().texts_to_translate() if t not in hidden]

    @property
    def is_top(self) -> bool:
        """The quiz's highest tier: tiers cover 0–100 % without gap, so it reaches 100 %."""
        return self.max_percent >= 100

    def clean(self) -> None:
        if (
            self.min_percent is not None
            and self.max_percent is not None
            and self.min_percent > self.max_percent
        ):
            raise ValidationError({"max_percent": "The upper end must be at least the lower end."})
        errors = _alt_required(self, "image", "image_alt")
        if errors:
            raise ValidationError(errors)


class Question(Translatable):
    TRANSLATED_FIELDS = (
        "text",
        "help_text",
        "rating_min_label",
        "rating_max_label",
        "image_alt",
    )

    class Kind(models.TextChoices):
        SINGLE = "single", "Single choice"
        MULTIPLE = "multiple", "Multiple choice"
        YES_NO = "yes_no", "Yes / no"
        RATING = "rating", "Rating scale"
        TEXT = "text", "Short text (not scored)"

    CHOICE_KINDS = (Kind.SINGLE, Kind.MULTIPLE, Kind.YES_NO)
    BRANCHING_KINDS = (Kind.SINGLE, Kind.YES_NO)

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="questions")
    category = models.ForeignKey(
        Category,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="questions",
        help_text="Scored questions count towards their category's bar on the result.",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SINGLE)
    text = models.CharField("question", max_length=300)
    help_text = models.CharField(max_length=300, blank=True)
    order = models.PositiveIntegerField(default=0)
    required = models.BooleanField(default=True)
    rating_min = models.SmallIntegerField(default=0)
    rating_max = models.SmallIntegerField(default=10)
    rating_points_per_step = models.PositiveSmallIntegerField(
        default=1, help_text="Rating scale: points for each step above the lowest value."
    )
    rating_min_label = models.CharField(max_length=40, blank=True, default="Not at all")
    rating_max_label = models.CharField(max_length=40, blank=True, default="Completely")
    image = QuizImageField(help_text="Optional picture above the question.")
    image_alt = models.CharField("picture text", max_length=200, blank=True, help_text=ALT_HELP)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.text

    def clean(self) -> None:
        errors = _alt_required(self, "image", "image_alt")
        if errors:
            raise ValidationError(errors)

    def texts_to_translate(self) -> list[str]:
        hidden = (
            set() if self.kind == self.Kind.RATING else {"rating_min_label", "rating_max_label"}
        )
        hidden |= {"image_alt"} if not self.image else set()
        return [t for t in super().texts_to_translate() if t not in hidden]

    @property
    def is_choice(self) -> bool:
        return self.kind in self.CHOICE_KINDS

    @property
    def is_scored(self) -> bool:
        return self.kind != self.Kind.TEXT

    def rating_values(self) -> range:
        return range(self.rating_min, self.rating_max + 1)

    def max_points(self) -> int:
        """The most this question can earn (its weight in the maximum)."""
        if self.kind == self.Kind.TEXT:
            return 0
        if self.kind == self.Kind.RATING:
            return max(0, self.rating_max - self.rating_min) * self.rating_points_per_step
        points = [c.points for c in self.choices.all()]
        if self.kind == self.Kind.MULTIPLE:
            return sum(points)
        return max(points, default=0)

    def points_for(self, *, choices: Iterable[Choice] = (), rating: int | None = None) -> int:
        if self.kind == self.Kind.RATING:
            if rating is None:
                return 0
            return (rating - self.rating_min) * self.rating_points_per_step
        return sum(c.points for c in choices)


class Choice(Translatable):
    TRANSLATED_FIELDS = ("label", "image_alt")

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    label = models.CharField(max_length=200)
    points = models.PositiveSmallIntegerField(default=0)
    order = models.PositiveIntegerField(default=0)
    next_question = models.ForeignKey(
        Question,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="then go to",
        help_text="Optional branch: skip ahead to this later question.",
    )
    image = QuizImageField(help_text="Optional: with pictures, the choices show as tiles.")
    image_alt = models.CharField("picture text", max_length=200, blank=True, help_text=ALT_HELP)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.label

    def texts_to_translate(self) -> list[str]:
        texts = super().texts_to_translate()
        return texts if self.image else [t for t in texts if t != "image_alt"]

    def clean(self) -> None:
        errors = _alt_required(self, "image", "image_alt")
        if errors:
            raise ValidationError(errors)


def new_attempt_token() -> str:
    return secrets.token_urlsafe(24)


class HiddenField(models.Model):
    """A URL parameter the quiz keeps (`?plan=pro`): read from the quiz link or the page
    that embeds it, checked against `pattern`, stored on the attempt and its lead.

    A value that does not fit is dropped, never stored, and counted here.
    """

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="hidden_fields")
    name = models.CharField(
        max_length=40,
        validators=[
            RegexValidator(
                r"^[a-z][a-z0-9_]{0,39}$",
                "Use lowercase letters, digits and _ (starting with a letter), such as plan or "
                "partner_id.",
            )
        ],
        help_text="The URL parameter: plan for ?plan=pro.",
    )
    pattern = models.CharField(
        max_length=200,
        default=r"[A-Za-z0-9 _.@+-]{1,100}",
        help_text=(
            "A regular expression the whole value must match, such as [0-9]{1,10} for an id. "
            "Values with < > or control characters, or longer than 200 characters, are "
            "always dropped."
        ),
    )
    dropped_count = models.PositiveIntegerField(
        default=0, editable=False, help_text="Values dropped because they did not fit."
    )
    last_dropped_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["quiz", "name"], name="hidden_field_name_unique")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        problems = hidden_field_problems(self.name or "", self.pattern or "")
        if problems:
            raise ValidationError(problems)


class ResultBlock(Translatable):
    """A block on the result (text, a picture, a call to action), shown when its
    conditions hold (quizzes.blocks): all of them, or any; none: always."""

    TRANSLATED_FIELDS = ("headline", "body", "cta_label", "cta_url", "image_alt")
    # As a tier's: the same address serves every language unless the marketer gives another.
    OPTIONAL_TRANSLATIONS = ("cta_url",)

    class Match(models.TextChoices):
        ALL = "all", "All of its conditions hold"
        ANY = "any", "Any of its conditions holds"

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="result_blocks")
    order = models.PositiveIntegerField(default=0)
    headline = models.CharField(max_length=200)
    body = models.TextField(
        max_length=4000, blank=True, help_text="Plain text; an empty line starts a paragraph."
    )
    image = QuizImageField(help_text="Optional picture in the block.")
    image_alt = models.CharField("picture text", max_length=200, blank=True, help_text=ALT_HELP)
    cta_label = models.CharField("call to action label", max_length=80, blank=True)
    cta_url = models.URLField(
        "call to action URL",
        max_length=500,
        blank=True,
        help_text="Like the tiers' links: {tier} and {percent} are filled in, and UTM "
        "parameters added unless the link has its own.",
    )
    match = models.CharField("show when", max_length=3, choices=Match.choices, default=Match.ALL)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.headline

    def clean(self) -> None:
        errors = _alt_required(self, "image", "image_alt")
        if self.cta_url and not self.cta_label.strip():
            errors["cta_label"] = "Give the call to action a label (the button's words)."
        if errors:
            raise ValidationError(errors)

    def texts_to_translate(self) -> list[str]:
        hidden = {"cta_label"} if not self.cta_url else set()
        hidden |= {"image_alt"} if not self.image else set()
        return [t for t in super().texts_to_translate() if t not in hidden]

    def rule(self) -> blocks.Rule:
        """The block's conditions as plain values (conditions prefetched)."""
        return blocks.Rule(
            id=self.pk,
            match=self.match,
            conditions=tuple(c.as_condition() for c in self.conditions.all()),
        )


class BlockCondition(models.Model):
    """One condition of a result block; which fields count depends on its kind."""

    class Kind(models.TextChoices):
        TIER = blocks.TIER, "Overall tier is"
        BAND = blocks.BAND, "Category's band is"
        CHOICE = blocks.CHOICE, "Answer to a question is"
        RATING = blocks.RATING, "Rating of a question"
        HIDDEN = blocks.HIDDEN, "Hidden field"

    class Compare(models.TextChoices):
        IS = blocks.IS, "is / equals"
        CONTAINS = blocks.CONTAINS, "contains"
        AT_LEAST = blocks.AT_LEAST, "is at least"
        AT_MOST = blocks.AT_MOST, "is at most"

    block = models.ForeignKey(ResultBlock, on_delete=models.CASCADE, related_name="conditions")
    kind = models.CharField("if", max_length=10, choices=Kind.choices, default=Kind.TIER)
    # What a condition points at stays when that is removed (SET_NULL): the condition then
    # never holds and is flagged, rather than vanishing and showing the block to everyone.
    tier = models.ForeignKey(
        Tier, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    category = models.ForeignKey(
        Category,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    band = models.ForeignKey(
        CategoryBand, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    question = models.ForeignKey(
        Question,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    choice = models.ForeignKey(
        Choice,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="answer",
    )
    compare = models.CharField(max_length=10, choices=Compare.choices, default=Compare.IS)
    number = models.SmallIntegerField("rating", null=True, blank=True)
    field_name = models.CharField("hidden field", max_length=40, blank=True)
    value = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.get_kind_display()

    def clean(self) -> None:
        """What the kind needs is given; the rest is cleared (it would not count)."""
        kind, errors = self.kind, {}
        if kind == self.Kind.BAND and self.band_id and not self.category_id:
            self.category_id = self.band.category_id
        if kind == self.Kind.CHOICE and self.choice_id and not self.question_id:
            self.question_id = self.choice.question_id
        needed = {
            self.Kind.TIER: ["tier"],
            self.Kind.BAND: ["band"],
            self.Kind.CHOICE: ["choice"],
            self.Kind.RATING: ["question", "number"],
            self.Kind.HIDDEN: ["field_name", "value"],
        }.get(kind, [])
        for name in needed:
            value = getattr(self, name + "_id" if name in _CONDITION_LINKS else name)
            if value is None or value == "":
                errors[name] = f"“{self.get_kind_display()}” needs this."
        if kind == self.Kind.RATING and self.compare == self.Compare.CONTAINS:
            errors["compare"] = "A rating is, is at least or is at most a number."
        if kind == self.Kind.HIDDEN and self.compare not in (
            self.Compare.IS,
            self.Compare.CONTAINS,
        ):
            errors["compare"] = "A hidden field equals or contains a value."
        if errors:
            raise ValidationError(errors)
        keep = {
            self.Kind.TIER: {"tier"},
            self.Kind.BAND: {"category", "band"},
            self.Kind.CHOICE: {"question", "choice"},
            self.Kind.RATING: {"question", "compare", "number"},
            self.Kind.HIDDEN: {"compare", "field_name", "value"},
        }.get(kind)
        if keep is None:
            return  # not a kind: its field's own check says so
        for name in _CONDITION_LINKS:
            if name not in keep:
                setattr(self, name, None)
        if "number" not in keep:
            self.number = None
        if "compare" not in keep:
            self.compare = self.Compare.IS
        if "field_name" not in keep:
            self.field_name = self.value = ""

    def as_condition(self) -> blocks.Condition:
        return blocks.Condition(
            kind=self.kind,
            tier=self.tier_id,
            category=self.category_id,
            band=self.band_id,
            question=self.question_id,
            choice=self.choice_id,
            compare=self.compare,
            number=self.number,
            name=self.field_name,
            value=self.value,
        )


_CONDITION_LINKS = ("tier", "category", "band", "question", "choice")


class Attempt(models.Model):
    """One visitor's run through a quiz, addressed by an unguessable token."""

    quiz = models.ForeignKey(Quiz, on_delete=models.PROTECT, related_name="attempts")
    token = models.CharField(max_length=40, unique=True, default=new_attempt_token, editable=False)
    # The intro form carries a one-off key, so a double click on "Start"
    # resumes the same attempt instead of starting a second one.
    start_key = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    visitor_id = models.CharField(max_length=64, blank=True, db_index=True)
    # Attribution is fixed when the attempt starts: its later events and its lead are
    # credited to these, whichever device or browser the visitor finishes on.
    first_touch = models.JSONField(
        default=dict, blank=True, help_text="The visitor's first touch when the attempt started."
    )
    last_touch = models.JSONField(
        default=dict, blank=True, help_text="The visitor's last touch when the attempt started."
    )
    is_preview = models.BooleanField(default=False)
    # Declared hidden fields that came with a value that fits (HiddenField).
    hidden_fields = models.JSONField(default=dict, blank=True)
    # Embedded runs: the page that showed the frame, and its origin (the only window
    # the frame talks to).
    language = models.CharField(
        max_length=8, blank=True, help_text="The language the visitor was shown the quiz in."
    )
    # The browser's language tag that chose it (en-US): its region picks the PDF's paper.
    locale = models.CharField(max_length=16, blank=True)
    embedded_on = models.CharField(max_length=2000, blank=True)
    embed_origin = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(
        null=True, blank=True, help_text="When every question on the path was first answered."
    )
    finished_at = models.DateTimeField(
        null=True, blank=True, help_text="When the lead form was sent; no answers after that."
    )
    # The builder's lead-first flow: the last thing the visitor did (start, an answer, the
    # lead form), and when the scheduler recorded the run as abandoned (once).
    active_at = models.DateTimeField(default=timezone.now)
    abandoned_at = models.DateTimeField(
        null=True, blank=True, help_text="When the run was recorded as abandoned (lead first)."
    )

    class Meta:
        indexes = [
            models.Index(fields=["quiz", "started_at"]),
            # The abandonment sweep reads the unfinished runs gone quiet.
            models.Index(
                fields=["active_at"],
                name="attempt_open_by_activity",
                condition=models.Q(finished_at__isnull=True, abandoned_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quiz} attempt {self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.finished_at is not None


class Answer(models.Model):
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    choices = models.ManyToManyField(Choice, blank=True, related_name="answers")
    rating = models.SmallIntegerField(null=True, blank=True)
    text = models.CharField(max_length=1000, blank=True)
    skipped = models.BooleanField(default=False)
    # Copies made when answered: a later edit of the quiz does not change them.
    points = models.IntegerField(default=0)
    max_points = models.IntegerField(default=0)
    # Every chosen label joined: a multiple choice of many long labels has no fixed bound.
    display = models.TextField(blank=True)
    category_name = models.CharField(max_length=100, blank=True)
    answered_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["attempt", "question"], name="one_answer_per_question_and_attempt"
            )
        ]

    def __str__(self) -> str:
        return f"{self.question}: {self.display}"
