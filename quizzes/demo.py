"""The demo scorecard: the first template (quizzes.scorecards), published."""

from __future__ import annotations

from django.db import transaction

from quizzes.demo_advice import demo_bands_apply, demo_blocks_apply
from quizzes.demo_german import demo_german_apply
from quizzes.demo_look import demo_look_apply
from quizzes.models import HiddenField, Quiz
from quizzes.scorecards import MARKETING, quiz_from_template
from quizzes.services import quiz_publish

SLUG = MARKETING.slug


@transaction.atomic
def demo_quiz_create() -> tuple[Quiz, bool]:
    """The demo scorecard in English and German, published; a second call changes nothing
    (a demo made before German was added gets its German texts)."""
    existing = Quiz.objects.filter(slug=SLUG).first()
    if existing is not None:
        demo_german_apply(existing)
        return existing, False
    quiz = quiz_from_template(name=MARKETING.name, slug=SLUG)
    # The README's embedding example works on a laptop: any port of this machine.
    quiz.embed_origins = "http://localhost:*\nhttp://127.0.0.1:*"
    quiz.save(update_fields=["embed_origins"])
    HiddenField.objects.create(quiz=quiz, name="plan", pattern="free|pro|enterprise")
    HiddenField.objects.create(quiz=quiz, name="partner_id", pattern="[0-9]{1,10}")
    demo_look_apply(quiz)
    demo_bands_apply(quiz)
    demo_blocks_apply(quiz)
    demo_german_apply(quiz)
    problems = quiz_publish(quiz=quiz)
    if problems:  # the demo is ours: a problem here is a bug
        raise RuntimeError("The demo quiz does not publish: " + " ".join(problems))
    return quiz, True
