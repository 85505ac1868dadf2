"""A visitor's events told as sentences a salesperson reads, not event names and keys."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple

from core.durations import duration_words
from tracking import plan
from tracking.models import ConversionEvent, ExternalEvent
from tracking.people import person_events

QUESTION_LIMIT = 40  # enough to recognise the question; the lead page lists them in full
ANSWER_LIMIT = 80


class TimelineEntry(NamedTuple):
    at: datetime
    text: str


def _shorten(text: str, limit: int) -> str:
    """Cut at a word boundary with an ellipsis, so “How confident are you…” stays readable."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:.?!-") + "…"


def _quoted(text: str, limit: int = QUESTION_LIMIT) -> str:
    return f"“{_shorten(text, limit)}”"


def _points(p: dict) -> str:
    if not p.get("max_points"):
        return ""  # an unscored question (free text): points mean nothing here
    return f" — {p.get('points', 0)} pt{'' if p.get('points') == 1 else 's'}"


def _answer(p: dict) -> str:
    answer = p.get("answer") or ""
    return _shorten(answer, ANSWER_LIMIT) if answer else "(no answer)"


def _source(event: ConversionEvent) -> str:
    source = event.ft_source
    if not source or source == "(direct)":
        return "Started the quiz (came in directly)"
    medium = event.ft_medium if event.ft_medium not in ("", "(none)") else ""
    return f"Started the quiz from {source}" + (f" / {medium}" if medium else "")


def event_sentence(event: ConversionEvent, *, cta_labels: Mapping[str, str] | None = None) -> str:
    """What the visitor did, in words: `cta_labels` maps a call to action's URL
    (without a trailing slash, as browsers add one) to its label.

    What the browser added (time on screen, read depth) is read from the event's
    enrichments, which the caller should prefetch.
    """
    p = event.properties or {}
    added: dict = {}
    for enrichment in event.enrichments.all():
        added |= enrichment.properties
    seen_for = duration_words(added["time_visible_ms"] / 1000) if "time_visible_ms" in added else ""
    name = event.name
    if name == "quiz_viewed":
        return "Opened the quiz" + (" (preview)" if p.get("preview") else "")
    if name == "quiz_started":
        return _source(event)
    if name == "question_viewed":
        question = _quoted(event.question.text) if event.question else "a question"
        return f"Saw {question}" + (f" for {seen_for}" if seen_for else "")
    if name == "question_answered":
        if p.get("skipped"):
            return f"Skipped {_quoted(p.get('question', ''))}"
        return f"Answered {_quoted(p.get('question', ''))}: {_answer(p)}{_points(p)}"
    if name == "answer_changed":
        previous = _shorten(p.get("previous_answer") or "(no answer)", ANSWER_LIMIT)
        return f"Changed {_quoted(p.get('question', ''))}: {previous} → {_answer(p)}{_points(p)}"
    if name == "quiz_completed":
        count = p.get("questions_answered", 0)
        took = duration_words(p.get("duration_ms", 0) / 1000)
        return f"Finished the quiz: {count} question{'' if count == 1 else 's'} in {took}"
    if name == "lead_submitted":
        spam = " — caught by the spam trap" if p.get("spam") else ""
        return f"Sent the form: {p.get('percent')} %, {p.get('tier')}{spam}"
    if name == "result_viewed":
        if not seen_for:
            return "Saw the result"
        depth = added.get("read_depth_percent")
        return f"Read the result for {seen_for}" + (
            f", scrolled {depth} % of it" if depth is not None else ""
        )
    if name == "cta_clicked":
        label = (cta_labels or {}).get(str(p.get("url", "")).rstrip("/"))
        return f"Clicked {_quoted(label, ANSWER_LIMIT)}" if label else "Clicked the call to action"
    return name.replace("_", " ").capitalize()


def external_sentence(event: ExternalEvent, specs: Mapping[str, plan.EventSpec]) -> str:
    """What another system said the person did: the plan's sentence for a custom event
    (“Booked a demo”), the page for a page call."""
    if event.type == ExternalEvent.Type.PAGE:
        p = event.properties or {}
        where = event.name or p.get("title") or p.get("path") or p.get("url") or ""
        return f"Visited {_quoted(str(where), ANSWER_LIMIT)}" if where else "Visited a page"
    spec = specs.get(event.name)
    if spec is not None and spec.timeline_text:
        return spec.timeline_text
    return event.name.replace("_", " ").capitalize()


def attempt_timeline(*, attempt) -> list[TimelineEntry]:
    """The attempt's events in order, each as a sentence, with what other systems said
    its person did (a booked demo, a won deal) once its lead is known."""
    labels = {
        tier.cta_url.rstrip("/"): tier.cta_label or "Book a call"  # the result page's default label
        for tier in attempt.quiz.tiers.all()
        if tier.cta_url
    }
    events = (
        ConversionEvent.objects.filter(attempt=attempt)
        .select_related("question")
        .prefetch_related("enrichments")
        .order_by("occurred_at", "id")
    )
    entries = [TimelineEntry(e.occurred_at, event_sentence(e, cta_labels=labels)) for e in events]
    email = getattr(getattr(attempt, "lead", None), "email", "")
    if email:
        specs = plan.declared()
        entries += [
            TimelineEntry(e.occurred_at, external_sentence(e, specs))
            for _, e in person_events([email])
        ]
        entries.sort(key=lambda entry: entry.at)
    return entries
