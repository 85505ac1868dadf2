"""Turn the domain signals of quizzes and leads into conversion events.

Everything is wired in connect(), called once from TrackingConfig.ready().
Receivers run inside the sender's transaction: an event commits or rolls back
with the action it describes. They get the page's visitor (core.visitor.Visitor)
and hand it on; they never see or write onto the HTTP request.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, pre_delete
from django.urls import reverse
from django.utils import timezone

from core.text import shorten
from leads import signals as lead_signals
from quizzes import signals as quiz_signals
from quizzes.models import Question
from tracking import rollups
from tracking.plan import PLAN
from tracking.services import event_record

# An answer of many long choices is longer than an event property may be: the event
# shows it shortened (the Answer keeps it whole, and choice_ids say exactly what was chosen).
ANSWER_SHOWN_MAX = PLAN["question_answered"].props_by_name["answer"].max_length


def _language(attempt) -> str | None:
    """The run's language (Attempt.language, chosen at its start); None for older runs."""
    return (attempt.language or None) if attempt is not None else None


def _answer_properties(answer, choice_ids: list[int], position: int, attempt) -> dict:
    return {
        "question_id": answer.question_id,
        "position": position,
        "question": answer.question.text,
        "answer": shorten(answer.display, ANSWER_SHOWN_MAX),
        "choice_ids": choice_ids,
        "points": answer.points,
        "max_points": answer.max_points,
        "category": answer.category_name,
        "skipped": answer.skipped,
        "language": _language(attempt),
    }


def on_quiz_viewed(sender, *, quiz, preview, visitor=None, language="", **kwargs):
    event_record(
        name="quiz_viewed",
        quiz=quiz,
        properties={"preview": preview, "language": language or None},
        visitor=visitor,
    )


def on_attempt_started(sender, *, attempt, visitor=None, **kwargs):
    event_record(
        name="quiz_started",
        quiz=attempt.quiz,
        attempt=attempt,
        properties={
            "question_count": attempt.quiz.question_count(),
            "hidden_fields": attempt.hidden_fields or None,
            "embedded_on": attempt.embedded_on or None,
            "language": _language(attempt),
        },
        occurred_at=attempt.started_at,
        visitor=visitor,
    )


def on_question_shown(sender, *, attempt, question, position, visitor=None, **kwargs):
    event_record(
        name="question_viewed",
        quiz=attempt.quiz,
        attempt=attempt,
        question=question,
        properties={
            "question_id": question.pk,
            "position": position,
            "language": _language(attempt),
        },
        visitor=visitor,
    )


def on_answer_given(sender, *, attempt, answer, choice_ids, position, visitor=None, **kwargs):
    event_record(
        name="question_answered",
        quiz=attempt.quiz,
        attempt=attempt,
        question=answer.question,
        properties=_answer_properties(answer, choice_ids, position, attempt),
        occurred_at=answer.answered_at,
        visitor=visitor,
    )


def on_answer_changed(
    sender,
    *,
    attempt,
    answer,
    choice_ids,
    previous_display,
    previous_points,
    position,
    visitor=None,
    **kw,
):
    event_record(
        name="answer_changed",
        quiz=attempt.quiz,
        attempt=attempt,
        question=answer.question,
        properties={
            **_answer_properties(answer, choice_ids, position, attempt),
            "previous_answer": shorten(previous_display, ANSWER_SHOWN_MAX),
            "previous_points": previous_points,
        },
        occurred_at=answer.changed_at,
        discriminator=f"{answer.question_id}:{answer.changed_at.isoformat()}",
        visitor=visitor,
    )


def on_attempt_completed(sender, *, attempt, answered, visitor=None, **kwargs):
    completed_at = attempt.completed_at or timezone.now()
    event_record(
        name="quiz_completed",
        quiz=attempt.quiz,
        attempt=attempt,
        properties={
            "questions_answered": answered,
            "duration_ms": int((completed_at - attempt.started_at).total_seconds() * 1000),
            "hidden_fields": attempt.hidden_fields or None,
            "language": _language(attempt),
        },
        occurred_at=completed_at,
        visitor=visitor,
    )


def _score_properties(lead) -> dict:
    return {
        "score": lead.score_points,
        "max_score": lead.score_max,
        "percent": lead.score_percent,
        "tier": lead.tier_name,
        "top_tier": lead.tier is not None and lead.tier.is_top,
        "category_scores": lead.category_scores,
    }


def on_lead_captured(sender, *, lead, attempt, visitor=None, **kwargs):
    # With the form before the questions the run is not finished: no score yet (it
    # follows in lead_scored).
    scored = attempt.is_finished
    event_record(
        name="lead_submitted",
        quiz=lead.quiz,
        attempt=attempt,
        lead=lead,
        properties={
            "lead_id": lead.pk,
            **(_score_properties(lead) if scored else {"scored": False}),
            "spam": lead.is_spam,
            "hidden_fields": lead.hidden_fields or None,
            "language": _language(attempt),
        },
        occurred_at=lead.created_at,
        # A person who typed an e-mail and left the honeypot empty is a person, whatever
        # their User-Agent looks like: the lead reaches rules, reports and sales
        # (Lead.looks_automated marks the guess). Only the honeypot makes it a bot.
        is_bot=lead.is_spam,
        visitor=visitor,
    )


def on_lead_scored(sender, *, lead, attempt, visitor=None, **kwargs):
    event_record(
        name="lead_scored",
        quiz=lead.quiz,
        attempt=attempt,
        lead=lead,
        properties={"lead_id": lead.pk, **_score_properties(lead), "language": _language(attempt)},
        occurred_at=attempt.finished_at,
        is_bot=lead.is_spam,
        visitor=visitor,
    )


def on_result_shown(sender, *, lead, visitor=None, **kwargs):
    event_record(
        name="result_viewed",
        quiz=lead.quiz,
        attempt=lead.attempt,
        lead=lead if lead.pk else None,  # unsaved: an anonymous result, no lead
        properties={
            "percent": lead.score_percent,
            "tier": lead.tier_name,
            "language": _language(lead.attempt),
        },
        visitor=visitor,
    )


def on_attempt_abandoned(
    sender, *, attempt, answered, total, last_question_id, silent_minutes, **kwargs
):
    resume = reverse("leads:details", kwargs={"slug": attempt.quiz.slug, "token": attempt.token})
    event_record(
        name="quiz_abandoned",
        quiz=attempt.quiz,
        attempt=attempt,
        lead=attempt.lead,
        properties={
            "lead_id": attempt.lead.pk,
            "questions_answered": answered,
            "question_count": total,
            "last_question_id": last_question_id,
            "silent_minutes": silent_minutes,
            # The form page sends a lead who has given it on to their current question.
            "resume_url": resume,
            "language": _language(attempt),
        },
        occurred_at=attempt.abandoned_at,
        is_bot=attempt.lead.is_spam,
    )


WIRING = [
    (quiz_signals.quiz_viewed, on_quiz_viewed),
    (quiz_signals.attempt_started, on_attempt_started),
    (quiz_signals.question_shown, on_question_shown),
    (quiz_signals.answer_given, on_answer_given),
    (quiz_signals.answer_changed, on_answer_changed),
    (quiz_signals.attempt_completed, on_attempt_completed),
    (quiz_signals.attempt_abandoned, on_attempt_abandoned),
    (lead_signals.lead_captured, on_lead_captured),
    (lead_signals.lead_scored, on_lead_scored),
    (lead_signals.result_shown, on_result_shown),
]


def connect() -> None:
    for signal, receiver in WIRING:
        signal.connect(receiver, dispatch_uid=f"tracking.{receiver.__name__}")
    # Kept apart from WIRING: the rollups follow the events whether or not tracking is on.
    pre_delete.connect(rollups.on_question_deleting, sender=Question, dispatch_uid="rollups-")
    post_delete.connect(rollups.on_question_deleted, sender=Question, dispatch_uid="rollups+")


def disconnect() -> None:
    """Turn server-side tracking off (the overhead benchmark compares both)."""
    for signal, receiver in WIRING:
        signal.disconnect(receiver, dispatch_uid=f"tracking.{receiver.__name__}")
