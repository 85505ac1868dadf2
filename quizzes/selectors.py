"""Reads of quizzes and attempts."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404
from django.shortcuts import get_object_or_404

from quizzes.models import Answer, Attempt, Question, Quiz
from quizzes.paths import Path, walk


def quiz_get_for_visitor(*, slug: str, preview_user=None) -> Quiz:
    """A published quiz, or any quiz for a staff user previewing it; else 404."""
    quiz = get_object_or_404(Quiz, slug=slug)
    if quiz.is_published:
        return quiz
    if preview_user is not None and preview_user.has_perm("quizzes.change_quiz"):
        return quiz
    raise Http404("No such quiz.")


def attempt_get_for_visitor(*, slug: str, token: str) -> Attempt:
    """The attempt behind an unguessable token; 404 for unknown tokens and unpublished quizzes."""
    attempt = get_object_or_404(
        Attempt.objects.select_related("quiz"), token=token, quiz__slug=slug
    )
    if not (attempt.quiz.is_published or attempt.is_preview):
        raise Http404("No such quiz.")
    return attempt


def _branch_target(question: Question, answer: Answer) -> int | None:
    if answer.skipped or question.kind not in Question.BRANCHING_KINDS:
        return None
    for choice in answer.choices.all():
        if choice.next_question_id:
            return choice.next_question_id
    return None


@dataclass(frozen=True)
class AttemptState:
    questions: dict[int, Question]
    answers: dict[int, Answer]
    path: Path

    def on_path_answers(self) -> list[Answer]:
        return [self.answers[question_id] for question_id in self.path.answered]


def attempt_state(*, attempt: Attempt) -> AttemptState:
    """The quiz's questions, the attempt's answers and the path they make."""
    ordered = attempt.quiz.ordered_questions()
    answers = {
        a.question_id: a for a in Answer.objects.filter(attempt=attempt).prefetch_related("choices")
    }
    questions = {q.pk: q for q in ordered}
    answered = {
        qid: _branch_target(questions[qid], answer)
        for qid, answer in answers.items()
        if qid in questions
    }
    return AttemptState(questions, answers, walk([q.pk for q in ordered], answered))
