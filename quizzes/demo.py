"""The demo scorecard: the first template (quizzes.scorecards), published."""

from __future__ import annotations

from django.db import transaction

from quizzes.demo_advice import demo_bands_apply
from quizzes.demo_look import demo_look_apply
from quizzes.models import Quiz
from quizzes.scorecards import MARKETING, quiz_from_template
from quizzes.services import quiz_publish

SLUG = MARKETING.slug


@transaction.atomic
def demo_quiz_create() -> tuple[Quiz, bool]:
    """The demo scorecard, published; a second call changes nothing."""
    existing = Quiz.objects.filter(slug=SLUG).first()
    if existing is not None:
        return existing, False
    quiz = quiz_from_template(name=MARKETING.name, slug=SLUG)
    demo_look_apply(quiz)
    demo_bands_apply(quiz)
    problems = quiz_publish(quiz=quiz)
    if problems:  # the demo is ours: a problem here is a bug
        raise RuntimeError("The demo quiz does not publish: " + " ".join(problems))
    return quiz, True
