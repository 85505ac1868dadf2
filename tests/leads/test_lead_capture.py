"""The lead form and the personal result."""

import pytest
from django.test import Client

from leads.models import Lead
from quizzes.models import Answer, Choice, Quiz
from tests.automations.factories import ActionFactory
from tests.concurrency import at_once, on_postgres
from tests.quizzes.factories import ScorecardFactory
from tests.visitor import (
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


def test_a_finished_run_becomes_a_scored_lead_and_a_personal_result(client, scorecard):
    attempt = run(client, scorecard)
    response = submit_lead(client, attempt, consent="on")
    assert response["Location"] == result_url(attempt)

    lead = Lead.objects.get()
    assert (lead.email, lead.name, lead.company) == ("ada@example.com", "Ada", "Analytical")
    assert (lead.score_points, lead.score_max, lead.score_percent) == (38, 40, 95)
    assert (lead.tier_name, lead.status) == ("Hot", "new")
    assert lead.category_scores == [
        {"name": "Reach", "points": 20, "max_points": 20, "percent": 100},
        {"name": "Insight", "points": 18, "max_points": 20, "percent": 90},
    ]
    assert lead.consent_given and lead.consent_text == "Email me tips."
    assert lead.consented_at is not None

    page = client.get(result_url(attempt)).content.decode()
    assert "Your score: 95%" in page
    assert "38 of 40 points" in page
    assert "Hot" in page and "Hot headline" in page
    assert "Insight" in page and "90%" in page
    assert "How do you tag links?" in page and "Always" in page and "10/10 pts" in page


def test_the_result_shows_only_the_attempt_of_its_token(client, scorecard):
    attempt = run(client, scorecard)
    submit_lead(client, attempt)
    assert client.get(result_url(attempt).replace(attempt.token, "x" * 32)).status_code == 404
    other = start(client, scorecard)
    # Another attempt without a lead is sent to its own form, not shown this result.
    assert client.get(result_url(other))["Location"] == details_url(other)


def test_the_result_cannot_be_cached_or_leak_its_token(client, scorecard):
    attempt = run(client, scorecard)
    submit_lead(client, attempt)
    response = client.get(result_url(attempt))
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"


def test_an_optional_question_left_empty_is_not_counted(client, scorecard):
    steps = [
        ("Do you advertise?", ("No",), {}),
        ("What do you track?", ("Revenue",), {}),
        ("How confident are you?", (), {"rating": 10}),
        ("Anything else?", (), {"text": ""}),
    ]
    attempt = run(client, scorecard, steps=steps)
    submit_lead(client, attempt)
    lead = Lead.objects.get()
    assert (lead.score_points, lead.score_max, lead.score_percent) == (14, 30, 46)
    assert lead.tier_name == "Cold"
    assert lead.answers[-1]["skipped"] is True


def test_editing_the_quiz_later_does_not_change_what_was_given(client, scorecard):
    attempt = run(client, scorecard)
    submit_lead(client, attempt)
    Choice.objects.filter(question__quiz=scorecard).update(points=0)
    scorecard.tiers.filter(name="Hot").update(name="Scorching")
    lead = Lead.objects.get()
    assert (lead.score_points, lead.tier_name) == (38, "Hot")
    assert "38 of 40 points" in client.get(result_url(attempt)).content.decode()


def test_the_lead_form_waits_until_every_question_is_answered(client, scorecard):
    attempt = start(client, scorecard)
    first = step_url(attempt, question(scorecard, "Do you advertise?"))
    assert client.get(details_url(attempt))["Location"] == first
    response = submit_lead(client, attempt)
    assert response.status_code == 409
    assert "Please answer every question" in response.content.decode()
    assert not Lead.objects.exists()


def test_a_filled_honeypot_sees_a_result_but_is_kept_from_sales(client, scorecard):
    attempt = run(client, scorecard)
    response = submit_lead(client, attempt, website="http://spam.example")
    assert response["Location"] == result_url(attempt)
    assert "Your score" in client.get(result_url(attempt)).content.decode()
    lead = Lead.objects.get()
    assert lead.is_spam
    assert not Lead.objects.for_sales().exists()


def test_preview_runs_make_preview_leads_kept_from_sales(admin_client):
    quiz = ScorecardFactory(status=Quiz.Status.DRAFT)
    assert admin_client.get(quiz.get_absolute_url() + "?preview=1").status_code == 200
    attempt = start(admin_client, quiz, preview="1")
    assert attempt.is_preview
    for text, labels, kwargs in [
        ("Do you advertise?", ("No",), {}),
        ("What do you track?", ("Forms",), {}),
        ("How confident are you?", (), {"rating": 1}),
        ("Anything else?", (), {"text": ""}),
    ]:
        assert answer(admin_client, attempt, text, *labels, **kwargs).status_code == 302
    submit_lead(admin_client, attempt)
    assert Lead.objects.get().is_preview
    assert not Lead.objects.for_sales().exists()


def test_two_identical_posts_make_one_lead_and_both_see_the_result(client, scorecard):
    attempt = run(client, scorecard)
    first = submit_lead(client, attempt)
    second = submit_lead(client, attempt, name="Ada again")
    assert first["Location"] == second["Location"] == result_url(attempt)
    assert Lead.objects.get().name == "Ada"


class TestBadLeadInput:
    """A clear message in the form, a 422, and no lead."""

    @pytest.fixture
    def attempt(self, client, scorecard):
        return run(client, scorecard)

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"email": "not-an-email"}, "Please enter a valid email address"),
            ({"email": ""}, "Please enter your email address."),
            ({"email": "a" * 250 + "@example.com"}, "Please keep your email under 254"),
            ({"name": "n" * 121}, "Please keep your name under 120 characters."),
            ({"company": "c" * 121}, "Please keep your company under 120 characters."),
        ],
    )
    def test_is_refused_with_a_message(self, client, attempt, fields, message):
        response = submit_lead(client, attempt, **fields)
        assert response.status_code == 422
        assert message in response.content.decode()
        assert not Lead.objects.exists()
        attempt.refresh_from_db()
        assert attempt.finished_at is None

    def test_required_fields_and_consent_follow_the_quiz_settings(self, client, attempt):
        Quiz.objects.filter(pk=attempt.quiz_id).update(
            ask_company="required", ask_phone="required", consent_required=True
        )
        response = submit_lead(client, attempt, company="", phone="call me")
        page = response.content.decode()
        assert response.status_code == 422
        assert "Please enter your company." in page
        assert "Enter a phone number with digits" in page
        assert "Please tick the box to agree" in page
        assert not Lead.objects.exists()

    def test_fields_that_are_off_are_not_shown_nor_kept(self, client, attempt):
        Quiz.objects.filter(pk=attempt.quiz_id).update(ask_name="off", ask_company="off")
        page = client.get(details_url(attempt)).content.decode()
        assert 'name="name"' not in page and 'name="company"' not in page
        submit_lead(client, attempt)
        assert (Lead.objects.get().name, Lead.objects.get().company) == ("", "")


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_two_lead_posts_at_the_same_moment_make_one_lead(scorecard):
    attempt = run(Client(), scorecard)
    clients = [Client(), Client()]
    responses = at_once([lambda c=c: submit_lead(c, attempt) for c in clients])
    assert [r.status_code for r in responses] == [302, 302]
    assert {r["Location"] for r in responses} == {result_url(attempt)}
    assert Lead.objects.filter(attempt=attempt).count() == 1


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_two_answers_to_one_question_at_the_same_moment_make_one_answer(scorecard):
    attempt = start(Client(), scorecard)
    clients = [Client(), Client(), Client()]
    responses = at_once(
        [lambda c=c: answer(c, attempt, "Do you advertise?", "Yes") for c in clients]
    )
    assert [r.status_code for r in responses] == [302, 302, 302]
    assert Answer.objects.filter(attempt=attempt).count() == 1


def test_the_lead_forms_post_reads_the_runs_answers_once(client, scorecard, hot_rule):
    """Every statement is a round trip, and under load each one waits its turn for a core:
    the post reads the answers under the attempt's lock only, and writes each delivery
    of the hot rule with one INSERT (no look-up first: its event is new)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from automations.models import Delivery

    ActionFactory(rule=hot_rule, kind="webhook", order=1, webhook_url="https://example.com/h")
    attempt = run(client, scorecard)
    with CaptureQueriesContext(connection) as captured:
        response = submit_lead(client, attempt)
    assert response["Location"] == result_url(attempt)
    statements = [q["sql"] for q in captured.captured_queries]
    answers = [s for s in statements if s.startswith('SELECT "quizzes_answer"."id"')]
    assert len(answers) == 1
    assert not any(s.startswith("SELECT") and '"automations_delivery"' in s for s in statements)
    assert Delivery.objects.filter(lead=Lead.objects.get()).count() == 2
