"""The tracking plan: the one list of conversion events Quizfunnel records.

Each event has a description, its properties (name, type, required or not) and
how often it may occur. Recording a name that is not here, or properties that
do not fit, is an error (PlanError). `manage.py tracking_plan` writes
docs/tracking-plan.md from this file, and a test keeps that file current.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from core.redaction import REDACTED, scrub


class PlanError(ValueError):
    """An event or its properties do not fit the tracking plan."""


class Frequency(enum.Enum):
    ONCE_PER_ATTEMPT = "once per attempt"
    ONCE_PER_QUESTION = "once per attempt and question"
    ANY = "any number of times"


class Source(models.TextChoices):
    """Who records an event (ConversionEvent.source)."""

    SERVER = "server", "Server"
    CLIENT = "client", "Client"


TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "list": (list,),
    "object": (dict,),
}


@dataclass(frozen=True)
class Prop:
    name: str
    type: str
    required: bool = True
    description: str = ""
    max_length: int = 500  # strings; lists and objects are bounded by the body size
    # What a person typed or chose: replaced by REDACTED when that person is erased.
    personal: bool = False

    def check(self, value: Any) -> None:
        kinds = TYPES[self.type]
        # bool is an int in Python; an integer property must not accept True.
        if isinstance(value, bool) and bool not in kinds:
            raise PlanError(f"property “{self.name}” must be {self.type}, not a boolean")
        if not isinstance(value, kinds):
            raise PlanError(f"property “{self.name}” must be {self.type}")
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise PlanError(f"property “{self.name}” is out of range")
        if isinstance(value, str) and len(value) > self.max_length:
            raise PlanError(f"property “{self.name}” is longer than {self.max_length} characters")


@dataclass(frozen=True)
class EventSpec:
    name: str
    description: str
    frequency: Frequency
    properties: tuple[Prop, ...] = ()
    # Properties the browser may add to this server event (by its event_id).
    client_properties: tuple[Prop, ...] = ()
    # Sent by the browser as an event of its own (tied to a server event).
    client_event: bool = False
    # A page view: the page itself writes nothing, so the event is the whole
    # transaction, committed without waiting for the disk (see VIEW_COMMIT_NOTE).
    view: bool = False
    # Declared by a marketer in admin (CustomEvent), sent by another system.
    custom: bool = False
    timeline_text: str = ""
    funnel_position: int | None = None
    props_by_name: dict[str, Prop] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "props_by_name", {p.name: p for p in self.properties})

    @property
    def source(self) -> Source:
        return Source.CLIENT if self.client_event else Source.SERVER


def _check(props: tuple[Prop, ...], values: dict, what: str) -> dict:
    if not isinstance(values, dict):
        raise PlanError(f"{what} must be an object")
    known = {p.name: p for p in props}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise PlanError(
            f"{what}: unknown propert{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}"
        )
    for prop in props:
        if prop.name not in values or values[prop.name] is None:
            if prop.required:
                raise PlanError(f"{what}: required property “{prop.name}” is missing")
            continue
        prop.check(values[prop.name])
    return {k: v for k, v in values.items() if v is not None}


QUESTION = (
    Prop("question_id", "integer", description="The question's id."),
    Prop("position", "integer", description="1-based position on the visitor's path."),
)
ANSWER = (
    Prop("question", "string", description="The question's text when answered."),
    Prop(
        "answer",
        "string",
        required=False,
        max_length=1000,
        personal=True,
        description="The answer as shown.",
    ),
    Prop("choice_ids", "list", required=False, description="Ids of the chosen choices."),
    Prop("points", "integer", description="Points earned."),
    Prop("max_points", "integer", description="Points the question could earn."),
    Prop("category", "string", required=False, description="The question's category."),
    Prop("skipped", "boolean", description="An optional question left empty."),
)
HIDDEN_FIELDS = Prop(
    "hidden_fields",
    "object",
    required=False,
    description=(
        "The quiz's declared hidden fields that came with a value that fits (name: value), "
        "from the quiz link or the embedding page; rules read one as hidden.NAME."
    ),
)
LANGUAGE = Prop(
    "language",
    "string",
    required=False,
    max_length=8,
    description=(
        "The language the visitor was shown the quiz in (en, de, fr, es): chosen at the start "
        "(?lang, else the browser's, else the quiz's default) and kept for the run."
    ),
)
TIME_VISIBLE = Prop(
    "time_visible_ms", "integer", required=False, description="How long the card was on screen."
)

EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        "quiz_viewed",
        "A visitor saw a quiz's intro page.",
        Frequency.ANY,
        (Prop("preview", "boolean", required=False), LANGUAGE),
        view=True,
    ),
    EventSpec(
        "quiz_started",
        "A visitor pressed the start button: an attempt began.",
        Frequency.ONCE_PER_ATTEMPT,
        (
            Prop("question_count", "integer", description="Questions in the quiz."),
            HIDDEN_FIELDS,
            Prop(
                "embedded_on",
                "string",
                required=False,
                max_length=2000,
                description="The page that embedded the quiz (embed.js), without its fragment.",
            ),
            LANGUAGE,
        ),
    ),
    EventSpec(
        "question_viewed",
        "A question was shown to the visitor for the first time in this attempt.",
        Frequency.ONCE_PER_QUESTION,
        (*QUESTION, LANGUAGE),
        client_properties=(TIME_VISIBLE,),
        view=True,
    ),
    EventSpec(
        "question_answered",
        "A question was answered for the first time in this attempt.",
        Frequency.ONCE_PER_QUESTION,
        QUESTION + ANSWER + (LANGUAGE,),
    ),
    EventSpec(
        "answer_changed",
        "The visitor went back and changed an answer (not a second question_answered).",
        Frequency.ANY,
        QUESTION
        + ANSWER
        + (
            Prop("previous_answer", "string", required=False, max_length=1000, personal=True),
            Prop("previous_points", "integer"),
            LANGUAGE,
        ),
    ),
    EventSpec(
        "quiz_completed",
        "Every question on the visitor's path was answered.",
        Frequency.ONCE_PER_ATTEMPT,
        (
            Prop("questions_answered", "integer", description="Questions on the path."),
            Prop("duration_ms", "integer", description="From quiz_started to now."),
            HIDDEN_FIELDS,
            LANGUAGE,
        ),
    ),
    EventSpec(
        "lead_submitted",
        "The lead form was sent: a Lead exists. Exists if and only if its Lead does. After "
        "the questions (the default) it is scored; with the form before the questions it "
        "comes right after quiz_started, unscored (`scored` false, no score properties), "
        "and the score follows in lead_scored.",
        Frequency.ONCE_PER_ATTEMPT,
        (
            Prop("lead_id", "integer"),
            Prop("score", "integer", required=False, description="Points on the path."),
            Prop("max_score", "integer", required=False, description="Maximum points."),
            Prop("percent", "integer", required=False, description="Whole percent, down."),
            Prop("tier", "string", required=False),
            Prop(
                "top_tier",
                "boolean",
                required=False,
                description="The quiz's highest tier (a hot lead).",
            ),
            Prop(
                "category_scores",
                "list",
                required=False,
                description="name, points, max_points, percent.",
            ),
            Prop("spam", "boolean", description="The honeypot was filled."),
            Prop(
                "scored",
                "boolean",
                required=False,
                description="False when the form came before the questions (no score yet).",
            ),
            HIDDEN_FIELDS,
            LANGUAGE,
        ),
    ),
    EventSpec(
        "lead_scored",
        "A lead who gave their e-mail before the questions finished them: the score, as "
        "lead_submitted carries it when the form comes after.",
        Frequency.ONCE_PER_ATTEMPT,
        (
            Prop("lead_id", "integer"),
            Prop("score", "integer", description="Points on the path."),
            Prop("max_score", "integer", description="Maximum points on the path."),
            Prop("percent", "integer", description="Whole percent, rounded down."),
            Prop("tier", "string"),
            Prop("top_tier", "boolean", description="The quiz's highest tier (a hot lead)."),
            Prop("category_scores", "list", description="name, points, max_points, percent."),
            LANGUAGE,
        ),
    ),
    EventSpec(
        "quiz_abandoned",
        "A lead left mid-quiz: their e-mail came before the questions, and their run has "
        "been silent for QUIZ_ABANDON_MINUTES. Recorded by the scheduler, once per attempt.",
        Frequency.ONCE_PER_ATTEMPT,
        (
            Prop("lead_id", "integer"),
            Prop("questions_answered", "integer", description="Answers on the path so far."),
            Prop("question_count", "integer", description="Questions on the path."),
            Prop(
                "last_question_id",
                "integer",
                required=False,
                description="The question the visitor was on (none: before the first).",
            ),
            Prop("silent_minutes", "integer", description="Minutes since the last activity."),
            Prop("resume_url", "string", description="Where the visitor picks up (absolute path)."),
            LANGUAGE,
        ),
    ),
    EventSpec(
        "result_viewed",
        "The visitor saw their result page.",
        Frequency.ONCE_PER_ATTEMPT,
        (Prop("percent", "integer"), Prop("tier", "string"), LANGUAGE),
        client_properties=(
            TIME_VISIBLE,
            Prop("read_depth_percent", "integer", required=False, description="Deepest scroll."),
        ),
        view=True,
    ),
    EventSpec(
        "cta_clicked",
        "The visitor clicked the call to action on their result (seen only by the browser).",
        Frequency.ANY,
        (
            Prop("tier", "string", required=False),
            Prop("url", "string", max_length=500, description="Where the button leads."),
        ),
        client_event=True,
    ),
)

PLAN: dict[str, EventSpec] = {spec.name: spec for spec in EVENTS}
SERVER_EVENTS = tuple(name for name, spec in PLAN.items() if not spec.client_event)
ONCE_PER_ATTEMPT = tuple(
    name for name, spec in PLAN.items() if spec.frequency == Frequency.ONCE_PER_ATTEMPT
)
ONCE_PER_QUESTION = tuple(
    name for name, spec in PLAN.items() if spec.frequency == Frequency.ONCE_PER_QUESTION
)
VIEWS = frozenset(name for name, spec in PLAN.items() if spec.view)
VIEW_COMMIT_NOTE = (
    "A view's transaction holds only its event, and on PostgreSQL it commits without "
    "waiting for the disk flush (synchronous_commit off for that transaction, "
    "TRACKING_VIEWS_ASYNC_COMMIT) unless a listener of the event wrote anything (a "
    "delivery, any row at all): then it commits durably, without the listener having to "
    "ask. A database crash can lose the views of its last fraction of a second, never "
    "duplicate one, and never touch any other event, lead or delivery."
)


ERASURE_NOTE = (
    "When a person is erased, their events stay (so every count stays the same) with the "
    "lead link cleared, `erased_at` set, personal properties replaced by "
    f"`{REDACTED}`, and any other text holding their e-mail replaced likewise."
)


def redact(name: str, properties: dict, *, secrets: tuple[str, ...] = ()) -> dict:
    """An erased person's event properties: personal ones replaced, the rest scrubbed."""
    spec = PLAN.get(name)
    personal = {p.name for p in spec.properties if p.personal} if spec else set()
    return {
        k: (REDACTED if k in personal and isinstance(v, str) and v else scrub(v, secrets))
        for k, v in properties.items()
    }


EVENT_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
PROPERTY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,59}")
CUSTOM_STRING_LENGTH = 1000
CUSTOM_NOTE = (
    "Declared by marketers in admin (Tracking › Custom events) and sent by other systems "
    "through the Segment-compatible ingest (`/v1/track`, `/v1/batch`): a name that is not "
    "declared, a property that is not declared or does not fit its type, or a required one "
    "missing, is rejected for that event, with the reason, and kept in the rejected-events "
    "log. Any number of times, each once per source and `messageId`."
)


def custom_name_problem(name: str) -> str:
    """Why `name` cannot be a custom event's name, or ""."""
    if not EVENT_NAME.fullmatch(name or ""):
        return "Use lowercase letters, digits and underscores, starting with a letter (40 at most)."
    if name in PLAN:
        return f"“{name}” is a built-in event: Quizfunnel records it itself."
    return ""


def custom_spec(
    name: str,
    description: str,
    properties: list[tuple[str, str, bool, str]],
    *,
    timeline_text: str = "",
    funnel_position: int | None = None,
) -> EventSpec:
    """The plan's entry for a declared event; properties as (name, type, required, text)."""
    return EventSpec(
        name,
        description,
        Frequency.ANY,
        tuple(
            Prop(n, t, required=r, description=d, max_length=CUSTOM_STRING_LENGTH)
            for n, t, r, d in properties
        ),
        custom=True,
        timeline_text=timeline_text,
        funnel_position=funnel_position,
    )


def declared() -> dict[str, EventSpec]:
    """The custom events marketers declared, by name (read from the database each call:
    a caller reads them once per request)."""
    from django.apps import apps

    CustomEvent = apps.get_model("tracking", "CustomEvent")
    return {
        event.name: custom_spec(
            event.name,
            event.description,
            [(p.name, p.type, p.required, p.description) for p in event.properties.all()],
            timeline_text=event.timeline_text,
            funnel_position=event.funnel_position,
        )
        for event in CustomEvent.objects.prefetch_related("properties")
    }


def validate_custom(name: str, properties: dict, specs: dict[str, EventSpec]) -> dict:
    """A custom event's properties (another system's `track`), checked against `specs`
    (from declared()); PlanError with the reason if the name or the properties do not fit."""
    if name in PLAN:
        raise PlanError(
            f"“{name}” is a built-in event: Quizfunnel records it itself, other systems cannot"
        )
    spec = specs.get(name)
    if spec is None:
        raise PlanError(
            f"“{name}” is not declared in the tracking plan (declare it in admin: "
            "Tracking › Custom events)"
        )
    return _check(spec.properties, properties, name)


def spec_for(name: str) -> EventSpec:
    try:
        return PLAN[name]
    except KeyError:
        raise PlanError(f"“{name}” is not an event of the tracking plan") from None


def validate(name: str, properties: dict) -> dict:
    """The properties of an event, checked against the plan; PlanError if they do not fit."""
    spec = spec_for(name)
    return _check(spec.properties, properties, name)


def validate_enrichment(name: str, properties: dict) -> dict:
    """What the browser may add to the server's event `name`."""
    spec = spec_for(name)
    if not spec.client_properties:
        raise PlanError(f"“{name}” takes no properties from the browser")
    return _check(spec.client_properties, properties, name)


def as_markdown(custom: tuple[EventSpec, ...] = ()) -> str:
    """docs/tracking-plan.md, generated: the built-in events, then `custom` (declared in
    admin; the committed file shows the demo's)."""
    lines = [
        "# Tracking plan",
        "",
        "Generated from `tracking/plan.py` by `manage.py tracking_plan`; do not edit by hand.",
        "",
        "Every event also carries: `event_id` (UUID), quiz, attempt, lead (when there is one),",
        "visitor id, `occurred_at`, `received_at`, source (server or client), first- and",
        "last-touch attribution (utm_source, utm_medium, utm_campaign, utm_term, utm_content,",
        "gclid, gbraid, wbraid, fbclid, msclkid, ttclid, li_fat_id, referrer domain, landing",
        "path), device class, and the bot and preview flags.",
        "",
        "Views (`" + "`, `".join(sorted(VIEWS)) + "`): " + VIEW_COMMIT_NOTE,
        "",
        "Erasure: " + ERASURE_NOTE,
        "",
        "| event | source | how often | description |",
        "|---|---|---|---|",
    ]
    for spec in EVENTS:
        lines.append(
            f"| `{spec.name}` | {spec.source.value} | {spec.frequency.value} | {spec.description} |"
        )
    for spec in EVENTS:
        lines += ["", f"## `{spec.name}`", "", spec.description, ""]
        lines.append(f"Source: {spec.source.value}. How often: {spec.frequency.value}.")
        for title, props in (
            ("Properties", spec.properties),
            ("Added by the browser (by the server's `event_id`)", spec.client_properties),
        ):
            if not props:
                continue
            lines += ["", f"{title}:", "", "| property | type | required | description |"]
            lines.append("|---|---|---|---|")
            for p in props:
                required = "yes" if p.required else "no"
                lines.append(f"| `{p.name}` | {p.type} | {required} | {p.description} |")
    if custom:
        lines += ["", "# Custom events", "", CUSTOM_NOTE, ""]
        lines += ["| event | funnel step after the lead | description |", "|---|---|---|"]
        for spec in custom:
            step = str(spec.funnel_position) if spec.funnel_position else ""
            lines.append(f"| `{spec.name}` | {step} | {spec.description} |")
        for spec in custom:
            lines += ["", f"## `{spec.name}`", "", spec.description, ""]
            if not spec.properties:
                lines.append("Properties: none (any other property is rejected).")
                continue
            lines += ["Properties:", "", "| property | type | required | description |"]
            lines.append("|---|---|---|---|")
            for p in spec.properties:
                required = "yes" if p.required else "no"
                lines.append(f"| `{p.name}` | {p.type} | {required} | {p.description} |")
    return "\n".join(lines) + "\n"
