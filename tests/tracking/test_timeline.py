"""The timeline on a sales lead page, in words a salesperson reads."""

import uuid

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from tests.quizzes.factories import AttemptFactory, QuestionFactory, TierFactory
from tests.tracking.factories import ConversionEventFactory
from tracking.models import EventEnrichment
from tracking.timeline import attempt_timeline, event_sentence

pytestmark = pytest.mark.django_db

ANSWER = {"question_id": 1, "position": 4, "choice_ids": []}


def said(name, *, seen_ms=None, depth=None, cta_labels=None, **fields):
    event = ConversionEventFactory(name=name, **fields)
    added = {}
    if seen_ms is not None:
        added["time_visible_ms"] = seen_ms
    if depth is not None:
        added["read_depth_percent"] = depth
    if added:
        EventEnrichment.objects.create(
            client_event_id=uuid.uuid4(), event=event, properties=added, occurred_at=timezone.now()
        )
    return event_sentence(event, cta_labels=cta_labels)


def test_an_answer_names_the_question_the_answer_and_its_points():
    question = "How confident are you in the revenue each ad channel brings in?"
    properties = {**ANSWER, "question": question, "answer": "7 of 10", "points": 7}
    text = said("question_answered", properties={**properties, "max_points": 10, "skipped": False})
    assert text == "Answered “How confident are you in the revenue…”: 7 of 10 — 7 pts"


def test_a_free_text_answer_has_no_points_and_a_skipped_one_says_so():
    free = {**ANSWER, "question": "Anything else?", "answer": "More budget", "skipped": False}
    assert (
        said("question_answered", properties={**free, "points": 0, "max_points": 0})
        == "Answered “Anything else?”: More budget"
    )
    skipped = {**free, "answer": "", "skipped": True, "points": 0, "max_points": 0}
    assert said("question_answered", properties=skipped) == "Skipped “Anything else?”"


def test_a_changed_answer_shows_before_and_after():
    properties = {**ANSWER, "question": "Do you advertise?", "answer": "Yes", "points": 10}
    properties |= {
        "max_points": 10,
        "skipped": False,
        "previous_answer": "No",
        "previous_points": 0,
    }
    assert said("answer_changed", properties=properties) == (
        "Changed “Do you advertise?”: No → Yes — 10 pts"
    )


def test_the_start_names_where_the_visitor_came_from():
    assert (
        said("quiz_started", ft_source="newsletter", ft_medium="email")
        == "Started the quiz from newsletter / email"
    )
    assert said("quiz_started", ft_source="news.ycombinator.com", ft_medium="referral") == (
        "Started the quiz from news.ycombinator.com / referral"
    )
    assert said("quiz_started", ft_source="(direct)", ft_medium="(none)") == (
        "Started the quiz (came in directly)"
    )


def test_reading_the_result_is_said_in_seconds_and_scroll_depth():
    result = {"percent": 95, "tier": "Hot"}
    assert said("result_viewed", properties=result, seen_ms=45_300) == "Read the result for 45 s"
    assert said("result_viewed", properties=result, seen_ms=125_000, depth=80) == (
        "Read the result for 2 min, scrolled 80 % of it"
    )
    assert said("result_viewed", properties=result) == "Saw the result"


def test_a_click_on_the_call_to_action_uses_its_label():
    labels = {"https://example.com/book": "Book a strategy call"}
    properties = {"tier": "Hot", "url": "https://example.com/book/"}
    assert said("cta_clicked", properties=properties, cta_labels=labels) == (
        "Clicked “Book a strategy call”"
    )
    other = {"tier": "Hot", "url": "https://elsewhere.example/"}
    assert said("cta_clicked", properties=other, cta_labels=labels) == "Clicked the call to action"


def test_views_completion_and_the_form_read_as_sentences():
    question = QuestionFactory(text="What do you track?")
    assert said("question_viewed", question=question, seen_ms=12_000, properties=ANSWER) == (
        "Saw “What do you track?” for 12 s"
    )
    completed = {"questions_answered": 5, "duration_ms": 150_000}
    assert said("quiz_completed", properties=completed) == "Finished the quiz: 5 questions in 3 min"
    form = {"percent": 95, "tier": "Hot", "spam": False}
    assert said("lead_submitted", properties=form) == "Sent the form: 95 %, Hot"
    assert said("quiz_viewed", properties={}) == "Opened the quiz"


def test_the_timeline_takes_the_labels_from_the_quizs_tiers():
    attempt = AttemptFactory()
    TierFactory(quiz=attempt.quiz, cta_url="https://example.com/book", cta_label="")
    ConversionEventFactory(
        attempt=attempt, name="cta_clicked", properties={"url": "https://example.com/book"}
    )
    assert [e.text for e in attempt_timeline(attempt=attempt)] == ["Clicked “Book a call”"]


def test_the_timeline_is_a_partial_for_htmx_and_a_page_without_javascript(client):
    seller = User.objects.create_user("sam")
    seller.groups.add(Group.objects.get(name="Sales"))
    client.force_login(seller)
    attempt = AttemptFactory()
    ConversionEventFactory(
        attempt=attempt, name="quiz_started", ft_source="google", ft_medium="cpc"
    )
    url = f"/dashboard/timeline/{attempt.token}/"
    partial = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "Started the quiz from google / cpc" in partial and "<html" not in partial
    page = client.get(url).content.decode()
    assert "Started the quiz from google / cpc" in page and "<html" in page
    assert "quiz_started" not in page  # no event names for a salesperson to decode
