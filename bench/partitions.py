"""Benchmark: the events table partitioned by month (TRACKING_EVENT_PARTITIONS).

On a throwaway PostgreSQL database holding N events over 14 months (default 1,000,000),
and a copy of it made before the conversion (CREATE DATABASE … TEMPLATE) that stays one
table:

1. `manage.py partition_events` on the populated table: each step's seconds, and the one
   that holds the table's lock;
2. inserting events, in rounds that take turns between the copy (one table), the
   partitioned table, and the partitioned table with its key trigger disabled (not
   exactly once: the trigger's own cost): one event per transaction, as a visitor's step
   records it (insert_once, then COMMIT), and 50 per statement, as POST /t/events does;
3. looking an event up by event_id and by id, in both (every partition is probed);
4. dropping a month of N/14 events (retention), with its keys;
5. `partition_events --undo` (the way back: a copy).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/partitions.py [events]
"""

import statistics
import sys
import time
import uuid

from harness import throwaway_database

EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
SMOKE = EVENTS < 10_000  # make bench-smoke: proves it runs, measures nothing
ROUNDS = 1 if SMOKE else 5
SINGLES = 10 if SMOKE else 200  # per round: one event per transaction
BATCHES = 1 if SMOKE else 4  # per round: 50 events per statement
BATCH = 50
NAMES = ["quiz_viewed", "quiz_started", "question_viewed", "question_answered"]


def seed(quiz_id: int) -> float:
    """N events with realistic widths over the last 14 months, in one INSERT … SELECT."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tracking_conversionevent (event_id, name, visitor_id, occurred_at,
              received_at, source, properties, first_touch, last_touch, ft_source, ft_medium,
              ft_campaign, ft_referrer, lt_source, device, is_bot, is_preview, quiz_id)
            SELECT gen_random_uuid(),
              (ARRAY['quiz_viewed','quiz_started','question_viewed','question_answered',
                     'lead_submitted','result_viewed'])[1 + g %% 6],
              md5((g / 12)::text), now() - (g::float / %s) * interval '425 days', now(),
              'server', jsonb_build_object('question_count', 5, 'language', 'en'),
              '{"utm_source": "newsletter", "utm_medium": "email", "landing": "/q/demo/"}',
              '{"utm_source": "newsletter"}', 'newsletter', 'email', 'spring', '', 'newsletter',
              'mobile', false, false, %s
            FROM generate_series(1, %s) g
            """,
            [EVENTS, quiz_id, EVENTS],
        )
        cursor.execute("ANALYZE tracking_conversionevent")
    return time.perf_counter() - started


class Writer:
    """Events to insert, each of its own fresh attempt (so once-only keys never collide)."""

    def __init__(self, quiz, question):
        from quizzes.models import Attempt

        count = 4 * ROUNDS * (SINGLES + BATCHES * BATCH)
        self.attempts = iter(
            Attempt.objects.bulk_create([Attempt(quiz=quiz) for _ in range(count)])
        )
        self.quiz, self.question, self.n = quiz, question, 0

    def event(self):
        from django.utils import timezone

        from tracking.models import ConversionEvent

        self.n += 1
        name = NAMES[self.n % len(NAMES)]
        return ConversionEvent(
            event_id=uuid.uuid4(),
            name=name,
            quiz=self.quiz,
            attempt=next(self.attempts),
            question=self.question if name.startswith("question") else None,
            visitor_id=uuid.uuid4().hex,
            occurred_at=timezone.now(),
            properties={"question_count": 5, "language": "en"},
        )

    def round(self, using: str) -> tuple[float, float, float]:
        """µs per event: one per transaction (with its commit), its INSERT alone, 50 at once."""
        from django.db import transaction

        from tracking.models import ConversionEvent

        events = ConversionEvent.objects.using(using)
        whole, statement = [], []
        for _ in range(SINGLES):
            event = self.event()
            started = time.perf_counter()
            with transaction.atomic(using=using):
                inserted = time.perf_counter()
                assert events.insert_once(event)
                statement.append(time.perf_counter() - inserted)
            whole.append(time.perf_counter() - started)
        batches = []
        for _ in range(BATCHES):
            batch = [self.event() for _ in range(BATCH)]
            started = time.perf_counter()
            with transaction.atomic(using=using):
                assert len(events.insert_new(batch)) == BATCH
            batches.append((time.perf_counter() - started) / BATCH)
        return tuple(statistics.median(s) * 1e6 for s in (whole, statement, batches))


def lookups(sample, using: str) -> tuple[float, float]:
    """µs per look-up of a stored event by event_id (the client endpoint) and by id."""
    from tracking.models import ConversionEvent

    def each(field, values):
        started = time.perf_counter()
        for value in values:
            assert ConversionEvent.objects.using(using).filter(**{field: value}).exists()
        return (time.perf_counter() - started) / len(values) * 1e6

    return each("event_id", [e for _, e in sample]), each("id", [i for i, _ in sample])


def show(label: str, figures: tuple[float, float, float]) -> None:
    whole, statement, batch = figures
    print(
        f"  {label:44s} {whole:7.0f} µs/event with its commit, {statement:5.0f} µs its INSERT,"
        f" {batch:5.0f} µs/event 50 at once"
    )


def medians(rounds: list[tuple]) -> tuple:
    return tuple(statistics.median(column) for column in zip(*rounds, strict=True))


def copy_database(alias: str) -> str:
    """A copy of the default database as it is now, as `alias` (one table, like before)."""
    from django.db import connection, connections

    name = f"{connection.settings_dict['NAME']}_one_table"
    connections.close_all()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name} TEMPLATE {connection.settings_dict['NAME']}")
    connections.settings[alias] = {**connection.settings_dict, "NAME": name}
    return name


def drop_database(alias: str, name: str) -> None:
    from django.db import connection, connections

    connections[alias].close()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE {name}")


def main():
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection

    from quizzes.models import Quiz
    from tracking import partitions, retention
    from tracking.models import ConversionEvent, PendingEvent

    with throwaway_database():
        if connection.vendor != "postgresql":
            raise SystemExit(
                "Partitioning is PostgreSQL's: set DATABASE_URL to a PostgreSQL server."
            )
        call_command("seed_demo", "--no-admin", verbosity=0)
        quiz = Quiz.objects.get()
        writer = Writer(quiz, quiz.questions.first())
        print(f"events: {EVENTS:,} over 14 months; seeded in {seed(quiz.pk):.1f} s")
        PendingEvent.objects.all().delete()  # rolled up, as a running install's are
        sample = list(ConversionEvent.objects.order_by("?").values_list("id", "event_id")[:200])
        copy = copy_database("one_table")
        try:
            out = StringIO()
            started = time.perf_counter()
            call_command("partition_events", stdout=out)
            total = time.perf_counter() - started
            steps = [line for line in out.getvalue().splitlines() if line.startswith("Took")]
            print(f"partition_events on {EVENTS:,} events: {total:.1f} s in all; {steps[-1][5:]}")

            print("inserting, µs per event (median of rounds, the three taking turns):")
            plain, keyed, unkeyed = [], [], []
            toggle = "ALTER TABLE tracking_conversionevent {} TRIGGER tracking_event_key"
            for _ in range(ROUNDS):
                plain.append(writer.round("one_table"))
                keyed.append(writer.round("default"))
                with connection.cursor() as cursor:
                    cursor.execute(toggle.format("DISABLE"))
                unkeyed.append(writer.round("default"))
                with connection.cursor() as cursor:
                    cursor.execute(toggle.format("ENABLE"))
            paired = [k[1] / p[1] for k, p in zip(keyed, plain, strict=True)]
            plain, keyed, unkeyed = medians(plain), medians(keyed), medians(unkeyed)
            show("one table (as before)", plain)
            show("partitioned, with the key trigger", keyed)
            show("partitioned, key trigger off (not exactly once)", unkeyed)
            print(
                f"  partitioned / one table: {keyed[0] / plain[0]:.2f} with its commit, "
                f"{keyed[1] / plain[1]:.2f} the INSERT (paired rounds: "
                f"{statistics.median(paired):.2f}), {keyed[2] / plain[2]:.2f} 50 at once"
            )
            print(
                f"  the key trigger's share: {keyed[1] - unkeyed[1]:.0f} µs per INSERT, "
                f"{keyed[2] - unkeyed[2]:.0f} µs per event 50 at once"
            )
            before, after = lookups(sample, "one_table"), lookups(sample, "default")
            count = len(partitions.partitions())
            print(
                f"look-up by event_id: {before[0]:.0f} µs one table, {after[0]:.0f} µs over "
                f"{count} partitions; by id: {before[1]:.0f} µs, {after[1]:.0f} µs"
            )
        finally:
            drop_database("one_table", copy)
        # A month of events, dropped as retention drops it.
        month = [p for p in partitions.partitions() if p.lo and not p.default][1]
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE tracking_conversionevent DISABLE TRIGGER tracking_event_pending"
            )
            cursor.execute(
                """INSERT INTO tracking_conversionevent (event_id, name, visitor_id, occurred_at,
                  received_at, source, properties, first_touch, last_touch, ft_source, ft_medium,
                  ft_campaign, ft_referrer, lt_source, device, is_bot, is_preview, quiz_id)
                SELECT gen_random_uuid(), 'quiz_viewed', md5(g::text),
                  %s::timestamptz + g * interval '1 second', now(), 'server', '{}', '{}', '{}',
                  '', '', '', '', '', 'mobile', false, false, %s
                FROM generate_series(1, %s) g""",
                [month.lo, quiz.pk, EVENTS // 14],
            )
            cursor.execute(
                "ALTER TABLE tracking_conversionevent ENABLE TRIGGER tracking_event_pending"
            )
        dropping = retention.Month(month)
        started = time.perf_counter()
        retention._drop(dropping)
        assert dropping.dropped, dropping.reasons
        print(
            f"dropping a month of {dropping.events:,} events with their keys: "
            f"{time.perf_counter() - started:.1f} s"
        )

        started = time.perf_counter()
        partitions.unpartition()
        print(
            f"partition_events --undo (copies every event): {time.perf_counter() - started:.1f} s"
        )


if __name__ == "__main__":
    main()
