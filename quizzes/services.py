"""Writes of the quiz app: the visitor's run, and the marketer's publishing.

Each service runs in one transaction and announces what happened through the
domain signals in quizzes.signals, as its last step.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from core.text import clean_text
from core.visitor import Visitor
from quizzes import signals
from quizzes.embedding import HiddenValues
from quizzes.models import Answer, Attempt, Choice, HiddenField, Question, Quiz
from quizzes.numbers import format_number
from quizzes.selectors import (
    AttemptState,
    attempt_state,
    quiet_minutes,
    result_block_problems,
    result_blocks_all,
    runs_in_progress,
)
from quizzes.translating import translation_problems

TEXT_ANSWER_MAX = Answer._meta.get_field("text").max_length


def quiz_view(
    *, quiz: Quiz, preview: bool, visitor: Visitor | None = None, language: str = ""
) -> None:
    """A visitor saw the quiz's intro page (in `language`)."""
    with transaction.atomic():
        signals.quiz_viewed.send(
            sender=Quiz, quiz=quiz, preview=preview, visitor=visitor, language=language
        )


def question_show(
    *, attempt: Attempt, question: Question, position: int, visitor: Visitor | None = None
) -> None:
    """A question is shown to the visitor."""
    with transaction.atomic():
        signals.question_shown.send(
            sender=Question, attempt=attempt, question=question, position=position, visitor=visitor
        )


class AttemptFinished(ValidationError):
    """The lead form was already sent: the answers are final."""


def attempt_start(
    *,
    quiz: Quiz,
    start_key: uuid.UUID,
    is_preview: bool = False,
    visitor: Visitor | None = None,
    hidden: HiddenValues | None = None,
    embedded_on: str = "",
    embed_origin: str = "",
    language: str = "",
    locale: str = "",
) -> tuple[Attempt, bool]:
    """Start an attempt, or return the one this start form already began.

    The attempt keeps the visitor's id and their first and last touch as they are
    now: everything later in the attempt is credited to them. It keeps the hidden
    fields that fit (`hidden.kept`); each that did not is counted on its HiddenField,
    once per attempt. `embedded_on` and `embed_origin`: the page that framed it.
    `language`: the one the visitor is shown the run in (every later step, the e-mail and
    the PDF follow it; default the quiz's); `locale`: the browser's tag that chose it.
    """
    hidden = hidden or HiddenValues()
    with transaction.atomic():
        existing = Attempt.objects.filter(start_key=start_key).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                attempt = Attempt.objects.create(
                    quiz=quiz,
                    start_key=start_key,
                    is_preview=is_preview,
                    visitor_id=visitor.id if visitor is not None else "",
                    first_touch=visitor.first_touch if visitor is not None else {},
                    last_touch=visitor.last_touch if visitor is not None else {},
                    hidden_fields=hidden.kept,
                    embedded_on=embedded_on,
                    embed_origin=embed_origin,
                    language=language or quiz.language,
                    locale=locale[:16],
                )
        except IntegrityError:
            # The same start form posted twice at the same moment: the other won.
            return Attempt.objects.get(start_key=start_key), False
        if hidden.dropped:
            HiddenField.objects.filter(quiz=quiz, name__in=set(hidden.dropped)).update(
                dropped_count=F("dropped_count") + 1, last_dropped_at=timezone.now()
            )
        signals.attempt_started.send(sender=Attempt, attempt=attempt, visitor=visitor)
        return attempt, True


@dataclass(frozen=True)
class AnswerResult:
    answer: Answer
    outcome: str  # "given", "changed" or "unchanged"
    next_question_id: int | None  # None: every question on the path is answered
    # The run as it stands after this answer, read under the attempt's lock: the next
    # card is rendered from it without reading the answers a third time.
    state: AttemptState | None = None


def _clean_answer(
    question: Question, choice_ids: list[int], rating: int | None, text: str
) -> tuple[list[Choice], bool]:
    """The chosen choices and whether the question was skipped; ValidationError if invalid."""
    # From the question's choices as read with it (AttemptState's are prefetched).
    wanted = set(choice_ids)
    choices = [c for c in question.choices.all() if c.pk in wanted] if choice_ids else []
    if len(choices) != len(set(choice_ids)):
        raise ValidationError(_("That answer is not one of this question's options."), "bad_choice")
    if question.kind in (Question.Kind.SINGLE, Question.Kind.YES_NO) and len(choices) > 1:
        raise ValidationError(_("Choose one answer only."), "too_many")
    if (
        question.kind == Question.Kind.RATING
        and rating is not None
        and rating not in question.rating_values()
    ):
        raise ValidationError(
            _("Choose a value from %(low)s to %(high)s.")
            % {"low": question.rating_min, "high": question.rating_max},
            "bad_rating",
        )
    if len(text) > TEXT_ANSWER_MAX:
        # Written as the counter under the box writes it (1,000).
        raise ValidationError(
            _("Keep the answer to %(limit)s characters or fewer (it has %(length)s).")
            % {"limit": format_number(TEXT_ANSWER_MAX), "length": format_number(len(text))},
            "too_long",
        )
    empty = not choices and rating is None and not text.strip()
    if empty and question.required:
        raise ValidationError(_("Please answer this question to continue."), "required")
    return choices, empty


def _display(question: Question, choices: list[Choice], rating: int | None, text: str) -> str:
    if question.kind == Question.Kind.RATING:
        if rating is None:
            return ""
        return pgettext("a rating answer: 7 of 10", "%(rating)s of %(max)s") % {
            "rating": format_number(rating),
            "max": format_number(question.rating_max),
        }
    if question.kind == Question.Kind.TEXT:
        return text
    # Every chosen label, however many: the column is unbounded text. In the language the
    # visitor was shown (as the snapshot of what they answered).
    return ", ".join(c.tr("label") for c in choices)


def answer_submit(
    *,
    attempt: Attempt,
    question_id: int,
    choice_ids: list[int] | None = None,
    rating: int | None = None,
    text: str = "",
    visitor: Visitor | None = None,
    questions: dict[int, Question] | None = None,
) -> AnswerResult:
    """Record the visitor's answer to one question: one answer per question and attempt.

    Posting the same answer again (retry, double click) changes nothing; posting a
    different one (back button) replaces it. `questions`: the quiz's questions as the
    view read them (AttemptState.questions); the answers are read again under the lock.
    """
    choice_ids = choice_ids or []
    # Normalised first, so that the length checked is the length stored.
    text = clean_text(text).strip()
    with transaction.atomic():
        # Lock the attempt: concurrent posts for one attempt are applied one by one. Only
        # the attempt's row (OF self): its quiz's row, read in the same query, stays free
        # for every other visitor's answer.
        attempt = (
            Attempt.objects.select_for_update(of=("self",))
            .select_related("quiz")
            .get(pk=attempt.pk)
        )
        if attempt.is_finished:
            raise AttemptFinished(
                _("This quiz is finished and its answers are final."), code="finished"
            )
        state = attempt_state(attempt=attempt, questions=questions)
        if question_id not in state.path.ids:
            raise ValidationError(_("That question is not part of this quiz run."), "off_path")
        question = state.questions[question_id]
        choices, skipped = _clean_answer(question, choice_ids, rating, text)
        values = {
            "rating": rating if question.kind == Question.Kind.RATING else None,
            "text": text if question.kind == Question.Kind.TEXT else "",
            "skipped": skipped,
            "points": 0 if skipped else question.points_for(choices=choices, rating=rating),
            "max_points": 0 if skipped else question.max_points(),
            "display": _display(question, choices, rating, text),
            "category_name": question.category.name if question.category else "",
        }
        answer = state.answers.get(question_id)
        if answer is None:
            answer = Answer.objects.create(attempt=attempt, question=question, **values)
            answer.choices.add(*choices)  # a new answer has none to compare with
            outcome, previous = "given", None
        elif {c.pk for c in answer.choices.all()} == {c.pk for c in choices} and all(
            getattr(answer, field) == value for field, value in values.items()
        ):
            outcome, previous = "unchanged", None
        else:
            previous = (answer.display, answer.points)
            for field, value in values.items():
                setattr(answer, field, value)
            answer.changed_at = timezone.now()
            answer.save()
            answer.choices.set(choices)
            outcome = "changed"

        state = state.with_answer(answer, choices)
        first_completion = state.path.complete and attempt.completed_at is None
        # Every answer is a sign of life: a run is abandoned only after QUIZ_ABANDON_MINUTES
        # of silence (see quizzes.abandon).
        attempt.active_at = timezone.now()
        fields = ["active_at"]
        if first_completion:
            attempt.completed_at = attempt.active_at
            fields.append("completed_at")
        attempt.save(update_fields=fields)

        position = state.path.position(question_id)
        if outcome == "given":
            signals.answer_given.send(
                sender=Answer,
                attempt=attempt,
                answer=answer,
                choice_ids=sorted(c.pk for c in choices),
                position=position,
                visitor=visitor,
            )
        elif outcome == "changed":
            signals.answer_changed.send(
                sender=Answer,
                attempt=attempt,
                answer=answer,
                choice_ids=sorted(c.pk for c in choices),
                previous_display=previous[0],
                previous_points=previous[1],
                position=position,
                visitor=visitor,
            )
        if first_completion:
            signals.attempt_completed.send(
                sender=Attempt,
                attempt=attempt,
                answered=sum(not a.skipped for a in state.on_path_answers()),
                visitor=visitor,
            )
        return AnswerResult(answer, outcome, state.path.current, state)


# --- The marketer's side: publishing ------------------------------------------------


def quiz_problems(*, quiz: Quiz) -> list[str]:
    """What stops this quiz from being published, in plain words (empty: ready)."""
    problems: list[str] = []
    questions = quiz.ordered_questions()
    if not questions:
        problems.append("Add at least one question.")
    position = {q.pk: i for i, q in enumerate(questions)}
    for number, question in enumerate(questions, start=1):
        choices = list(question.choices.all())
        label = f"Question {number} (“{question.text[:60]}”)"
        if question.is_choice and len(choices) < 2:
            problems.append(f"{label} needs at least two choices.")
        if question.kind == Question.Kind.YES_NO and len(choices) > 2:
            problems.append(f"{label} is a yes/no question: give it exactly two choices.")
        if question.kind == Question.Kind.RATING and question.rating_min >= question.rating_max:
            problems.append(f"{label}: the rating scale's lowest value must be below its highest.")
        for choice in choices:
            target = choice.next_question_id
            if target is None:
                continue
            if question.kind not in Question.BRANCHING_KINDS:
                problems.append(
                    f"{label}: only single-choice and yes/no questions can branch "
                    f"(choice “{choice.label}”)."
                )
            elif target not in position:
                problems.append(
                    f"{label}: choice “{choice.label}” leads to a question of another quiz."
                )
            elif position[target] <= position[question.pk]:
                problems.append(
                    f"{label}: choice “{choice.label}” must lead to a later question, "
                    f"not to question {position[target] + 1}."
                )
    tiers = list(quiz.tiers.all())
    problems.extend(tier_coverage_problems(tiers))
    problems.extend(category_band_problems(quiz=quiz))
    result_blocks = result_blocks_all(quiz=quiz)
    problems.extend(
        picture_problems(quiz=quiz, questions=questions, tiers=tiers, result_blocks=result_blocks)
    )
    problems.extend(
        result_block_problems(
            quiz=quiz, result_blocks=result_blocks, questions=questions, tiers=tiers
        )
    )
    if quiz.brand_id:
        problems.extend(f"Brand “{quiz.brand.name}”: {p}" for p in quiz.look.problems())
    problems.extend(translation_problems(quiz=quiz))
    return problems


def picture_problems(
    *, quiz: Quiz, questions: list[Question], tiers: list, result_blocks: list | None = None
) -> list[str]:
    """Every picture a visitor sees needs its words for people who cannot see it."""
    missing = []
    if quiz.cover_image and not quiz.cover_alt.strip():
        missing.append("the cover")
    for number, question in enumerate(questions, start=1):
        if question.image and not question.image_alt.strip():
            missing.append(f"question {number}")
        missing.extend(
            f"choice “{c.label}” of question {number}"
            for c in question.choices.all()
            if c.image and not c.image_alt.strip()
        )
    missing.extend(f"tier “{t.name}”" for t in tiers if t.image and not t.image_alt.strip())
    missing.extend(
        f"result block “{b.headline}”"
        for b in (quiz.result_blocks.all() if result_blocks is None else result_blocks)
        if b.image and not b.image_alt.strip()
    )
    if quiz.brand_id and quiz.brand.logo and not quiz.brand.logo_alt.strip():
        missing.append(f"the logo of brand “{quiz.brand.name}”")
    return [
        f"Describe the picture of {where} (its text for people who cannot see it)."
        for where in missing
    ]


def tier_coverage_problems(tiers: list) -> list[str]:
    """Tiers must cover 0–100 % without gap or overlap (both ends of a tier included)."""
    if not tiers:
        return ["Add tiers that cover 0–100 % (for example Cold 0–49, Warm 50–79, Hot 80–100)."]
    return band_coverage_problems(tiers, one="tier", many="Tiers")


def band_coverage_problems(items: list, *, one: str, many: str) -> list[str]:
    """Bands of a percent (tiers, a category's bands) must cover 0–100 % without gap or
    overlap, both ends included; each problem in words, naming `one` or `many`."""
    problems = []
    bands = sorted(items, key=lambda t: (t.min_percent, t.max_percent))
    for band in bands:
        if band.min_percent > band.max_percent:
            problems.append(
                f"{one.capitalize()} “{band.name}” ends ({band.max_percent} %) before it starts."
            )
    if bands[0].min_percent != 0:
        problems.append(
            f"No {one} covers 0–{bands[0].min_percent - 1} %: the lowest must start at 0."
        )
    for lower, upper in pairwise(bands):
        if upper.min_percent <= lower.max_percent:
            problems.append(
                f"{many} “{lower.name}” and “{upper.name}” overlap: "
                f"{upper.min_percent}–{min(lower.max_percent, upper.max_percent)} % is in both."
            )
        elif upper.min_percent > lower.max_percent + 1:
            problems.append(
                f"No {one} covers {lower.max_percent + 1}–{upper.min_percent - 1} % "
                f"(between “{lower.name}” and “{upper.name}”)."
            )
    top = max(t.max_percent for t in bands)
    if top != 100:
        problems.append(f"No {one} covers {top + 1}–100 %: the highest must end at 100.")
    return problems


def category_band_problems(*, quiz: Quiz) -> list[str]:
    """A category with bands must have them cover 0–100 % like the tiers (none is fine: its
    result shows the bar without advice)."""
    problems = []
    for category in quiz.categories.prefetch_related("bands"):
        bands = list(category.bands.all())
        if bands:
            problems.extend(
                f"Category “{category.name}”: {p}"
                for p in band_coverage_problems(bands, one="band", many="Bands")
            )
    return problems


def quiz_publish(*, quiz: Quiz) -> list[str]:
    """Publish the quiz if nothing stops it; returns the problems (empty: published)."""
    problems = quiz_problems(quiz=quiz)
    if not problems and not quiz.is_published:
        quiz.status = Quiz.Status.PUBLISHED
        quiz.published_at = timezone.now()
        quiz.save(update_fields=["status", "published_at", "updated_at"])
    return problems


def quiz_unpublish(*, quiz: Quiz) -> int:
    """Take the quiz offline; returns how many runs are in progress (they may finish).

    A visitor mid-run keeps going to their result (their token still opens the run);
    new visitors get "this quiz is closed" (quizzes.views.intro).
    """
    quiz.status = Quiz.Status.DRAFT
    quiz.save(update_fields=["status", "updated_at"])
    return runs_in_progress(quiz=quiz)


@transaction.atomic
def quiz_duplicate(*, quiz: Quiz) -> Quiz:
    """A deep copy as a draft: categories and their bands, tiers, questions, choices,
    branches and result blocks."""
    source = Quiz.objects.get(pk=quiz.pk)
    slug_base = f"{source.slug}-copy"[:70]
    slug, n = slug_base, 2
    while Quiz.objects.filter(slug=slug).exists():
        slug, n = f"{slug_base}-{n}", n + 1
    copy = Quiz.objects.get(pk=quiz.pk)
    copy.pk = None
    copy.slug = slug
    copy.title = f"{source.title} (copy)"[:200]
    copy.status = Quiz.Status.DRAFT
    copy.published_at = None
    copy.save()

    categories, bands = {}, {}
    for category in source.categories.prefetch_related("bands"):
        old = category.pk
        old_bands = list(category.bands.all())
        category.pk, category.quiz = None, copy
        category.save()
        categories[old] = category
        for band in old_bands:
            old_band = band.pk
            band.pk, band.category = None, category
            band.save()
            bands[old_band] = band
    tiers = {}
    for tier in source.tiers.all():
        old = tier.pk
        tier.pk, tier.quiz = None, copy
        tier.save()
        tiers[old] = tier
    questions, choices, new_choices = {}, [], {}
    for question in source.ordered_questions():
        old_choices = list(question.choices.all())
        old = question.pk
        question.pk, question.quiz = None, copy
        question.category = categories.get(question.category_id)
        question.save()
        questions[old] = question
        for choice in old_choices:
            new_choices[choice.pk] = choice
            choice.pk, choice.question = None, question
            choices.append(choice)
    for choice in choices:
        choice.next_question = questions.get(choice.next_question_id)
        choice.save()
    for block in source.result_blocks.prefetch_related("conditions"):
        conditions = list(block.conditions.all())
        block.pk, block.quiz = None, copy
        block.save()
        for condition in conditions:
            condition.pk, condition.block = None, block
            condition.tier = tiers.get(condition.tier_id)
            condition.category = categories.get(condition.category_id)
            condition.band = bands.get(condition.band_id)
            condition.question = questions.get(condition.question_id)
            condition.choice = new_choices.get(condition.choice_id)
            condition.save()
    HiddenField.objects.bulk_create(
        HiddenField(quiz=copy, name=field.name, pattern=field.pattern)
        for field in source.hidden_fields.all()
    )
    return copy


# --- Runs left mid-way (lead first) --------------------------------------------------


def attempts_abandon(*, now=None, limit: int = 500) -> int:
    """Record, once each, the lead-first runs silent for QUIZ_ABANDON_MINUTES before
    their last question; returns how many. Called by the scheduler every minute.

    Each run is claimed by `abandoned_at` in one UPDATE, in the transaction that sends
    `attempt_abandoned`: two schedulers at once record it once, and a run that is
    answered meanwhile (active_at moves) is left alone.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=quiet_minutes())
    candidates = list(
        Attempt.objects.filter(
            quiz__lead_form_position=Quiz.LeadFormPosition.BEFORE,
            lead__isnull=False,
            finished_at__isnull=True,
            completed_at__isnull=True,
            abandoned_at__isnull=True,
            active_at__lt=cutoff,
        )
        .order_by("active_at")
        .values_list("pk", flat=True)[:limit]
    )
    recorded = 0
    for pk in candidates:
        with transaction.atomic():
            claimed = Attempt.objects.filter(
                pk=pk, abandoned_at__isnull=True, finished_at__isnull=True, active_at__lt=cutoff
            ).update(abandoned_at=now)
            if not claimed:
                continue
            attempt = Attempt.objects.select_related("quiz", "lead").get(pk=pk)
            state = attempt_state(attempt=attempt)
            signals.attempt_abandoned.send(
                sender=Attempt,
                attempt=attempt,
                answered=len(state.path.answered),
                total=state.path.total,
                last_question_id=state.path.current,
                silent_minutes=int((now - attempt.active_at).total_seconds() // 60),
            )
            recorded += 1
    return recorded
