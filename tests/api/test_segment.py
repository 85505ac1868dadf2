"""Segment's HTTP Tracking API, spoken with raw requests: every limit and rejection."""

import base64
import gzip
import json
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.api.factories import make_key
from tests.concurrency import at_once, on_postgres
from tracking.demo import demo_custom_events_create
from tracking.models import CustomEvent, CustomEventProperty, ExternalEvent, Identity, RejectedEvent
from tracking.segment import MAX_BODY_BYTES, MAX_EVENT_BYTES

pytestmark = pytest.mark.django_db


@pytest.fixture
def declared(db):
    demo = CustomEvent.objects.create(
        name="demo_booked", description="A demo was booked.", timeline_text="Booked a demo"
    )
    deal = CustomEvent.objects.create(name="deal_won", description="The deal was won.")
    CustomEventProperty.objects.create(event=deal, name="amount", type="number", required=True)
    CustomEventProperty.objects.create(event=deal, name="plan", type="string")
    return demo, deal


@pytest.fixture
def write_key(db):
    return make_key(name="CRM", scopes=["events:write"])


def auth(raw: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{raw}:".encode()).decode()}


def now_iso(delta: timedelta = timedelta()) -> str:
    return (timezone.now() + delta).isoformat()


def track(event="demo_booked", **fields) -> dict:
    return {
        "type": "track",
        "event": event,
        "userId": "ada@example.com",
        "messageId": str(uuid.uuid4()),
        "timestamp": now_iso(),
        **fields,
    }


def post(path: str, body, key=None, *, content_type="application/json", headers=None):
    data = body if isinstance(body, bytes) else json.dumps(body)
    headers = {**(auth(key) if key else {}), **(headers or {})}
    return Client().post(path, data, content_type=content_type, headers=headers)


def test_a_track_call_is_stored_once_and_answered_as_segment_does(declared, write_key):
    key, raw = write_key
    call = track()
    response = post("/v1/track", call, raw)
    assert response.status_code == 200
    assert response.json()["success"] is True
    assert response.json()["results"] == [{"id": call["messageId"], "status": "accepted"}]
    event = ExternalEvent.objects.get()
    assert (event.type, event.name, event.user_id, event.key_id) == (
        "track",
        "demo_booked",
        "ada@example.com",
        key.pk,
    )
    again = post("/v1/track", call, raw)
    assert again.status_code == 200
    assert again.json()["results"][0]["status"] == "duplicate"
    assert ExternalEvent.objects.count() == 1


def test_the_same_message_id_from_another_source_is_another_event(declared, write_key):
    _, raw = write_key
    _, other = make_key(name="Booking tool", scopes=["events:write"])
    call = track()
    assert post("/v1/track", call, raw).status_code == 200
    assert post("/v1/track", call, other).json()["accepted"] == 1
    assert ExternalEvent.objects.count() == 2


def test_a_batch_answers_each_call_and_a_bad_one_takes_nothing_with_it(declared, write_key):
    _, raw = write_key
    good = track()
    unknown = track("newsletter_opened")
    bad_property = track("deal_won", properties={"amount": "lots"})
    missing = track("deal_won", properties={"plan": "pro"})
    extra = track("demo_booked", properties={"colour": "red"})
    won = track("deal_won", properties={"amount": 1200.5, "plan": "pro"})
    body = {"batch": [good, unknown, bad_property, missing, extra, won], "sentAt": now_iso()}
    response = post("/v1/batch", body, raw)
    assert response.status_code == 200
    payload = response.json()
    assert (payload["accepted"], payload["rejected"]) == (2, 4)
    results = payload["results"]
    assert [r["status"] for r in results] == [
        "accepted",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "accepted",
    ]
    assert "“newsletter_opened” is not declared in the tracking plan" in results[1]["reason"]
    assert "“amount” must be number" in results[2]["reason"]
    assert "required property “amount” is missing" in results[3]["reason"]
    assert "unknown property colour" in results[4]["reason"]
    assert ExternalEvent.objects.count() == 2
    # Never silently dropped: each refusal is in the rejected-events log with its call.
    kept = RejectedEvent.objects.order_by("pk")
    assert [r.payload["messageId"] for r in kept] == [
        c["messageId"] for c in (unknown, bad_property, missing, extra)
    ]
    assert all(r.key_id == write_key[0].pk for r in kept)


def test_a_batch_sent_twice_stores_each_call_once(declared, write_key):
    _, raw = write_key
    body = {"batch": [track(), track(), track("deal_won", properties={"amount": 1})]}
    assert post("/v1/batch", body, raw).json()["accepted"] == 3
    retry = post("/v1/batch", body, raw).json()
    assert (retry["accepted"], retry["duplicates"]) == (0, 3)
    assert ExternalEvent.objects.count() == 3


def test_a_built_in_event_cannot_be_sent_from_outside(declared, write_key):
    response = post("/v1/track", track("lead_submitted"), write_key[1])
    assert response.status_code == 400
    assert response.json()["code"] == "rejected"
    assert "built-in event" in response.json()["message"]
    assert not ExternalEvent.objects.exists()


@pytest.mark.parametrize(
    ("headers", "status", "words"),
    [
        ({}, 401, "No write key"),
        ({"Authorization": "Basic !!!"}, 401, "not valid Basic auth"),
        ({"Authorization": "Bearer qf_nothing"}, 401, "No write key"),
        (auth("qf_12345678notakey"), 401, "Unknown API key"),
    ],
)
def test_no_valid_write_key_is_a_401_with_the_reason(declared, headers, status, words):
    response = post("/v1/track", track(), headers=headers)
    assert response.status_code == status
    assert words in response.json()["message"]
    assert not ExternalEvent.objects.exists() and not RejectedEvent.objects.exists()


def test_a_key_without_events_write_is_a_403(declared):
    _, raw = make_key(scopes=["leads:read"])
    response = post("/v1/batch", {"batch": [track()]}, raw)
    assert response.status_code == 403
    assert "events:write" in response.json()["message"]
    assert not ExternalEvent.objects.exists()


def test_the_write_key_may_come_in_the_body(declared, write_key):
    body = {"batch": [track()], "writeKey": write_key[1]}
    assert post("/v1/batch", body).status_code == 200
    assert ExternalEvent.objects.count() == 1


def test_json_sent_as_text_plain_is_read(declared, write_key):
    response = post("/v1/track", track(), write_key[1], content_type="text/plain")
    assert response.status_code == 200


def test_a_gzipped_body_is_read(declared, write_key):
    body = gzip.compress(json.dumps({"batch": [track(), track()]}).encode())
    response = post("/v1/batch", body, write_key[1], headers={"Content-Encoding": "gzip"})
    assert response.json()["accepted"] == 2


def test_a_gzip_bomb_is_refused_without_unpacking_it(declared, write_key):
    bomb = gzip.compress(b'{"batch": [' + b" " * (50 * 1024 * 1024) + b"]}")
    assert len(bomb) < MAX_BODY_BYTES
    response = post("/v1/batch", bomb, write_key[1], headers={"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert "unzipped" in response.json()["message"]
    assert not ExternalEvent.objects.exists()


def test_a_body_that_is_not_gzip_says_so(declared, write_key):
    response = post("/v1/batch", b"plain", write_key[1], headers={"Content-Encoding": "gzip"})
    assert response.status_code == 400
    assert response.json()["message"] == "The body is not valid gzip."


def test_a_batch_over_500_kb_is_a_413(declared, write_key):
    calls = [track(properties={}, context={"pad": "x" * 20_000}) for _ in range(30)]
    response = post("/v1/batch", {"batch": calls}, write_key[1])
    assert response.status_code == 413
    assert "500 KB" in response.json()["message"]
    assert not ExternalEvent.objects.exists()


def test_a_call_over_32_kb_is_rejected_alone(declared, write_key):
    big = track(context={"pad": "x" * MAX_EVENT_BYTES})
    response = post("/v1/batch", {"batch": [big, track()]}, write_key[1])
    payload = response.json()
    assert response.status_code == 200
    assert payload["results"][0]["status"] == "rejected"
    assert "over the 32 KB limit" in payload["results"][0]["reason"]
    assert payload["results"][1]["status"] == "accepted"
    kept = RejectedEvent.objects.get()
    assert kept.payload is None and kept.raw.startswith("{")  # its start, not all of it
    assert ExternalEvent.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b"\xff\xfe\x00garbage", b"[" * 100_000, b""],
)
def test_a_body_that_is_not_a_json_object_is_a_400_and_kept(declared, write_key, body):
    response = post("/v1/batch", body, write_key[1])
    assert response.status_code == 400
    assert response.json()["success"] is False and response.json()["message"]
    assert not ExternalEvent.objects.exists()
    assert RejectedEvent.objects.get().key_id == write_key[0].pk


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (track(messageId=None), "“messageId” is required"),
        (track(userId=None), "needs a “userId” or an “anonymousId”"),
        (track(event=""), "“event” is required"),
        (track(properties=[1]), "“properties” must be an object"),
        (track(timestamp="yesterday"), "“timestamp” must be an ISO 8601"),
        (track(timestamp="2026-02-30T10:00:00Z"), "not a date and time that exists"),
        (track(timestamp="2026-11-30T10:00:00"), "with a time zone"),
        (track(userId={"a": 1}), "“userId” must be a string"),
        (track(userId="x" * 300), "longer than 255"),
        (track(type="alias"), "takes “track” calls"),
        (track(properties={"\x00": "\ud800"}), "unknown property"),
        ("just a string", "must be a JSON object"),
    ],
)
def test_a_bad_call_is_rejected_with_the_reason_and_nothing_stored(
    declared, write_key, call, words
):
    response = post("/v1/track", call, write_key[1])
    assert response.status_code == 400, response.content
    assert words in response.json()["message"]
    assert not ExternalEvent.objects.exists()
    assert RejectedEvent.objects.count() == 1


def test_hostile_bytes_in_a_batch_never_reach_the_database_raw(declared, write_key):
    calls = [
        track(userId="ada\x00@example.com"),
        {**track(), "context": {"k\ud800": "v\x00", "n": 1e400}},
        track(context={"nested": json.loads("[" * 20 + "1" + "]" * 20)}),
    ]
    response = post("/v1/batch", {"batch": calls}, write_key[1])
    assert response.status_code in (200, 400)
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses[0] == "accepted"  # NUL removed, then checked
    assert ExternalEvent.objects.get().user_id == "ada@example.com"
    assert statuses[1:] == ["rejected", "rejected"]


@pytest.mark.parametrize(
    ("timestamp", "words"),
    [
        (timedelta(days=2), "more than a day ahead"),
        (timedelta(days=-31), "more than 30 days old"),
    ],
)
def test_times_too_far_ahead_or_too_old_are_rejected(declared, write_key, timestamp, words):
    response = post("/v1/track", track(timestamp=now_iso(timestamp)), write_key[1])
    assert response.status_code == 400
    assert words in response.json()["message"]
    assert not ExternalEvent.objects.exists()


def test_the_window_is_a_setting(declared, write_key, settings):
    settings.TRACKING_INGEST_MAX_AGE_DAYS = 365
    response = post(
        "/v1/import", {"batch": [track(timestamp=now_iso(timedelta(days=-200)))]}, write_key[1]
    )
    assert response.json()["accepted"] == 1


def test_the_senders_clock_skew_is_corrected(declared, write_key):
    # The sender's clock is 3 hours fast: it says the call happened 10 minutes before
    # it was sent, so it happened 10 minutes before we received it.
    fast = timedelta(hours=3)
    call = track(
        originalTimestamp=now_iso(fast - timedelta(minutes=10)),
        sentAt=now_iso(fast),
        timestamp=None,
    )
    assert post("/v1/track", call, write_key[1]).status_code == 200
    event = ExternalEvent.objects.get()
    happened = event.received_at - event.occurred_at
    assert timedelta(minutes=9, seconds=55) < happened < timedelta(minutes=10, seconds=5)


def test_a_batchs_sent_at_corrects_its_calls_timestamps(declared, write_key):
    slow = -timedelta(hours=30)  # the sender's clock is 30 hours slow
    call = track(timestamp=now_iso(slow - timedelta(minutes=1)))
    body = {"batch": [call], "sentAt": now_iso(slow)}
    assert post("/v1/batch", body, write_key[1]).json()["accepted"] == 1
    event = ExternalEvent.objects.get()
    assert timedelta(seconds=55) < event.received_at - event.occurred_at < timedelta(seconds=65)


def test_identify_links_the_ids_to_the_person(declared, write_key):
    call = {
        "type": "identify",
        "userId": "crm-42",
        "anonymousId": "anon-7",
        "traits": {"email": "  Ada@Example.COM ", "name": "Ada"},
        "messageId": "m1",
    }
    assert post("/v1/identify", call, write_key[1]).status_code == 200
    links = set(Identity.objects.values_list("kind", "value", "email"))
    assert links == {
        ("user", "crm-42", "ada@example.com"),
        ("anonymous", "anon-7", "ada@example.com"),
    }


def test_identify_with_an_invalid_email_is_rejected(declared, write_key):
    call = {
        "type": "identify",
        "userId": "u",
        "traits": {"email": "not-an-email"},
        "messageId": "x",
    }
    response = post("/v1/identify", call, write_key[1])
    assert response.status_code == 400
    assert "not an e-mail address" in response.json()["message"]
    assert not Identity.objects.exists()


def test_page_calls_are_kept(declared, write_key):
    call = {
        "type": "page",
        "name": "Pricing",
        "anonymousId": "anon-7",
        "properties": {"path": "/pricing"},
        "messageId": "p1",
    }
    assert post("/v1/page", call, write_key[1]).status_code == 200
    assert ExternalEvent.objects.get().name == "Pricing"


def test_only_post_is_taken(write_key):
    response = Client().get("/v1/batch", headers=auth(write_key[1]))
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_copies_of_a_batch_sent_at_once_store_each_call_once():
    demo_custom_events_create()
    _, raw = make_key(scopes=["events:write"])
    identify = {
        "type": "identify",
        "userId": "crm-1",
        "traits": {"email": "ada@example.com"},
        "messageId": "i-1",
    }
    body = {"batch": [track(), track(), identify]}
    answers = at_once([lambda: post("/v1/batch", body, raw) for _ in range(4)])
    assert all(a.status_code == 200 for a in answers)
    assert sum(a.json()["accepted"] for a in answers) == 3
    assert sum(a.json()["duplicates"] for a in answers) == 9
    assert ExternalEvent.objects.count() == 3
    assert Identity.objects.get().email == "ada@example.com"


def test_the_write_key_is_never_kept_in_the_rejected_events_log(declared, write_key):
    _, raw = write_key
    post("/v1/track", {**track("undeclared"), "writeKey": raw}, raw)
    post("/v1/batch", {"batch": [track("undeclared")], "writeKey": raw}, raw)
    post("/v1/batch", {"writeKey": raw, "batch": "not a list"}, raw)
    post("/v1/batch", b'{"writeKey": "' + raw.encode() + b'", broken', raw)
    assert RejectedEvent.objects.count() == 4
    for kept in RejectedEvent.objects.all():
        assert raw not in kept.raw + json.dumps(kept.payload)
