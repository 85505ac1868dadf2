"""POST /t/events: accepted, duplicate or rejected with the reason, one by one."""

import json
import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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


def test_the_origin_is_required_and_without_a_cookie_the_page_says_whose_events(
    client, seen_question
):
    event = client_event(seen_question, time_visible_ms=1)
    # A frame with third-party cookies blocked has no visitor cookie: an event naming no
    # server event of this site is refused...
    stranger = {**event, "server_event_id": str(uuid.uuid4())}
    refused = post(Client(), [stranger])
    assert refused.status_code == 403 and "visitor" in refused.json()["detail"]
    assert post(Client(), body="{not json").status_code == 403
    assert not EventEnrichment.objects.exists()
    # ...one naming the server event its page rendered is that event's visitor's.
    assert post(Client(), [event]).json()["accepted"] == 1
    enrichment = EventEnrichment.objects.get()
    assert enrichment.event.visitor_id == seen_question.visitor_id
    EventEnrichment.objects.all().delete()
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


def test_a_batch_with_one_broken_event_stores_the_valid_one_and_logs_the_broken(
    client, seen_question
):
    good = client_event(seen_question, time_visible_ms=10)
    broken = client_event(seen_question, time_visible_ms=10) | {"time": "2026-02-30T10:00:00Z"}
    response = post(client, [good, broken])
    assert response.status_code == 200
    assert response.json()["results"] == [
        {"id": good["id"], "status": "accepted"},
        {
            "id": broken["id"],
            "status": "rejected",
            "reason": "“time” is not a date and time that exists (check the day of the month, "
            "the hour and the time zone offset)",
        },
    ]
    assert str(EventEnrichment.objects.get().client_event_id) == good["id"]
    assert RejectedEvent.objects.get().payload == broken


def _raw_event(server_event, **change) -> str:
    """One event as JSON text, with parts replaced by raw JSON (numbers JSON has no value for)."""
    event = client_event(server_event, time_visible_ms=10)
    text = json.dumps(event)
    for key, raw in change.items():
        text = text.replace(json.dumps(key) + ": " + json.dumps(event[key]), f'"{key}": {raw}')
    return text


@pytest.mark.parametrize(
    ("raw_change", "reason"),
    [
        ({"properties": '{"time_visible_ms": 1e400}'}, "the number 1e400 is too large to store"),
        ({"properties": '{"time_visible_ms": NaN}'}, "the number NaN is too large to store"),
        ({"properties": '{"time_visible_ms": -Infinity}'}, "the number -Infinity is too large"),
        ({"properties": '{"time_visible_ms": 99999999999999999999}'}, "“time_visible_ms” is out"),
        ({"time": '"2026-02-30T10:00:00Z"'}, "not a date and time that exists"),
        ({"time": '"2026-03-01T25:00:00Z"'}, "not a date and time that exists"),
        ({"time": '"2026-03-01T10:00:00+25:00"'}, "not a date and time that exists"),
        ({"id": '"\\u0661\\u0662"'}, "“id” must be a UUID"),
        ({"properties": '{"deep": ' + "[" * 40 + "]" * 40 + "}"}, "nested more than 16 levels"),
        (
            {"properties": '{"\\ud800colour\\u0000": "r\\udfffed\\u0000"}'},
            "unknown property colour",
        ),
        ({"name": '"\\u0000\\ud800' + "x" * 2000 + '"'}, "is not an event of the tracking plan"),
        ({"properties": json.dumps({"k" * 3000: 1})}, "unknown property kkkk"),
    ],
)
def test_hostile_values_reject_only_their_event_with_a_reason_a_person_reads(
    client, seen_question, raw_change, reason
):
    good = client_event(seen_question, time_visible_ms=10)
    body = f'{{"events": [{json.dumps(good)}, {_raw_event(seen_question, **raw_change)}]}}'
    response = post(client, body=body)
    assert response.status_code == 200
    accepted, rejected = response.json()["results"]
    assert accepted["status"] == "accepted"
    assert rejected["status"] == "rejected" and reason in rejected["reason"], rejected
    kept = RejectedEvent.objects.get()
    assert kept.reason == rejected["reason"] and len(kept.reason) <= 500
    assert "\x00" not in json.dumps(kept.payload, ensure_ascii=False)
    json.dumps(kept.payload, ensure_ascii=False).encode()  # no lone surrogate was stored
    assert EventEnrichment.objects.count() == 1


def test_a_nul_byte_in_a_name_is_removed_before_the_name_is_checked(client, seen_question):
    event = client_event(seen_question, time_visible_ms=10) | {"name": "question_\x00viewed"}
    response = post(client, [event])
    assert response.json()["results"] == [{"id": event["id"], "status": "accepted"}]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ('{"events": ' + "[" * 5000 + "]" * 5000 + "}", "nested too deeply"),
        ("\x00{not json\ud800", "not valid JSON"),
        ('{"events": {"a": 1}}', "non-empty list “events”"),
        ('{"events": [1e400]}', None),  # rejected as an event, below
    ],
)
def test_a_body_that_cannot_be_read_is_refused_with_the_reason_and_kept(
    client, seen_question, body, detail
):
    response = post(client, body=body.encode("utf-8", "surrogatepass"))
    assert response.status_code == 400
    if detail:
        assert detail in response.json()["detail"]
    kept = RejectedEvent.objects.get()
    assert "\x00" not in kept.raw + kept.reason
    assert not EventEnrichment.objects.exists()


@pytest.mark.parametrize("origin", ["http://[", "http://[::1", "\x00"])
def test_an_origin_that_is_not_a_url_is_refused(client, seen_question, origin):
    response = post(client, [client_event(seen_question, time_visible_ms=1)], origin=origin)
    assert response.status_code == 403


def test_a_content_length_that_is_not_a_number_is_refused(client, seen_question):
    body = json.dumps({"events": [client_event(seen_question, time_visible_ms=1)]})
    response = client.post(
        URL, body, content_type="application/json", headers={"Origin": ORIGIN}, CONTENT_LENGTH="x"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "The Content-Length header is not a number of bytes."


# Text as hostile as JSON can carry: NUL, lone surrogates, text that grows when
# lowercased, digits of other scripts, and a lot of it.
HOSTILE_TEXT = st.one_of(
    st.text(st.characters(exclude_categories=())),
    st.sampled_from(["\x00", "\ud800", "\udfff", "İ" * 60, "١٢٣", "x" * 5000, "2026-02-30"]),
)
HOSTILE_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()  # with inf and NaN, which json.dumps writes as Infinity and NaN
    | HOSTILE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(HOSTILE_TEXT, inner, max_size=4),
    max_leaves=12,
)
HOSTILE_TIME = st.one_of(
    HOSTILE_TEXT,
    st.sampled_from(
        [
            "2026-02-30T10:00:00Z",
            "2026-03-01T25:00:00Z",
            "2026-03-01T10:00:00+25:00",
            "9999-12-31T23:59:59-23:59",
            "0001-01-01T00:00:00+01:00",
            "now",
        ]
    ),
)


@st.composite
def hostile_events(draw, server_event):
    """An event whose fields, any of them, may be replaced by hostile values."""
    event = client_event(server_event, time_visible_ms=10)
    for key in draw(st.sets(st.sampled_from([*event, "extra"]))):
        strategy = HOSTILE_TIME if key == "time" else HOSTILE_JSON
        event[key] = draw(strategy)
    return event


@st.composite
def hostile_bodies(draw, server_event):
    kind = draw(st.sampled_from(["events", "json", "text", "deep"]))
    if kind == "events":
        events = draw(st.lists(hostile_events(server_event), min_size=1, max_size=5))
        return json.dumps({"events": events}).encode()
    if kind == "json":
        return json.dumps({"events": draw(HOSTILE_JSON)}).encode()
    if kind == "deep":
        depth = draw(st.integers(min_value=10, max_value=3000))
        return ('{"events": [' + '{"a": [' * depth + "]}" * depth + "]}").encode()
    return draw(HOSTILE_TEXT).encode("utf-8", "surrogatepass")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_hostile_json_and_text_never_get_a_server_error(client, seen_question, data):
    cache.clear()  # no rate limit: every example reaches the endpoint
    body = data.draw(hostile_bodies(seen_question))
    response = post(client, body=body)
    assert response.status_code < 500, body[:300]
    answer = response.json()
    if response.status_code in (200, 400) and "results" in answer:
        assert all(r["status"] in {"accepted", "duplicate", "rejected"} for r in answer["results"])
        assert all(r.get("reason") for r in answer["results"] if r["status"] == "rejected")
    # Nothing half-written or refused: the connection (and its transaction) still works.
    assert ConversionEvent.objects.filter(name="question_viewed").count() == 1


def test_an_event_the_database_refuses_loses_only_itself_and_what_its_listeners_wrote(
    client, scorecard
):
    attempt = run(client, scorecard)
    submit_lead(client, attempt)
    client.get(result_url(attempt))
    result = ConversionEvent.objects.get(name="result_viewed")
    taken = EventEnrichment.objects.create(
        client_event_id=uuid.uuid4(), event=result, occurred_at=timezone.now()
    )

    def refuse_one(sender, *, event, **kwargs):
        RejectedEvent.objects.create(reason=f"listener saw {event.event_id}")
        if event.properties["url"] == "https://example.com/refused":
            # A unique key the database refuses at once, as a listener's bug would.
            EventEnrichment.objects.create(
                client_event_id=taken.client_event_id, event=event, occurred_at=timezone.now()
            )

    clicks = [
        client_event(result, "cta_clicked", url="https://example.com/book"),
        client_event(result, "cta_clicked", url="https://example.com/refused"),
        client_event(result, "cta_clicked", url="https://example.com/call"),
    ]
    from tracking.signals import event_recorded

    event_recorded.connect(refuse_one, dispatch_uid="test.refuse_one")
    try:
        response = post(client, clicks)
    finally:
        event_recorded.disconnect(dispatch_uid="test.refuse_one")
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["accepted", "rejected", "accepted"]
    assert response.json()["results"][1]["reason"] == "the database could not store this event"
    stored = ConversionEvent.objects.filter(name="cta_clicked")
    assert {e.properties["url"] for e in stored} == {
        "https://example.com/book",
        "https://example.com/call",
    }
    seen = set(RejectedEvent.objects.values_list("reason", flat=True))
    assert seen == {f"listener saw {e.event_id}" for e in stored} | {
        "the database could not store this event"
    }
    assert RejectedEvent.objects.get(reason__startswith="the database").payload == clicks[1]
