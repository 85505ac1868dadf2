"""A marketer's preview says so on every page; the demo quiz reads as one consistent quiz."""

import re

import pytest
from django.core.management import call_command

from quizzes.models import Question, Quiz
from tests.quizzes.factories import ScorecardFactory
from tests.visitor import (
    HOT_RUN,
    answer,
    details_url,
    question,
    result_url,
    run,
    start,
    step_url,
    submit_lead,
)

pytestmark = pytest.mark.django_db

PREVIEW = "Preview: this run is marked as a preview"


def test_the_preview_banner_shows_on_every_step_the_lead_form_and_the_result(admin_client):
    quiz = ScorecardFactory(status=Quiz.Status.DRAFT)
    attempt = start(admin_client, quiz, preview="1")
    for text, labels, kwargs in HOT_RUN:
        page = admin_client.get(step_url(attempt, question(quiz, text))).content.decode()
        assert PREVIEW in page, text
        assert answer(admin_client, attempt, text, *labels, **kwargs).status_code == 302
    assert PREVIEW in admin_client.get(details_url(attempt)).content.decode()
    assert submit_lead(admin_client, attempt).status_code == 302
    assert PREVIEW in admin_client.get(result_url(attempt)).content.decode()


def test_a_visitors_run_shows_no_preview_banner(client):
    quiz = ScorecardFactory()
    attempt = run(client, quiz)
    assert PREVIEW not in client.get(details_url(attempt)).content.decode()
    submit_lead(client, attempt)
    assert PREVIEW not in client.get(result_url(attempt)).content.decode()


@pytest.fixture
def demo():
    call_command("seed_demo", "--no-admin")
    return Quiz.objects.get(slug="marketing-measurement")


def _step_page(client, demo, kind: str) -> str:
    attempt = start(client, demo)
    target = demo.questions.filter(kind=kind).first()
    # Walk the path to that question with the first option each time.
    for q in demo.questions.order_by("order"):
        if q == target:
            break
        data = (
            {"answer": str(q.choices.first().pk)}
            if q.is_choice
            else {"answer": str(q.rating_max)}
            if q.kind == Question.Kind.RATING
            else {"answer": ""}
        )
        client.post(step_url(attempt, q), data)
    return client.get(step_url(attempt, target)).content.decode()


def test_the_demo_rating_question_shows_one_scale_in_its_own_words(client, demo):
    page = _step_page(client, demo, Question.Kind.RATING)
    assert "0 = A guess" in page and "10 = We could defend it to the board" in page
    assert "Not at all" not in page and "Completely" not in page
    assert "0 = a guess" not in page  # no second scale in the help text


def test_the_demo_text_question_says_optional_once(client, demo):
    page = _step_page(client, demo, Question.Kind.TEXT)
    assert page.count("Optional") == 1


def test_a_text_answer_shows_its_limit_and_is_not_cut_by_the_browser(client, demo):
    page = _step_page(client, demo, Question.Kind.TEXT)
    assert "Up to 1,000 characters." in page
    textarea = re.search(r"<textarea[^>]*>", page)[0]
    assert "maxlength" not in textarea and 'data-limit="1000"' in textarea


def test_the_consent_label_links_the_privacy_policy(client, demo):
    attempt = start(client, demo)
    for q in demo.questions.order_by("order"):
        if q.is_choice:
            client.post(step_url(attempt, q), {"answer": str(q.choices.first().pk)})
        elif q.kind == Question.Kind.RATING:
            client.post(step_url(attempt, q), {"answer": "5"})
        else:
            client.post(step_url(attempt, q), {"answer": ""})
    page = client.get(details_url(attempt)).content.decode()
    assert '<a href="https://example.com/privacy"' in page


def test_a_consent_text_is_escaped_before_its_links_are_made(client):
    quiz = ScorecardFactory(consent_text="<b>Tips</b> see https://example.com/p")
    attempt = run(client, quiz)
    page = client.get(details_url(attempt)).content.decode()
    assert "&lt;b&gt;Tips&lt;/b&gt;" in page
    assert '<a href="https://example.com/p"' in page
