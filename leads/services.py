"""Lead capture: one lead per attempt, scored from the answers on the path."""

from __future__ import annotations

from dataclasses import asdict

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from core.text import clean_lower, clean_text
from leads import signals
from leads.models import Lead, Note, StatusChange
from leads.scoring import Score, ScoredAnswer, TierBand, score_answers, tier_for
from quizzes.models import Attempt, Question
from quizzes.selectors import AttemptState, attempt_state


class AttemptIncomplete(ValidationError):
    """Some question on the attempt's path is still unanswered."""


def attempt_score(state: AttemptState) -> Score:
    return score_answers(
        ScoredAnswer(
            points=a.points,
            max_points=a.max_points,
            category=a.category_name,
            skipped=a.skipped or not state.questions[a.question_id].is_scored,
        )
        for a in state.on_path_answers()
    )


def lead_capture(
    *,
    attempt: Attempt,
    email: str,
    name: str = "",
    company: str = "",
    phone: str = "",
    consent: bool = False,
    is_spam: bool = False,
    attribution: dict | None = None,
    request: HttpRequest | None = None,
) -> tuple[Lead, bool]:
    """Create the attempt's lead, or return the one it already has.

    Two identical posts, one after the other or at the same moment, make one
    lead: the attempt row is locked, and the one-to-one key is the last guard.
    """
    email, name, company, phone = _contact_fields(email, name, company, phone)
    with transaction.atomic():
        attempt = Attempt.objects.select_for_update().select_related("quiz").get(pk=attempt.pk)
        existing = Lead.objects.filter(attempt=attempt).first()
        if existing is not None:
            return existing, False
        state = attempt_state(attempt=attempt)
        if not state.path.complete:
            raise AttemptIncomplete("Please answer every question first.", code="incomplete")

        quiz = attempt.quiz
        score = attempt_score(state)
        tiers = list(quiz.tiers.all())
        band = tier_for(
            score.percent,
            [TierBand(t.name, t.min_percent, t.max_percent, t.pk) for t in tiers],
        )
        tier = next(t for t in tiers if t.pk == band.id)
        now = timezone.now()
        given_consent = consent and bool(quiz.consent_text)
        try:
            with transaction.atomic():
                lead = Lead.objects.create(
                    attempt=attempt,
                    quiz=quiz,
                    email=email,
                    name=name,
                    company=company,
                    phone=phone,
                    consent_given=given_consent,
                    consent_text=quiz.consent_text if given_consent else "",
                    consented_at=now if given_consent else None,
                    score_points=score.points,
                    score_max=score.max_points,
                    score_percent=score.percent,
                    tier=tier,
                    tier_name=tier.name,
                    tier_colour=tier.colour,
                    category_scores=[asdict(c) for c in score.categories],
                    answers=_answers_as_given(state),
                    is_spam=is_spam,
                    is_preview=attempt.is_preview,
                    source=(attribution or {}).get("first_source", "")[:100],
                    attribution=attribution or {},
                    created_at=now,
                )
        except IntegrityError:
            # Only reachable where the lock is a no-op: the other post won.
            return Lead.objects.get(attempt=attempt), False
        attempt.finished_at = now
        attempt.save(update_fields=["finished_at"])
        signals.lead_captured.send(sender=Lead, lead=lead, attempt=attempt, request=request)
        return lead, True


def _contact_fields(email: str, name: str, company: str, phone: str) -> tuple[str, ...]:
    """The contact fields normalised, then measured; ValidationError if one cannot be stored."""
    values = {
        "email": clean_lower(email).strip(),
        "name": clean_text(name).strip(),
        "company": clean_text(company).strip(),
        "phone": clean_text(phone).strip(),
    }
    for field, value in values.items():
        limit = Lead._meta.get_field(field).max_length
        if len(value) > limit:
            raise ValidationError(
                f"Please keep your {field} under {limit} characters.", code="too_long"
            )
    if not values["email"]:
        raise ValidationError("Please enter your email address.", code="required")
    return tuple(values.values())


def lead_set_status(*, lead: Lead, status: str, by=None) -> StatusChange | None:
    """Move a lead through the pipeline; the first move out of “new” is its first response."""
    if status not in Lead.Status.values:
        raise ValidationError(f"“{status}” is not a status.", code="bad_status")
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.status == status:
            return None
        change = StatusChange.objects.create(
            lead=lead, by=by, from_status=lead.status, to_status=status
        )
        lead.status = status
        fields = ["status"]
        if lead.first_response_at is None and status != Lead.Status.NEW:
            lead.first_response_at = change.at
            fields.append("first_response_at")
        lead.save(update_fields=fields)
        return change


def lead_assign(*, lead: Lead, owner, by=None) -> None:
    with transaction.atomic():
        Lead.objects.filter(pk=lead.pk).update(owner=owner)
        lead.owner = owner
        signals.lead_assigned.send(sender=Lead, lead=lead, owner=owner, by=by)


def lead_add_note(*, lead: Lead, text: str, author) -> Note:
    text = clean_text(text).strip()
    if not text:
        raise ValidationError("Write something in the note first.", code="empty")
    if len(text) > 4000:
        raise ValidationError("Keep a note under 4000 characters.", code="too_long")
    return Note.objects.create(lead=lead, text=text, author=author)


def result_show(*, lead: Lead, request: HttpRequest | None = None) -> None:
    """The visitor's result page is shown."""
    with transaction.atomic():
        signals.result_shown.send(sender=Lead, lead=lead, request=request)


def _answers_as_given(state: AttemptState) -> list[dict]:
    given = []
    for answer in state.on_path_answers():
        question = state.questions[answer.question_id]
        given.append(
            {
                "question_id": question.pk,
                "question": question.text,
                "answer": answer.display,
                "skipped": answer.skipped,
                "scored": question.kind != Question.Kind.TEXT,
                "points": answer.points,
                "max_points": answer.max_points,
                "category": answer.category_name,
            }
        )
    return given
