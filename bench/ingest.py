"""Benchmark 2: client events per second through the ingest endpoints, beside PostgreSQL
`COPY` of the same rows into the same table in the same run: the physical limit.

Each endpoint is a function of its own in ENDPOINTS (it gets the Setup, returns how many
events it stored and how long it took); each is printed with its ratio to COPY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/ingest.py [batches]
"""

import json
import sys
import time
import uuid
from dataclasses import dataclass

from harness import throwaway_database

BATCHES = int(sys.argv[1]) if len(sys.argv) > 1 else 100
BATCH = 50


@dataclass
class Setup:
    client: object  # django.test.Client, with the visitor's cookie
    quiz: object
    attempts: list
    results: list  # a result_viewed event per attempt: what the client events enrich
    visitor: str


def post_tracking_events(setup: Setup) -> tuple[int, float]:
    """POST /t/events: validated against the plan, deduplicated, batches of 50."""
    from django.utils import timezone

    from tracking.models import ConversionEvent

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
        for result in setup.results
    ]
    before = ConversionEvent.objects.filter(name="cta_clicked").count()
    started = time.perf_counter()
    for body in bodies:
        response = setup.client.post("/t/events", body, content_type="application/json")
        assert response.status_code == 200 and response.json()["accepted"] == BATCH
    seconds = time.perf_counter() - started
    stored = ConversionEvent.objects.filter(name="cta_clicked").count() - before
    assert stored == BATCHES * BATCH, stored
    return stored, seconds


ENDPOINTS = [("POST /t/events", post_tracking_events)]


def copy_rows(setup: Setup) -> tuple[int, float]:
    """The same kind of rows, straight into the same table with one COPY (no checks)."""
    from django.db import connection
    from django.utils import timezone

    from tracking.models import ConversionEvent

    rows = [
        ConversionEvent(
            event_id=uuid.uuid4(),
            name="cta_clicked",
            quiz=setup.quiz,
            attempt=setup.attempts[i % BATCHES],
            visitor_id=setup.visitor,
            occurred_at=timezone.now(),
            source="client",
            properties={"tier": "Warm", "url": "https://example.com/book"},
        )
        for i in range(BATCHES * BATCH)
    ]
    fields = [f for f in ConversionEvent._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(ConversionEvent._meta.db_table)
    values = [
        [f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields] for row in rows
    ]
    # Timed from here: the rows are ready, what is left is the database's own work (one
    # statement in autocommit, so it commits durably, as each endpoint batch does).
    started = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for row in values:
            copy.write_row(row)
    seconds = time.perf_counter() - started
    assert ConversionEvent.objects.filter(source="client").count() >= len(rows)
    return len(rows), seconds


def main():
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone
    from rest_framework.throttling import SimpleRateThrottle

    from quizzes.models import Attempt, Quiz
    from tracking.attribution import VISITOR_COOKIE
    from tracking.models import ConversionEvent

    SimpleRateThrottle.THROTTLE_RATES = {"tracking": "1000000/min"}  # measure, not limit
    with throwaway_database():
        if connection.vendor != "postgresql":
            raise SystemExit("COPY is PostgreSQL's: set DATABASE_URL to a PostgreSQL server.")
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
        setup = Setup(client, quiz, attempts, results, visitor)
        measured = [(label, *fn(setup)) for label, fn in ENDPOINTS]
        copied, copy_s = copy_rows(setup)
        copy_rate = copied / copy_s
        print(f"events: {BATCHES * BATCH} per writer, in {BATCHES} batches of {BATCH}")
        for label, events, seconds in measured:
            print(f"{label + ':':34s} {events / seconds:9.0f} events/s")
        print(f"{'COPY into the same table:':34s} {copy_rate:9.0f} events/s (the physical limit)")
        for label, events, seconds in measured:
            print(f"ratio {label} / COPY: {events / seconds / copy_rate:.3f}")
        segment_batch(BATCHES * BATCH)


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
