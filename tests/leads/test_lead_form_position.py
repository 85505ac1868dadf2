"""Where the lead form goes: after the questions (the default), before them, or not at
all; a lead who leaves mid-quiz is recorded as `quiz_abandoned` once, and rules act on it."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from automations.delivery import delivery_run
from automations.models import Delivery
from leads.models import Lead
from quizzes.models import Attempt, Quiz
from quizzes.services import attempts_abandon
from tests.automations.factories import ActionFactory, ConditionFactory, RuleFactory
from tests.quizzes.factories import ScorecardFactory
from tests.visitor import HOT_RUN, answer, details_url, result_url, start, step_url, submit_lead
from tracking.models import ConversionEvent
from tracking.reconcile import reconcile

pytestmark = pytest.mark.django_db


def _names(attempt) -> list[str]:
    return list(
        ConversionEvent.objects.filter(attempt=attempt)
        .exclude(name__in=["question_viewed", "quiz_viewed"])
        .order_by("occurred_at", "id")
        .values_list("name", flat=True)
    )


def _answer_all(client, attempt, steps=HOT_RUN):
    for text, labels, kwargs in steps:
        response = answer(client, attempt, text, *labels, **kwargs)
        assert response.status_code == 302, response.content.decode()[:500]
    return response


@pytest.fixture
def lead_first(db):
    return ScorecardFactory(lead_form_position=Quiz.LeadFormPosition.BEFORE)


@pytest.fixture
def anonymous(db):
    return ScorecardFactory(lead_form_position=Quiz.LeadFormPosition.NONE)


class TestFormFirst:
    def test_start_leads_to_the_form_and_the_questions_wait_for_it(self, client, lead_first):
        response = client.post(
            reverse("quizzes:start", args=[lead_first.slug]), {"start_key": str(uuid.uuid4())}
        )
        attempt = Attempt.objects.get()
        assert response["Location"] == details_url(attempt)
        form = client.get(details_url(attempt)).content.decode()
        assert "Before the questions" in form and "Start the questions" in form
        first = lead_first.ordered_questions()[0]
        assert client.get(step_url(attempt, first))["Location"] == details_url(attempt)
        assert answer(client, attempt, "Do you advertise?", "Yes").status_code == 409
        assert not attempt.answers.exists()

    def test_the_lead_comes_first_unscored_and_is_scored_at_the_end(self, client, lead_first):
        attempt = start(client, lead_first)
        sent = submit_lead(client, attempt)
        first = lead_first.ordered_questions()[0]
        assert sent["Location"] == step_url(attempt, first)
        lead = Lead.objects.get()
        assert (lead.tier_name, lead.score_percent) == ("", 0)
        submitted = ConversionEvent.objects.get(name="lead_submitted")
        assert submitted.properties == {
            "lead_id": lead.pk,
            "scored": False,
            "spam": False,
            "language": "en",
        }

        last = _answer_all(client, attempt)
        assert last["Location"] == result_url(attempt)  # no second form
        page = client.get(result_url(attempt)).content.decode()
        assert "Your score: 95%" in page
        lead.refresh_from_db()
        assert (lead.tier_name, lead.score_percent, lead.score_max) == ("Hot", 95, 40)
        assert lead.answers[0]["question"] == "Do you advertise?"
        scored = ConversionEvent.objects.get(name="lead_scored")
        assert scored.lead == lead
        assert scored.properties["percent"] == 95 and scored.properties["top_tier"] is True
        client.get(result_url(attempt))  # again: nothing twice
        assert _names(attempt) == [
            "quiz_started",
            "lead_submitted",
            *["question_answered"] * 5,
            "quiz_completed",
            "lead_scored",
            "result_viewed",
        ]
        # Finished: the answers are final now.
        assert answer(client, attempt, "Do you advertise?", "No").status_code == 409
        assert all(check.ok for check in reconcile())

    def test_the_result_before_the_last_answer_sends_the_visitor_back(self, client, lead_first):
        attempt = start(client, lead_first)
        submit_lead(client, attempt)
        answer(client, attempt, "Do you advertise?", "Yes")
        second = lead_first.ordered_questions()[1]
        assert client.get(result_url(attempt))["Location"] == step_url(attempt, second)
        assert client.get(details_url(attempt))["Location"] == step_url(attempt, second)
        assert not ConversionEvent.objects.filter(name="lead_scored").exists()


class TestNoForm:
    def test_an_anonymous_result_without_a_lead(self, client, anonymous):
        attempt = start(client, anonymous)
        assert client.get(details_url(attempt))["Location"] == step_url(
            attempt, anonymous.ordered_questions()[0]
        )
        last = _answer_all(client, attempt)
        assert last["Location"] == result_url(attempt)
        page = client.get(result_url(attempt))
        assert page.status_code == 200
        text = page.content.decode()
        assert "Your score: 95%" in text and "Hot headline" in text
        assert not Lead.objects.exists()
        viewed = ConversionEvent.objects.get(name="result_viewed")
        assert viewed.lead is None and viewed.properties == {
            "percent": 95,
            "tier": "Hot",
            "language": "en",
        }
        assert client.get(details_url(attempt))["Location"] == result_url(attempt)
        attempt.refresh_from_db()
        assert attempt.is_finished
        assert answer(client, attempt, "Do you advertise?", "No").status_code == 409
        assert all(check.ok for check in reconcile())


def _silence(attempt, minutes: int) -> None:
    Attempt.objects.filter(pk=attempt.pk).update(
        active_at=timezone.now() - timedelta(minutes=minutes)
    )


class TestAbandoned:
    def test_a_lead_who_leaves_mid_quiz_is_recorded_once_after_the_silence(
        self, client, lead_first
    ):
        attempt = start(client, lead_first)
        submit_lead(client, attempt)
        answer(client, attempt, "Do you advertise?", "Yes")
        _silence(attempt, 29)
        assert attempts_abandon() == 0  # not silent long enough
        _silence(attempt, 31)
        assert attempts_abandon() == 1
        assert attempts_abandon() == 0  # once per attempt
        event = ConversionEvent.objects.get(name="quiz_abandoned")
        second = lead_first.ordered_questions()[1]
        assert event.lead == attempt.lead
        assert event.properties == {
            "lead_id": attempt.lead.pk,
            "questions_answered": 1,
            "question_count": 5,
            "last_question_id": second.pk,
            "silent_minutes": 31,
            "resume_url": details_url(attempt),
            "language": "en",
        }
        # The link takes the lead back to where they were; finishing is still possible.
        assert client.get(event.properties["resume_url"])["Location"] == step_url(attempt, second)
        _answer_all(client, attempt, HOT_RUN[1:])
        client.get(result_url(attempt))
        assert Lead.objects.get().tier_name == "Hot"
        assert ConversionEvent.objects.filter(name="quiz_abandoned").count() == 1

    def test_the_scheduler_checks_every_minute_with_the_silence_as_a_setting(
        self, client, lead_first, settings
    ):
        from django.conf import settings as live

        from tracking.tasks import record_abandoned_runs

        beat = live.CELERY_BEAT_SCHEDULE["record-abandoned-runs"]
        assert beat == {"task": "tracking.tasks.record_abandoned_runs", "schedule": 60.0}
        settings.QUIZ_ABANDON_MINUTES = 5
        attempt = start(client, lead_first)
        submit_lead(client, attempt)
        _silence(attempt, 6)
        assert record_abandoned_runs() == 1
        assert record_abandoned_runs() == 0

    def test_only_lead_first_runs_with_a_lead_are_abandoned(self, client, scorecard, lead_first):
        after = start(client, scorecard)  # the form after: no lead to remind
        answer(client, after, "Do you advertise?", "Yes")
        no_form_yet = start(client, lead_first)  # left on the form itself: no e-mail
        finished = start(client, lead_first)
        submit_lead(client, finished)
        _answer_all(client, finished)
        client.get(result_url(finished))
        for attempt in (after, no_form_yet, finished):
            _silence(attempt, 120)
        assert attempts_abandon() == 0

    def test_a_rule_on_quiz_abandoned_sends_one_reminder(self, client, lead_first):
        User.objects.create_user("sam", email="sam@example.com").groups.add(
            Group.objects.get(name="Sales")
        )
        rule = RuleFactory(name="Remind sales of leads who left", trigger="quiz_abandoned")
        ConditionFactory(rule=rule, property="questions_answered", operator="<", value="5")
        ActionFactory(rule=rule, kind="email")
        attempt = start(client, lead_first)
        submit_lead(client, attempt)
        answer(client, attempt, "Do you advertise?", "Yes")
        _silence(attempt, 45)
        attempts_abandon()
        attempts_abandon()
        delivery = Delivery.objects.get()
        assert delivery.lead == attempt.lead
        assert delivery_run(delivery.pk) == "delivered"
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == ["sam@example.com"]
        assert f"/sales/leads/{attempt.lead.pk}/" in mail.outbox[0].body


class TestReports:
    def test_the_funnel_puts_a_lead_first_quiz_s_leads_after_started_and_says_so(
        self, client, lead_first
    ):
        from django.test import Client

        from tracking import reports

        for finish in (True, False, False):
            visitor = Client()
            attempt = start(visitor, lead_first)
            submit_lead(visitor, attempt)
            answer(visitor, attempt, "Do you advertise?", "Yes")
            if finish:
                _answer_all(visitor, attempt, HOT_RUN[1:])
                visitor.get(result_url(attempt))
        start(Client(), lead_first)  # left on the form
        now = timezone.now()
        funnel = reports.funnel(lead_first, now - timedelta(days=1), now + timedelta(days=1))
        steps = [(s.key, s.count, s.base, s.base_words) for s in funnel]
        assert steps[:2] == [
            ("quiz_started", 4, None, ""),
            ("lead_submitted", 3, 4, "attempts started"),
        ]
        assert steps[-1][:3] == ("quiz_completed", 1, 4)
        assert funnel.left == 3
        sources = reports.sources(lead_first, now - timedelta(days=1), now + timedelta(days=1))
        assert sources[0].tiers == {"Hot": 1, reports.NOT_SCORED: 2}
        assert sources[0].average_percent == 95.0  # over the scored lead only

        marketer = User.objects.create_user("mia", password="pw-mia-123456")
        marketer.groups.add(Group.objects.get(name="Marketers"))
        client.force_login(marketer)
        page = client.get("/dashboard/", {"quiz": lead_first.pk}).content.decode()
        assert 'data-note="lead-first"' in page
        assert "asks for the e-mail <strong>before</strong> the questions" in page
        assert "after 30 minutes of silence" in page

    def test_an_anonymous_quiz_s_dashboard_says_why_it_has_no_leads(self, client, anonymous):
        marketer = User.objects.create_user("mia", password="pw-mia-123456")
        marketer.groups.add(Group.objects.get(name="Marketers"))
        client.force_login(marketer)
        page = client.get("/dashboard/", {"quiz": anonymous.pk}).content.decode()
        assert 'data-note="anonymous"' in page


def test_sales_see_a_lead_first_lead_at_once_marked_not_scored_yet(client, lead_first):
    attempt = start(client, lead_first)
    submit_lead(client, attempt)
    seller = User.objects.create_user("sam", password="pw-sam-123456")
    seller.groups.add(Group.objects.get(name="Sales"))
    staff = type(client)()
    staff.force_login(seller)
    inbox = staff.get(reverse("sales:inbox")).content.decode()
    assert "ada@example.com" in inbox and "Not scored yet" in inbox
    page = staff.get(reverse("sales:lead", args=[attempt.lead.pk])).content.decode()
    assert "not scored yet" in page
