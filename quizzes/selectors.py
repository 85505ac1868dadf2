"""Reads of quizzes and attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from core.visitor import Visitor
from quizzes import blocks
from quizzes.models import Answer, Attempt, Question, Quiz, ResultBlock
from quizzes.paths import Path, walk


class QuizClosed(Exception):
    """The quiz was published and is offline now: new visitors see "this quiz is closed"."""

    def __init__(self, quiz: Quiz):
        super().__init__(quiz.title)
        self.quiz = quiz


def quiz_get_for_visitor(*, slug: str, preview_user=None) -> Quiz:
    """A published quiz, or any quiz for a staff user previewing it; QuizClosed for a quiz
    taken offline; else 404 (a draft never published is not known to the public)."""
    # The question count comes in the same query (the intro and quiz_started show it).
    quiz = get_object_or_404(
        Quiz.objects.select_related("brand").annotate(questions_total=Count("questions")), slug=slug
    )
    if quiz.is_published:
        return quiz
    if preview_user is not None and preview_user.has_perm("quizzes.change_quiz"):
        return quiz
    if quiz.is_closed:
        raise QuizClosed(quiz)
    raise Http404("No such quiz.")


def quiet_minutes() -> int:
    """The silence after which an unfinished run counts as left (QUIZ_ABANDON_MINUTES)."""
    return settings.QUIZ_ABANDON_MINUTES


def runs_in_progress(*, quiz: Quiz, now=None) -> int:
    """Visitors' runs (not previews) not finished and active within QUIZ_ABANDON_MINUTES."""
    since = (now or timezone.now()) - timedelta(minutes=quiet_minutes())
    return Attempt.objects.filter(
        quiz=quiz, is_preview=False, finished_at__isnull=True, active_at__gte=since
    ).count()


def attempt_touches(*, attempt: Attempt | None, visitor: Visitor | None) -> tuple[dict, dict]:
    """(first touch, last touch) to credit: the attempt's, fixed when it started, wherever
    it goes on (a step link copied to another device has none of the first one's
    cookies); the visitor's own outside an attempt, or for an attempt from before
    attempts kept them."""
    if attempt is not None and attempt.first_touch:
        return attempt.first_touch, attempt.last_touch or attempt.first_touch
    if visitor is not None:
        return visitor.first_touch, visitor.last_touch
    return {}, {}


def attempt_get_for_visitor(*, slug: str, token: str) -> Attempt:
    """The attempt behind an unguessable token; 404 for unknown tokens.

    A run begun while its quiz was live goes on after the quiz is taken offline: the
    visitor mid-run reaches their result, and a result link sent by e-mail keeps working.
    """
    # With its lead, if any, in the same query (the form may come before the questions).
    return get_object_or_404(
        Attempt.objects.select_related("quiz__brand", "lead"), token=token, quiz__slug=slug
    )


def branch_target(question: Question, choices, *, skipped: bool) -> int | None:
    """The later question a chosen answer sends the visitor to, if any."""
    if skipped or question.kind not in Question.BRANCHING_KINDS:
        return None
    return next((c.next_question_id for c in choices if c.next_question_id), None)


@dataclass(frozen=True)
class AttemptState:
    questions: dict[int, Question]  # in the quiz's order
    answers: dict[int, Answer]  # question id -> answer, choices prefetched
    path: Path

    def on_path_answers(self) -> list[Answer]:
        return [self.answers[question_id] for question_id in self.path.answered]

    def with_answer(self, answer: Answer, choices) -> AttemptState:
        """The state once `answer` is given with `choices`: the path walked again, no query."""
        answers = {**self.answers, answer.question_id: answer}
        return _state(self.questions, answers, {answer.question_id: list(choices)})


def _state(questions: dict[int, Question], answers: dict[int, Answer], chosen=None) -> AttemptState:
    """Walk the path; `chosen` gives the choices of answers whose prefetch is stale."""
    chosen = chosen or {}
    targets = {
        qid: branch_target(
            questions[qid], chosen.get(qid, answer.choices.all()), skipped=answer.skipped
        )
        for qid, answer in answers.items()
        if qid in questions
    }
    return AttemptState(questions, answers, walk(list(questions), targets))


def attempt_state(
    *, attempt: Attempt, questions: dict[int, Question] | None = None
) -> AttemptState:
    """The quiz's questions, the attempt's answers and the path they make.

    `questions`: the quiz's questions as an earlier state of this request read them
    (AttemptState.questions), so that a service re-reading the answers under the
    attempt's lock does not read the quiz's questions a second time."""
    if questions is None:
        questions = {q.pk: q for q in attempt.quiz.ordered_questions()}
    answers = {
        a.question_id: a for a in Answer.objects.filter(attempt=attempt).prefetch_related("choices")
    }
    return _state(questions, answers)


# --- Result blocks (quizzes.blocks) ---------------------------------------------------


def result_blocks_all(*, quiz: Quiz) -> list[ResultBlock]:
    """The quiz's result blocks in order, with their conditions."""
    return list(ResultBlock.objects.filter(quiz=quiz).prefetch_related("conditions"))


def result_blocks_shown(*, quiz: Quiz, facts: blocks.Facts) -> list[ResultBlock]:
    """The blocks whose conditions hold for `facts`, in order."""
    every = result_blocks_all(quiz=quiz)
    shown = set(blocks.blocks_shown([b.rule() for b in every], facts))
    return [b for b in every if b.pk in shown]


def quiz_shape(*, quiz: Quiz, questions=None, tiers=None) -> blocks.Shape:
    """What the quiz's blocks may point at (for the check of their conditions);
    `questions` (choices prefetched) and `tiers` when already read."""
    questions = quiz.ordered_questions() if questions is None else questions
    tiers = list(quiz.tiers.all()) if tiers is None else tiers
    categories = list(quiz.categories.prefetch_related("bands"))
    return blocks.Shape(
        tiers={t.pk: t.name for t in tiers},
        categories={c.pk: c.name for c in categories},
        bands={b.pk: (c.pk, b.name) for c in categories for b in c.bands.all()},
        questions={
            q.pk: blocks.QuestionShape(number, q.kind, q.rating_min, q.rating_max)
            for number, q in enumerate(questions, start=1)
        },
        choices={c.pk: (q.pk, c.label) for q in questions for c in q.choices.all()},
        hidden_names=frozenset(quiz.hidden_fields.values_list("name", flat=True)),
    )


def result_block_problems(
    *, quiz: Quiz, result_blocks: list[ResultBlock] | None = None, questions=None, tiers=None
) -> list[str]:
    """Each block condition that can never hold, in words naming the block."""
    if result_blocks is None:
        result_blocks = result_blocks_all(quiz=quiz)
    if not result_blocks:
        return []
    shape = quiz_shape(quiz=quiz, questions=questions, tiers=tiers)
    problems = []
    for number, block in enumerate(result_blocks, start=1):
        problems.extend(
            f"Result block {number} (“{block.headline[:60]}”): {p}"
            for p in blocks.rule_problems(block.rule(), shape)
        )
    return problems
