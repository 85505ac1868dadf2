"""The visitor takes a quiz: intro, one question a step, progress, back, branches."""

import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from quizzes.models import Answer, Attempt
from tests.quizzes.factories import ChoiceFactory, QuestionFactory, ScorecardFactory
from tests.visitor import answer, answer_data, question, result_url, run, start, step_url

pytestmark = pytest.mark.django_db


def test_the_intro_shows_the_quiz_its_length_and_a_start_button(client, scorecard):
    response = client.get(scorecard.get_absolute_url())
    page = response.content.decode()
    assert response.status_code == 200
    assert scorecard.title in page
    assert "5 questions · about 2 minutes" in page
    assert "Start the quiz" in page


def test_unknown_and_unpublished_quizzes_are_not_found(client, draft_quiz):
    assert client.get("/q/no-such-quiz/").status_code == 404
    response = client.get(draft_quiz.get_absolute_url())
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


def test_a_double_click_on_start_begins_one_attempt(client, scorecard):
    key = uuid.uuid4()
    first = start(client, scorecard, start_key=key)
    second = start(client, scorecard, start_key=key)
    assert first == second
    assert Attempt.objects.count() == 1


def test_the_progress_bar_counts_questions_on_the_path(client, scorecard):
    attempt = start(client, scorecard)
    first = client.get(step_url(attempt, question(scorecard, "Do you advertise?")))
    assert "Question 1 of 5" in first.content.decode()
    response = answer(client, attempt, "Do you advertise?", "No")
    # "No" skips the tagging question: the visitor's path has four questions.
    assert response["Location"] == step_url(attempt, question(scorecard, "What do you track?"))
    page = client.get(response["Location"]).content.decode()
    assert "Question 2 of 4" in page
    assert 'aria-valuenow="25"' in page


def test_back_shows_the_previous_question_with_its_answer_selected(client, scorecard):
    attempt = start(client, scorecard)
    answer(client, attempt, "Do you advertise?", "Yes")
    page = client.get(step_url(attempt, question(scorecard, "How do you tag links?"))).content
    q1 = question(scorecard, "Do you advertise?")
    assert f'href="{step_url(attempt, q1)}"' in page.decode()
    back = client.get(step_url(attempt, q1)).content.decode()
    yes = q1.choices.get(label="Yes")
    assert re.search(rf'<input type="radio" name="answer" value="{yes.pk}"[^>]*\bchecked', back)
    assert back.count("checked") == 1


def test_changing_an_answer_replaces_it(client, scorecard):
    attempt = start(client, scorecard)
    answer(client, attempt, "Do you advertise?", "Yes")
    answer(client, attempt, "How do you tag links?", "Never")
    answer(client, attempt, "How do you tag links?", "Always")
    answers = Answer.objects.filter(attempt=attempt, question__text="How do you tag links?")
    assert answers.count() == 1
    assert answers.get().points == 10
    assert answers.get().changed_at is not None


def test_posting_the_same_answer_twice_changes_nothing(client, scorecard):
    attempt = start(client, scorecard)
    answer(client, attempt, "Do you advertise?", "Yes")
    before = Answer.objects.get(attempt=attempt)
    again = answer(client, attempt, "Do you advertise?", "Yes")
    assert again.status_code == 302
    after = Answer.objects.get(attempt=attempt)
    assert (after.answered_at, after.changed_at) == (before.answered_at, None)


def test_switching_a_branch_drops_the_skipped_question_from_the_score(client, scorecard):
    attempt = run(client, scorecard)
    answer(client, attempt, "Do you advertise?", "No")  # back to question 1, now skipping 2
    client.post(
        reverse("leads:details", args=[scorecard.slug, attempt.token]),
        {"email": "a@example.com"},
    )
    lead = attempt.lead
    assert (lead.score_points, lead.score_max) == (18, 30)  # 0 + 10 + 8 of 0 + 10 + 10 + 10
    assert "How do you tag links?" not in [a["question"] for a in lead.answers]


def test_a_refresh_of_a_step_url_shows_that_step(client, scorecard):
    attempt = start(client, scorecard)
    answer(client, attempt, "Do you advertise?", "Yes")
    url = step_url(attempt, question(scorecard, "Do you advertise?"))
    fresh = Client()  # a copied link opened elsewhere
    page = fresh.get(url).content.decode()
    assert "Do you advertise?" in page and "<html" in page


def test_a_step_ahead_of_the_path_redirects_to_the_current_question(client, scorecard):
    attempt = start(client, scorecard)
    ahead = step_url(attempt, question(scorecard, "How confident are you?"))
    response = client.get(ahead)
    assert response["Location"] == step_url(attempt, question(scorecard, "Do you advertise?"))


class TestHtmx:
    headers = {"HX-Request": "true"}

    def test_a_step_is_rendered_as_the_card_alone_and_pushes_its_url(self, client, scorecard):
        attempt = start(client, scorecard)
        url = step_url(attempt, question(scorecard, "Do you advertise?"))
        response = client.get(url, headers=self.headers)
        page = response.content.decode()
        assert page.lstrip().startswith('<section class="card" id="quiz-card"')
        assert "<html" not in page
        assert response["HX-Push-Url"] == url
        assert "autofocus" in page  # focus moves to the new question

    def test_an_error_is_rendered_in_the_card_without_moving_the_url(self, client, scorecard):
        attempt = start(client, scorecard)
        url = step_url(attempt, question(scorecard, "Do you advertise?"))
        response = client.post(url, {}, headers=self.headers)
        assert response.status_code == 422
        assert "Please answer this question to continue." in response.content.decode()
        assert "HX-Push-Url" not in response


class TestBadInput:
    """Each one: a clear 4xx message, and nothing written."""

    def test_a_choice_of_another_question_is_refused(self, client, scorecard):
        attempt = start(client, scorecard)
        q1 = question(scorecard, "Do you advertise?")
        other = question(scorecard, "How do you tag links?").choices.first()
        response = client.post(step_url(attempt, q1), {"answer": str(other.pk)})
        assert response.status_code == 422
        assert "That answer is not one of this question" in response.content.decode()
        assert not Answer.objects.exists()

    def test_a_choice_of_another_quiz_is_refused(self, client, scorecard):
        attempt = start(client, scorecard)
        foreign = ChoiceFactory(question=QuestionFactory())
        q1 = question(scorecard, "Do you advertise?")
        response = client.post(step_url(attempt, q1), {"answer": str(foreign.pk)})
        assert response.status_code == 422
        assert not Answer.objects.exists()

    def test_a_question_not_on_the_path_is_refused(self, client, scorecard):
        attempt = start(client, scorecard)
        answer(client, attempt, "Do you advertise?", "No")  # skips "How do you tag links?"
        skipped = question(scorecard, "How do you tag links?")
        response = client.post(step_url(attempt, skipped), answer_data(skipped, "Always"))
        assert response.status_code == 409
        assert "not part of this quiz run" in response.content.decode()
        assert not Answer.objects.filter(question=skipped).exists()

    def test_a_question_of_another_quiz_is_refused(self, client, scorecard):
        attempt = start(client, scorecard)
        other = ScorecardFactory().questions.first()
        response = client.post(step_url(attempt, other), answer_data(other, "Yes"))
        assert response.status_code == 409
        assert not Answer.objects.exists()

    def test_answering_after_the_attempt_is_finished_is_refused(self, client, scorecard):
        attempt = run(client, scorecard)
        client.post(
            reverse("leads:details", args=[scorecard.slug, attempt.token]),
            {"email": "a@example.com"},
        )
        q1 = question(scorecard, "Do you advertise?")
        response = client.post(step_url(attempt, q1), answer_data(q1, "No"))
        assert response.status_code == 409
        page = response.content.decode()
        assert "finished and its answers are final" in page
        assert result_url(attempt) in page
        assert Answer.objects.get(attempt=attempt, question=q1).display == "Yes"

    def test_a_required_answer_cannot_be_left_out(self, client, scorecard):
        attempt = start(client, scorecard)
        response = client.post(step_url(attempt, question(scorecard, "Do you advertise?")), {})
        assert response.status_code == 422
        assert "Please answer this question to continue." in response.content.decode()
        assert not Answer.objects.exists()

    def test_a_rating_outside_the_scale_is_refused(self, client, scorecard):
        attempt = run(
            client,
            scorecard,
            steps=[("Do you advertise?", ("No",), {}), ("What do you track?", ("Forms",), {})],
        )
        rating = question(scorecard, "How confident are you?")
        response = client.post(step_url(attempt, rating), {"answer": "11"})
        assert response.status_code == 422
        assert "Choose a value from 0 to 10." in response.content.decode()
        assert not Answer.objects.filter(question=rating).exists()

    def test_a_text_answer_longer_than_its_limit_is_refused(self, client, scorecard):
        steps = [
            ("Do you advertise?", ("No",), {}),
            ("What do you track?", ("Forms",), {}),
            ("How confident are you?", (), {"rating": 3}),
        ]
        attempt = run(client, scorecard, steps=steps)
        text = question(scorecard, "Anything else?")
        shown = client.get(step_url(attempt, text)).content.decode()
        assert "Up to 1,000 characters." in shown and "maxlength" not in shown
        response = client.post(step_url(attempt, text), {"answer": "x" * 1001})
        assert response.status_code == 422
        assert (
            "Keep the answer to 1,000 characters or fewer (it has 1,001)."
            in response.content.decode()
        )
        assert not Answer.objects.filter(question=text).exists()

    def test_a_text_answer_is_measured_without_its_nul_bytes(self, client, scorecard):
        steps = [
            ("Do you advertise?", ("No",), {}),
            ("What do you track?", ("Forms",), {}),
            ("How confident are you?", (), {"rating": 3}),
        ]
        attempt = run(client, scorecard, steps=steps)
        text = question(scorecard, "Anything else?")
        response = client.post(step_url(attempt, text), {"answer": "x\x00" * 1000})
        assert response.status_code == 302
        assert Answer.objects.get(question=text).text == "x" * 1000

    def test_an_unknown_attempt_token_is_not_found(self, client, scorecard):
        q1 = question(scorecard, "Do you advertise?")
        url = reverse("quizzes:step", args=[scorecard.slug, "not-a-token", q1.pk])
        assert client.post(url, answer_data(q1, "Yes")).status_code == 404
        assert client.get(url).status_code == 404

    def test_a_post_without_a_csrf_token_gets_a_proper_403_page(self, scorecard):
        strict = Client(enforce_csrf_checks=True)
        response = strict.post(
            reverse("quizzes:start", args=[scorecard.slug]), {"start_key": str(uuid.uuid4())}
        )
        assert response.status_code == 403
        assert "This form has expired or could not be verified" in response.content.decode()
        assert not Attempt.objects.exists()


class TestOneValidatorPerRule:
    """The form parses; the service holds the answer's rules, so a rule is checked once."""

    def test_an_option_of_another_question_is_refused_by_the_service(self, client, scorecard):
        attempt = start(client, scorecard)
        first = question(scorecard, "Do you advertise?")
        other = question(scorecard, "What do you track?").choices.first()
        response = client.post(step_url(attempt, first), {"answer": str(other.pk)})
        assert response.status_code == 422
        assert "That answer is not one of this question&#x27;s options." in (
            response.content.decode()
        )
        assert not Answer.objects.exists()

    def test_a_required_question_left_empty_gets_the_services_message(self, client, scorecard):
        attempt = start(client, scorecard)
        first = question(scorecard, "Do you advertise?")
        response = client.post(step_url(attempt, first), {})
        assert response.status_code == 422
        assert "Please answer this question to continue." in response.content.decode()

    def test_the_form_leaves_the_rules_to_the_service(self, scorecard):
        from quizzes.forms import AnswerForm

        first = question(scorecard, "Do you advertise?")
        form = AnswerForm({"answer": "999999"}, question=first)
        assert form.is_valid()  # parsed: an id; whether it is an option is the service's word
        assert form.cleaned_answer() == {"choice_ids": [999999]}
        assert not AnswerForm({"answer": "²"}, question=first).is_valid()


class TestOneRoundTripPerStep:
    def test_an_htmx_answer_brings_the_next_card_and_its_url(self, client, scorecard):
        attempt = start(client, scorecard)
        first = question(scorecard, "Do you advertise?")
        yes = first.choices.get(label="Yes")
        response = client.post(
            step_url(attempt, first), {"answer": str(yes.pk)}, headers={"HX-Request": "true"}
        )
        assert response.status_code == 200  # no redirect, no second request
        following = Answer.objects.get(question=first).attempt
        pushed = response["HX-Push-Url"]
        assert pushed.startswith(f"/q/{scorecard.slug}/t/{following.token}/q/")
        assert pushed != step_url(attempt, first)
        assert 'id="quiz-card"' in response.content.decode()
        assert "<html" not in response.content.decode()  # the card alone
        # The pushed URL is the step itself: a refresh shows the same card.
        assert client.get(pushed).status_code == 200

    def test_the_next_card_comes_from_the_run_as_the_answer_left_it(self, client, scorecard):
        # The answers are read once, under the attempt's lock (which checks the post is
        # on the run's path); the next card is rendered from that, not from a second read.
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        attempt = start(client, scorecard)
        first = question(scorecard, "Do you advertise?")
        yes = first.choices.get(label="Yes")
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                step_url(attempt, first), {"answer": str(yes.pk)}, headers={"HX-Request": "true"}
            )
        assert response.status_code == 200
        assert "How do you tag links?" in response.content.decode()
        reads = [
            q["sql"]
            for q in captured.captured_queries
            if q["sql"].startswith('SELECT "quizzes_answer"."id"')
        ]
        assert len(reads) == 1

    def test_without_javascript_an_answer_still_redirects(self, client, scorecard):
        attempt = start(client, scorecard)
        first = question(scorecard, "Do you advertise?")
        yes = first.choices.get(label="Yes")
        response = client.post(step_url(attempt, first), {"answer": str(yes.pk)})
        assert response.status_code == 302
