"""The real segment-analytics-python library, pointed at a live server by its host."""

import uuid

import pytest
from segment.analytics import Client, request
from segment.analytics.request import APIError, post

from leads.models import Lead
from tests.api.factories import make_key
from tests.leads.factories import LeadFactory
from tracking.demo import demo_custom_events_create
from tracking.models import ExternalEvent, Identity
from tracking.timeline import attempt_timeline

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_kept_alive_connection():
    # The library's HTTP session keeps its connection open past the test: close it.
    yield
    request._session.close()


@pytest.fixture
def raw_key(transactional_db):
    demo_custom_events_create()
    return make_key(name="Booking tool", scopes=["events:write"])[1]


def client(raw_key, live_server, **options) -> Client:
    return Client(raw_key, host=live_server.url, sync_mode=True, max_retries=0, **options)


def test_track_and_identify_join_the_leads_timeline(raw_key, live_server):
    lead: Lead = LeadFactory(email="ada@example.com")
    analytics = client(raw_key, live_server)
    # Booked before the booking tool knew who she was: only its own id for her.
    analytics.track(user_id="cal-991", event="demo_booked")
    analytics.identify(user_id="cal-991", traits={"email": "Ada@example.com", "name": "Ada"})
    analytics.track(user_id="cal-991", event="deal_won")
    assert ExternalEvent.objects.filter(type="track").count() == 2
    assert Identity.objects.get(value="cal-991").email == "ada@example.com"
    sentences = [entry.text for entry in attempt_timeline(attempt=lead.attempt)]
    assert "Booked a demo" in sentences and "Won the deal" in sentences


def test_a_batch_sent_twice_records_each_event_once(raw_key, live_server):
    messages = [
        {
            "type": "track",
            "event": "demo_booked",
            "userId": f"user-{n}",
            "messageId": str(uuid.uuid4()),
            "timestamp": "2026-11-30T12:00:00+00:00",
            "context": {},
            "properties": {},
        }
        for n in range(3)
    ]
    # What the library's consumer does on a retry: the same batch again.
    for _ in range(2):
        response = post(raw_key, host=live_server.url, batch=messages)
        assert response.status_code == 200
    assert ExternalEvent.objects.count() == 3
    assert response.json()["duplicates"] == 3


def test_the_librarys_queue_and_gzip_deliver_a_batch(raw_key, live_server):
    errors = []
    analytics = Client(
        raw_key,
        host=live_server.url,
        gzip=True,
        upload_size=10,
        on_error=lambda error, batch: errors.append(error),
    )
    for n in range(5):
        analytics.track(user_id=f"u{n}", event="demo_booked")
    analytics.flush()
    analytics.join()
    assert errors == []
    assert ExternalEvent.objects.count() == 5


def test_a_rejected_event_reaches_the_library_as_an_error_it_does_not_retry(raw_key, live_server):
    analytics = client(raw_key, live_server)
    with pytest.raises(APIError) as caught:
        analytics.track(user_id="u1", event="newsletter_opened")
    caught.value.response.close()  # the error holds the response, and its connection
    assert caught.value.status == 400
    assert caught.value.code == "rejected"
    assert "not declared in the tracking plan" in caught.value.message
    assert not ExternalEvent.objects.exists()


def test_a_wrong_write_key_reaches_the_library_as_a_401(transactional_db, live_server):
    analytics = Client("qf_wrongwrongwrong", host=live_server.url, sync_mode=True)
    with pytest.raises(APIError) as caught:
        analytics.track(user_id="u1", event="demo_booked")
    caught.value.response.close()
    assert caught.value.status == 401
    assert "Unknown API key" in caught.value.message
