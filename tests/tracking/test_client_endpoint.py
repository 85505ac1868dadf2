"""POST /t/events: accepted, duplicate or rejected with the reason, one by one."""

import json
import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from automations.models import Delivery
from tests.automations.factories import ActionFactory, RuleFactory
from tests.visitor import question, result_url, run, start, step_url, submit_lead
from tracking.models import ConversionEvent, EventEnrichment, RejectedEvent

pytestmark = pytest.mark.django_db
URL = "/t/events"
ORIGIN = "http://testserver"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def post(client, events=None, *, body=None, origin=ORIGIN, **headers):
    data = body if body is not None else json.dumps({"events": events})
    if origin:
        headers["Origin"] = origin
    return client.post(URL, data, content_type="application/json", headers=headers)


def client_event(server_event, name=None, **properties):
    return {
        "id": str(uuid.uuid4()),
        "name": name or server_event.name,
        "time": timezone.now().isoformat(),
        "server_event_id": str(server_event.event_id),
        "properties": properties,
    }


@pytest.fixture
def seen_question(client, scorecard):
    attempt = start(client, scorecard)
    client.get(step_url(attempt, question(scorecard, "Do you advertise?")))
    return ConversionEvent.objects.get(name="question_viewed")


def test_time_on_a_question_enriches_the_server_event_and_counts_once(client, seen_question):
    event = client_event(seen_question, time_visible_ms=5300)
    response = post(client, [event])
    assert response.status_code == 200
    assert response.json() == {
        "accepted": 1,
        "duplicates": 0,
        "rejected": 0,
        "results": [{"id": event["id"], "status": "accepted"}],
    }
    assert ConversionEvent.objects.filter(name="question_viewed").count() == 1
    assert EventEnrichment.objects.get().properties == {"time_visible_ms": 5300}
    again = post(client, [event])
    assert again.json()["results"] == [{"id": event["id"], "status": "duplicate"}]
    assert EventEnrichment.objects.count() == 1


def test_a_cta_click_is_its_own_client_event_tied_to_the_result(client, scorecard):
    attempt = run(client, scorecard)
    submit_lead(client, attempt)
    client.get(result_url(attempt))
    result = ConversionEvent.objects.get(name="result_viewed")
    click = client_event(result, "cta_clicked", tier="Hot", url="https://example.com/book")
    assert post(client, [click]).status_code == 200
    stored = ConversionEvent.objects.get(name="cta_clicked")
    assert (stored.source, stored.attempt, stored.lead) == ("client", attempt, attempt.lead)
    assert str(stored.event_id) == click["id"]


def test_a_cta_click_that_matches_a_rule_writes_its_delivery_once(client, scorecard):
    rule = RuleFactory(trigger="cta_clicked")
    ActionFactory(rule=rule, kind="webhook", webhook_url="https://example.com/hook")
    attempt = run(client, scorecard)
    submit_lead(client, attempt)
    client.get(result_url(attempt))
    result = ConversionEvent.objects.get(name="result_viewed")
    click = client_event(result, "cta_clicked", tier="Hot", url="https://example.com/book")
    response = post(client, [click])
    assert response.status_code == 200
    assert response.json()["results"] == [{"id": click["id"], "status": "accepted"}]
    delivery = Delivery.objects.get()
    assert delivery.event == ConversionEvent.objects.get(name="cta_clicked")
    assert str(delivery.event.event_id) == click["id"] and delivery.lead == attempt.lead
    again = post(client, [click])
    assert again.json()["results"] == [{"id": click["id"], "status": "duplicate"}]
    assert ConversionEvent.objects.filter(name="cta_clicked").count() == 1
    assert Delivery.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"name": "signup"}, "“signup” is not an event of the tracking plan"),
        ({"name": "question_answered"}, "is recorded by the server"),
        ({"time": "yesterday"}, "ISO 8601"),
        ({"time": timedelta(minutes=6)}, "5 minutes in the future"),
        ({"time": -timedelta(days=8)}, "more than 7 days old"),
        ({"id": "not-a-uuid"}, "“id” must be a UUID"),
        ({"server_event_id": str(uuid.uuid4())}, "not an event of this visitor"),
        ({"properties": {"time_visible_ms": "long"}}, "must be integer"),
        ({"properties": {"colour": "red"}}, "unknown property colour"),
        ({"extra": 1}, "unknown field(s): extra"),
    ],
)
def test_a_bad_event_is_rejected_with_its_reason_and_kept(client, seen_question, change, reason):
    if isinstance(change.get("time"), timedelta):  # relative to when the test runs
        change = {"time": (timezone.now() + change["time"]).isoformat()}
    event = client_event(seen_question, time_visible_ms=10) | change
    response = post(client, [event])
    assert response.status_code == 400
    result = response.json()["results"][0]
    assert result["status"] == "rejected" and reason in result["reason"]
    kept = RejectedEvent.objects.get()
    assert reason in kept.reason and kept.payload == event
    assert not EventEnrichment.objects.exists()


def test_a_mixed_batch_is_answered_event_by_event(client, seen_question):
    good = client_event(seen_question, time_visible_ms=10)
    bad = client_event(seen_question, "quiz_started")
    response = post(client, [good, bad])
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["accepted", "rejected"]


def test_an_event_of_another_visitor_is_rejected(client, seen_question):
    other = Client()
    other.get(seen_question.quiz.get_absolute_url())  # gets its own visitor cookie
    response = post(other, [client_event(seen_question, time_visible_ms=1)])
    assert response.status_code == 400
    assert "not an event of this visitor" in response.json()["results"][0]["reason"]


def test_the_visitor_cookie_and_the_origin_are_required(client, seen_question):
    event = client_event(seen_question, time_visible_ms=1)
    assert post(Client(), [event]).status_code == 403
    foreign = post(client, [event], origin="https://evil.example")
    assert foreign.status_code == 403
    assert "own pages" in foreign.json()["detail"]
    assert not EventEnrichment.objects.exists()


def test_malformed_and_oversized_bodies_are_refused(client, seen_question, settings):
    broken = post(client, body="{not json")
    assert broken.status_code == 400 and broken.json()["detail"] == "The body is not valid JSON."
    assert RejectedEvent.objects.get().raw == "{not json"
    too_many = post(client, [client_event(seen_question, time_visible_ms=1)] * 51)
    assert too_many.status_code == 400
    assert "at most 50 events" in too_many.json()["detail"]
    settings.TRACKING_MAX_BODY = 200
    huge = post(client, [client_event(seen_question, time_visible_ms=1)] * 5)
    assert huge.status_code == 413


def test_the_rate_is_limited_per_visitor(client, seen_question, monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"tracking": "3/min"})
    codes = [
        post(client, [client_event(seen_question, time_visible_ms=1)]).status_code for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    other = Client()
    other.get(seen_question.quiz.get_absolute_url())
    assert post(other, [client_event(seen_question, time_visible_ms=1)]).status_code == 400
