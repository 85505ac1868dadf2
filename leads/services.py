"""Lead capture: one lead per attempt, scored from the answers on the path."""

from __future__ import annotations

from dataclasses import asdict

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.access import SALES
from core.text import clean_lower, clean_text
from core.visitor import Visitor, source_of
from leads import signals
from leads.models import AssignmentCursor, Lead, Note, OwnerChange, StatusChange
from leads.scoring import Score, ScoredAnswer, TierBand, score_answers, tier_for
from quizzes.models import Attempt, Question
from quizzes.selectors import AttemptState, attempt_state, attempt_touches

# The lead form's fields over their length, per field: whole sentences for translators.
TOO_LONG = {
    "email": gettext_lazy("Please keep your email under %(limit)s characters."),
    "name": gettext_lazy("Please keep your name under %(limit)s characters."),
    "company": gettext_lazy("Please keep your company under %(limit)s characters."),
    "phone": gettext_lazy("Please keep your phone under %(limit)s characters."),
}


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


def attempt_attribution(*, attempt: Attempt, visitor: Visitor | None = None) -> dict:
    """What a lead keeps of where its visitor came from (see attempt_touches)."""
    first, last = attempt_touches(attempt=attempt, visitor=visitor)
    if not first:
        return {}
    return {
        "first_touch": first,
        "last_touch": last,
        "first_source": source_of(first),
        "last_source": source_of(last),
    }


def lead_capture(
    *,
    attempt: Attempt,
    email: str,
    name: str = "",
    company: str = "",
    phone: str = "",
    consent: bool = False,
    is_spam: bool = False,
    visitor: Visitor | None = None,
) -> tuple[Lead, bool]:
    """Create the attempt's lead, or return the one it already has.

    The lead is credited to the touches its attempt started with. A person who
    gave an e-mail and passed the honeypot is a lead whatever their User-Agent:
    one that looks automated is marked (`looks_automated`), never held back.

    Two identical posts, one after the other or at the same moment, make one
    lead: the attempt row is locked, and the one-to-one key is the last guard.

    With the form before the questions (Quiz.lead_first) the lead is made unscored and
    the run goes on; lead_score gives the score once the questions are answered.
    """
    email, name, company, phone = _contact_fields(email, name, company, phone)
    with transaction.atomic():
        # The attempt's row only (OF self): its quiz's stays free for other visitors; its
        # lead, if any, comes in the same query.
        attempt = (
            Attempt.objects.select_for_update(of=("self",))
            .select_related("quiz", "lead")
            .get(pk=attempt.pk)
        )
        if hasattr(attempt, "lead"):
            return attempt.lead, False
        state = attempt_state(attempt=attempt)
        quiz = attempt.quiz
        # With the form before the questions the lead comes first and is scored when
        # the run is complete (lead_score); otherwise every question comes first.
        scored = state.path.complete
        if not scored and not quiz.lead_first:
            raise AttemptIncomplete("Please answer every question first.", code="incomplete")

        now = timezone.now()
        given_consent = consent and bool(quiz.consent_text)
        # The consent text as the form showed it: the visitor's language where the quiz
        # has it translated, else the original (its default language).
        shown_language = quiz.tr_language("consent_text") or quiz.language
        attribution = attempt_attribution(attempt=attempt, visitor=visitor)
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
                    consent_text=quiz.tr("consent_text", shown_language) if given_consent else "",
                    consent_language=shown_language if given_consent else "",
                    consented_at=now if given_consent else None,
                    hidden_fields=dict(attempt.hidden_fields or {}),
                    is_spam=is_spam,
                    looks_automated=visitor is not None and visitor.is_bot,
                    is_preview=attempt.is_preview,
                    user_agent=visitor.user_agent if visitor is not None else "",
                    fbp=visitor.fbp if visitor is not None else "",
                    ga_client_id=visitor.ga_client_id if visitor is not None else "",
                    source=attribution.get("first_source", ""),
                    attribution=attribution,
                    created_at=now,
                    **(_score_fields(state, quiz) if scored else UNSCORED),
                )
        except IntegrityError:
            # Only reachable where the lock is a no-op: the other post won.
            return Lead.objects.get(attempt=attempt), False
        if not scored:
            # The run goes on: the answers are not final until the score is given.
            attempt.active_at = now
            attempt.save(update_fields=["active_at"])
            signals.lead_captured.send(sender=Lead, lead=lead, attempt=attempt, visitor=visitor)
            return lead, True
        attempt.finished_at = now
        attempt.save(update_fields=["finished_at"])
        signals.lead_captured.send(sender=Lead, lead=lead, attempt=attempt, visitor=visitor)
        return lead, True


def category_scores_with_advice(quiz, score) -> list[dict]:
    """Each category's score with its band and that band's advice, copied as given (a
    later edit of the bands changes no lead's result)."""
    bands = {
        category.name: list(category.bands.all())
        for category in quiz.categories.prefetch_related("bands")
    }
    scores = []
    for category in score.categories:
        row = asdict(category)
        candidates = bands.get(category.name) or []
        if candidates:
            found = tier_for(
                category.percent,
                [TierBand(b.name, b.min_percent, b.max_percent, b.pk) for b in candidates],
            )
            band = next(b for b in candidates if b.pk == found.id)
            row |= {"band": band.name, "headline": band.headline, "advice": band.advice}
        scores.append(row)
    return scores


# A lead whose form came before the questions, until they are answered.
UNSCORED = {
    "score_points": 0,
    "score_max": 0,
    "score_percent": 0,
    "tier": None,
    "tier_name": "",
    "tier_colour": "",
    "category_scores": [],
    "answers": [],
}


def _score_fields(state: AttemptState, quiz) -> dict:
    """The score, tier and answers of a complete run, as a Lead keeps them."""
    score = attempt_score(state)
    tiers = list(quiz.tiers.all())
    band = tier_for(
        score.percent, [TierBand(t.name, t.min_percent, t.max_percent, t.pk) for t in tiers]
    )
    tier = next(t for t in tiers if t.pk == band.id)
    return {
        "score_points": score.points,
        "score_max": score.max_points,
        "score_percent": score.percent,
        "tier": tier,
        "tier_name": tier.name,
        "tier_colour": tier.colour,
        "category_scores": category_scores_with_advice(quiz, score),
        "answers": _answers_as_given(state),
    }


def lead_score(*, lead: Lead, visitor: Visitor | None = None) -> bool:
    """Score a lead whose form came before the questions, once every question on the
    path is answered; the run is finished then (no answers after). Returns whether the
    lead is scored now (False: questions are left). Sends lead_scored once."""
    with transaction.atomic():
        attempt = (
            Attempt.objects.select_for_update(of=("self",))
            .select_related("quiz")
            .get(pk=lead.attempt_id)
        )
        if attempt.is_finished:
            lead.refresh_from_db()
            return True
        state = attempt_state(attempt=attempt)
        if not state.path.complete:
            return False
        for field, value in _score_fields(state, attempt.quiz).items():
            setattr(lead, field, value)
        lead.save(update_fields=[*UNSCORED])
        attempt.finished_at = timezone.now()
        attempt.save(update_fields=["finished_at"])
        signals.lead_scored.send(sender=Lead, lead=lead, attempt=attempt, visitor=visitor)
        return True


def result_anonymous(*, attempt: Attempt) -> Lead | None:
    """The result of a quiz that asks for no e-mail: an unsaved Lead standing in for
    the page (no lead is made); the run is finished the first time. None: questions
    are left."""
    with transaction.atomic():
        attempt = (
            Attempt.objects.select_for_update(of=("self",))
            .select_related("quiz")
            .get(pk=attempt.pk)
        )
        state = attempt_state(attempt=attempt)
        if not state.path.complete:
            return None
        if not attempt.is_finished:
            attempt.finished_at = timezone.now()
            attempt.save(update_fields=["finished_at"])
        return Lead(
            attempt=attempt,
            quiz=attempt.quiz,
            is_preview=attempt.is_preview,
            **_score_fields(state, attempt.quiz),
        )


def _credit_first_response(lead: Lead, *, by, at, fields: list[str]) -> None:
    """The first move a person makes on a lead (status or owner) is its first response;
    an automation's (by=None) is not."""
    if lead.first_response_at is None and by is not None:
        lead.first_response_at = at
        lead.first_response_by = by
        fields += ["first_response_at", "first_response_by"]


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
                TOO_LONG[field] % {"limit": limit},
                code="too_long",
            )
    if not values["email"]:
        raise ValidationError(_("Please enter your email address."), code="required")
    return tuple(values.values())


def lead_set_status(*, lead: Lead, status: str, by=None, via: str = "") -> StatusChange | None:
    """Move a lead through the pipeline, with a history row; every page that changes a
    status (the sales workspace, admin, the API) comes here. `via` names an integration
    (an API key) that made the change for nobody in particular."""
    if status not in Lead.Status.values:
        raise ValidationError(f"“{status}” is not a status.", code="bad_status")
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.status == status:
            return None
        change = StatusChange.objects.create(
            lead=lead, by=by, from_status=lead.status, to_status=status, via=via
        )
        lead.status = status
        fields = ["status"]
        if status != Lead.Status.NEW:
            _credit_first_response(lead, by=by, at=change.at, fields=fields)
        lead.save(update_fields=fields)
        return change


def lead_assign(*, lead: Lead, owner, by=None, via: str = "") -> OwnerChange | None:
    """Give the lead an owner (or none), with a history row; `by` None is an automation
    (or the integration `via` names). Every page that changes an owner (the sales
    workspace, admin, automations, the API) comes here."""
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        new_owner_id = owner.pk if owner is not None else None
        if locked.owner_id == new_owner_id:
            lead.owner = owner
            return None
        change = OwnerChange.objects.create(
            lead=locked, by=by, from_owner_id=locked.owner_id, to_owner=owner, via=via
        )
        locked.owner = owner
        fields = ["owner"]
        _credit_first_response(locked, by=by, at=change.at, fields=fields)
        locked.save(update_fields=fields)
        lead.owner = owner
        lead.first_response_at = locked.first_response_at
        lead.first_response_by_id = locked.first_response_by_id
        return change


def lead_assign_round_robin(*, lead: Lead):
    """Give an unowned lead the next active member of Sales; returns them, or None.

    None when the lead already has an owner (a person's choice is never overwritten)
    or Sales has nobody active. Two workers assigning the same lead make one owner.
    """
    with transaction.atomic():
        # The cursor's row lock puts concurrent assignments in a queue.
        cursor, _ = AssignmentCursor.objects.select_for_update().get_or_create(pk=1)
        # Only an unowned lead is taken; the row stays locked until commit, so nobody
        # assigns it between this check and lead_assign, which records the change.
        if not Lead.objects.filter(pk=lead.pk, owner=None).update(owner=None):
            return None
        users = list(
            get_user_model().objects.filter(is_active=True, groups__name=SALES).order_by("pk")
        )
        if not users:
            return None
        after = [u for u in users if cursor.last_user_id is None or u.pk > cursor.last_user_id]
        owner = (after or users)[0]
        cursor.last_user_id = owner.pk
        cursor.save(update_fields=["last_user_id"])
        lead_assign(lead=lead, owner=owner)
        return owner


def lead_add_note(*, lead: Lead, text: str, author, via: str = "") -> Note:
    text = clean_text(text).strip()
    if not text:
        raise ValidationError("Write something in the note first.", code="empty")
    if len(text) > 4000:
        raise ValidationError("Keep a note under 4000 characters.", code="too_long")
    return Note.objects.create(lead=lead, text=text, author=author, via=via)


def result_show(*, lead: Lead, visitor: Visitor | None = None) -> None:
    """The visitor's result page is shown (`lead` unsaved: an anonymous result)."""
    with transaction.atomic():
        signals.result_shown.send(sender=Lead, lead=lead, visitor=visitor)


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
