"""Benchmark: what the rollups' trigger adds to recording an event.

Every event insert also writes its PendingEvent (tracking/migrations/0009_rollups.py),
in the same statement's trigger. This inserts single events, one transaction each as a
visitor's step does, taking turns with the trigger on and off (ALTER TABLE … DISABLE
TRIGGER, in the throwaway database), and prints the medians and their ratio.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/pending_trigger.py [rounds]
"""

import statistics
import sys
import time
import uuid

from harness import throwaway_database

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
PER_ROUND = 50


def main():
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from quizzes.models import Attempt, Quiz
    from tracking.models import ConversionEvent

    with throwaway_database():
        call_command("seed_demo", "--no-admin", verbosity=0)
        quiz = Quiz.objects.get()
        attempt = Attempt.objects.create(quiz=quiz, visitor_id="bench")

        def one():
            event = ConversionEvent(
                event_id=uuid.uuid4(),
                name="answer_changed",
                quiz=quiz,
                attempt=attempt,
                visitor_id="bench",
                occurred_at=timezone.now(),
            )
            started = time.perf_counter()
            with transaction.atomic():
                ConversionEvent.objects.insert_new([event])
            return time.perf_counter() - started

        def trigger(on: bool):
            with connection.cursor() as cursor:
                cursor.execute(
                    "ALTER TABLE tracking_conversionevent "
                    f"{'ENABLE' if on else 'DISABLE'} TRIGGER tracking_event_pending"
                )

        samples = {True: [], False: []}
        ratios = []
        for _ in range(ROUNDS):
            medians = {}
            for on in (True, False):
                trigger(on)
                times = [one() for _ in range(PER_ROUND)]
                samples[on] += times
                medians[on] = statistics.median(times)
            ratios.append(medians[True] / medians[False])
        trigger(True)
        on, off = (statistics.median(samples[k]) * 1e6 for k in (True, False))
        print(
            f"one event, its own transaction, {ROUNDS} rounds of {PER_ROUND} each way: "
            f"with the trigger {on:.0f} µs, without {off:.0f} µs: +{on - off:.0f} µs; "
            f"median of the paired ratios {statistics.median(ratios):.3f}"
        )


if __name__ == "__main__":
    main()
