"""Benchmark 2: client events per second through POST /t/events, in batches of 50,
beside a raw bulk insert of the same rows into the same table, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/ingest.py [batches]
"""

import json
import sys
import time
import uuid

from harness import throwaway_database

BATCHES = int(sys.argv[1]) if len(sys.argv) > 1 else 100
BATCH = 50


def main():
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone
    from rest_framework.throttling import SimpleRateThrottle

    from quizzes.models import Attempt, Quiz
    from tracking.attribution import VISITOR_COOKIE
    from tracking.models import ConversionEvent

    SimpleRateThrottle.THROTTLE_RATES = {"tracking": "1000000/min"}  # measure, not limit
    with throwaway_database():
        call_command("seed_demo", "--no-admin", verbosity=0)
        quiz = Quiz.objects.get()
        client = Client(headers={"Origin": "http://testserver"})
        client.get(quiz.get_absolute_url())
        visitor = client.cookies[VISITOR_COOKIE].value.split(":")[0]

        attempts = Attempt.objects.bulk_create(
            [Attempt(quiz=quiz, visitor_id=visitor) for _ in range(BATCHES)]
        )
        results = ConversionEvent.objects.bulk_create(
            [
                ConversionEvent(
                    event_id=uuid.uuid4(),
                    name="result_viewed",
                    quiz=quiz,
                    attempt=a,
                    visitor_id=visitor,
                    occurred_at=timezone.now(),
                    properties={"percent": 50, "tier": "Warm"},
                )
                for a in attempts
            ]
        )
        now = timezone.now().isoformat()
        bodies = [
            json.dumps(
                {
                    "events": [
                        {
                            "id": str(uuid.uuid4()),
                            "name": "cta_clicked",
                            "time": now,
                            "server_event_id": str(result.event_id),
                            "properties": {"tier": "Warm", "url": "https://example.com/book"},
                        }
                        for _ in range(BATCH)
                    ]
                }
            )
            for result in results
        ]

        started = time.perf_counter()
        for body in bodies:
            response = client.post("/t/events", body, content_type="application/json")
            assert response.status_code == 200 and response.json()["accepted"] == BATCH
        endpoint_s = time.perf_counter() - started
        stored = ConversionEvent.objects.filter(name="cta_clicked").count()
        assert stored == BATCHES * BATCH, stored

        rows = [
            ConversionEvent(
                event_id=uuid.uuid4(),
                name="cta_clicked",
                quiz=quiz,
                attempt=attempts[i % BATCHES],
                visitor_id=visitor,
                occurred_at=timezone.now(),
                source="client",
                properties={"tier": "Warm", "url": "https://example.com/book"},
            )
            for i in range(BATCHES * BATCH)
        ]
        started = time.perf_counter()
        ConversionEvent.objects.bulk_create(rows, batch_size=BATCH)
        bulk_s = time.perf_counter() - started

        total = BATCHES * BATCH
        endpoint_rate, bulk_rate = total / endpoint_s, total / bulk_s
        print(f"events: {total} in {BATCHES} batches of {BATCH}")
        print(f"POST /t/events (validated, deduplicated): {endpoint_rate:9.0f} events/s")
        print(f"raw bulk insert, same table and batches: {bulk_rate:9.0f} events/s")
        print(f"ratio endpoint/raw: {endpoint_rate / bulk_rate:.2f}")
        segment_batch(total)


def segment_batch(total: int) -> None:
    """Calls from other systems through POST /v1/batch (Segment's format), in batches of 100
    (analytics-python's upload size), beside /t/events above; inside the same database."""
    import base64

    from django.test import Client
    from django.utils import timezone

    from api.keys import key_create
    from tracking.demo import demo_custom_events_create
    from tracking.models import ExternalEvent

    demo_custom_events_create()
    _, raw = key_create(name="bench", scopes=["events:write"])
    client = Client(
        headers={"Authorization": "Basic " + base64.b64encode(f"{raw}:".encode()).decode()}
    )
    size, sent_at = 100, timezone.now().isoformat()
    bodies = [
        json.dumps(
            {
                "sentAt": sent_at,
                "batch": [
                    {
                        "type": "track",
                        "event": "demo_booked",
                        "userId": f"user-{n}-{i}",
                        "messageId": str(uuid.uuid4()),
                        "timestamp": sent_at,
                        "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
                    }
                    for i in range(size)
                ],
            }
        )
        for n in range(max(1, total // size))
    ]
    started = time.perf_counter()
    for body in bodies:
        response = client.post("/v1/batch", body, content_type="application/json")
        assert response.status_code == 200 and response.json()["accepted"] == size
    batch_s = time.perf_counter() - started
    started = time.perf_counter()
    for body in bodies[: max(1, len(bodies) // 4)]:  # a retried quarter: all duplicates
        assert (
            client.post("/v1/batch", body, content_type="application/json").json()["duplicates"]
            == size
        )
    retry_s = time.perf_counter() - started
    stored = ExternalEvent.objects.count()
    assert stored == len(bodies) * size, stored
    print(f"POST /v1/batch (Segment format, batches of {size}): {stored / batch_s:9.0f} events/s")
    retried = max(1, len(bodies) // 4) * size
    print(f"POST /v1/batch retried (all duplicates):        {retried / retry_s:9.0f} events/s")


if __name__ == "__main__":
    main()
