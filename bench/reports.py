"""Benchmark: the dashboard's reports at ten million events, for 30 days and for a year.

Target (issue 12): each report (the funnel in attempts and in visitors, sources,
timing, first-against-last touch, and the bots' note) answers in under 300 ms median
on PostgreSQL with 10,000,000 events over 1,000,000 attempts, for the last 30 days and
for the last 365.

The events are generated in PostgreSQL itself (generate_series), shaped like real
traffic over a year: each attempt's visitor views the intro first; drop-off at every
step; leads on a share of completions; five first-touch sources; seven visitors in
ten start once, the others up to four times, a quarter of those a week later; views
that never start make up the rest of the events. The trigger of every event insert
marks them pending; the rollups are then built as the worker builds them
(tracking.rollups.flush), timed. Last, the reports are measured again with a backlog
pending (the worker a few seconds behind), which they add on the fly.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/reports.py \
        [attempts] [--keep | --reuse]
"""

import os
import sys
import time
from datetime import timedelta

from harness import kept_database, median_ms, throwaway_database

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
ATTEMPTS = int(ARGS[0]) if ARGS else 1_000_000
# --keep leaves the database (BENCH_DATABASE) when done; --reuse measures again on one a
# run kept (generating ten million events takes a quarter of an hour).
KEEP, REUSE = "--keep" in sys.argv, "--reuse" in sys.argv
EVENTS = ATTEMPTS * 10
YEAR_SECONDS = 365 * 86400
TARGET_MS = 300

# Events an attempt leaves, in order; an attempt stops after `reach` of them.
STEPS = [
    ("quiz_viewed", None),
    ("quiz_started", None),
    ("question_viewed", 0),
    ("question_answered", 0),
    ("question_viewed", 1),
    ("question_answered", 1),
    ("question_viewed", 2),
    ("question_answered", 2),
    ("quiz_completed", None),
    ("lead_submitted", None),
    ("result_viewed", None),
]
SOURCES = """(ARRAY['google','newsletter','(direct)','linkedin.com','facebook'])[1 + {i} %% 5],
             (ARRAY['cpc','email','(none)','referral','paid_social'])[1 + {i} %% 5],
             (ARRAY['brand','nov','','','retargeting'])[1 + {i} %% 5], '',
             (ARRAY['google','google','(direct)','newsletter','facebook'])[1 + {i} %% 5]"""
COLUMNS = """(event_id, name, quiz_id, attempt_id, question_id, lead_id, visitor_id, occurred_at,
              received_at, source, properties, first_touch, last_touch, ft_source, ft_medium,
              ft_campaign, ft_referrer, lt_source, device, is_bot, is_preview)"""


def generate(quiz, questions):
    from django.db import connection

    with connection.cursor() as cursor:
        # Attempt i starts i/ATTEMPTS of a year ago; in each ten, the first four share a
        # visitor (the fourth a week later), the other six are visitors of their own.
        cursor.execute(
            """
            INSERT INTO quizzes_attempt
              (quiz_id, token, start_key, visitor_id, is_preview, started_at, active_at,
               first_touch, last_touch, hidden_fields, embedded_on, embed_origin, language, locale)
            SELECT %s, 'bench-' || i, md5(i::text)::uuid,
                   'v' || ((i / 10) * 10 + GREATEST(0, i %% 10 - 3)), false, t, t,
                   '{}', '{}', '{}', '', '', 'en', 'en'
            FROM generate_series(1, %s) AS i,
                 LATERAL (SELECT now() - interval '1 hour'
                   - ((%s - i)::bigint * %s / %s) * interval '1 second'
                   - CASE WHEN i %% 10 = 3 THEN interval '7 days' ELSE interval '0' END AS t) AS s
            """,
            [quiz.pk, ATTEMPTS, ATTEMPTS, YEAR_SECONDS - 8 * 86400, ATTEMPTS],
        )
        values = ", ".join(
            f"({n}, '{name}', {questions[q] if q is not None else 'NULL'})"
            for n, (name, q) in enumerate(STEPS)
        )
        # reach: 11 events for 45 % of attempts, 9 for 20 %, 6 for 15 %, 3 for 20 %.
        cursor.execute(
            f"""
            WITH steps(n, name, question_id) AS (VALUES {values}),
            a AS (
              SELECT id, visitor_id, started_at, row_number() OVER (ORDER BY id) AS i
              FROM quizzes_attempt
            )
            INSERT INTO tracking_conversionevent {COLUMNS}
            SELECT gen_random_uuid(), steps.name, %s,
                   CASE WHEN steps.name = 'quiz_viewed' THEN NULL ELSE a.id END,
                   steps.question_id, NULL, a.visitor_id,
                   a.started_at + (steps.n - 1) * interval '20 seconds', now(), 'server',
                   CASE steps.name
                     WHEN 'lead_submitted' THEN jsonb_build_object(
                       'percent', a.i %% 101, 'language', 'en',
                       'tier', CASE WHEN a.i %% 101 >= 80 THEN 'Hot'
                                    WHEN a.i %% 101 >= 50 THEN 'Warm' ELSE 'Cold' END,
                       'top_tier', a.i %% 101 >= 80)
                     WHEN 'quiz_completed' THEN jsonb_build_object(
                       'duration_ms', 140000 + (a.i %% 60000), 'language', 'en')
                     ELSE '{{"language": "en"}}'::jsonb END,
                   '{{}}', '{{}}', {SOURCES.format(i="a.i")},
                   'mobile', a.i %% 97 = 0, false
            FROM a JOIN steps ON steps.n < CASE
                WHEN a.i %% 20 < 9 THEN 11 WHEN a.i %% 20 < 13 THEN 9
                WHEN a.i %% 20 < 16 THEN 6 ELSE 3 END
            """,
            [quiz.pk],
        )
        cursor.execute("SELECT count(*) FROM tracking_conversionevent")
        so_far = cursor.fetchone()[0]
        # Views that never start (visitors of their own) make up the rest.
        cursor.execute(
            f"""
            INSERT INTO tracking_conversionevent {COLUMNS}
            SELECT gen_random_uuid(), 'quiz_viewed', %s, NULL, NULL, NULL, 'b' || (i %% (%s / 2)),
                   now() - interval '1 hour' - (i::bigint * %s / %s) * interval '1 second',
                   now(), 'server', '{{"language": "en"}}', '{{}}', '{{}}',
                   {SOURCES.format(i="i")}, 'desktop', false, false
            FROM generate_series(1, %s) AS i
            """,
            [
                quiz.pk,
                max(2, EVENTS - so_far),
                YEAR_SECONDS,
                max(1, EVENTS - so_far),
                max(0, EVENTS - so_far),
            ],
        )
        # What autovacuum does on a live database: statistics, and the visibility map.
        for table in ("tracking_conversionevent", "quizzes_attempt", "tracking_pendingevent"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def main():
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.db.models import Q
    from django.utils import timezone

    from quizzes.models import Attempt, Quiz
    from tracking import reports, rollups
    from tracking.models import ConversionEvent, PendingEvent, Rollup

    with kept_database() if REUSE else throwaway_database(keep=KEEP):
        if not REUSE:
            call_command("seed_demo", "--no-admin", verbosity=0)
            quiz = Quiz.objects.get()
            ConversionEvent.objects.filter(quiz=quiz).delete()  # the demo's few (bench only)
            PendingEvent.objects.all().delete()
            questions = [q.pk for q in quiz.ordered_questions()[:3]]
            started = time.perf_counter()
            generate(quiz, questions)
        quiz = Quiz.objects.get()
        total = ConversionEvent.objects.count()
        if not REUSE:
            print(
                f"generated {total:,} events over {ATTEMPTS:,} attempts (a year) "
                f"in {time.perf_counter() - started:.1f} s"
            )
        started = time.perf_counter()
        rolled = rollups.flush(batch=20_000)
        seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            # As autovacuum does after so many deletions (the pending rows rolled up).
            cursor.execute("VACUUM ANALYZE tracking_pendingevent")
            cursor.execute("VACUUM ANALYZE tracking_rollup")
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('tracking_rollup'))")
            size = cursor.fetchone()[0]
        print(
            f"rolled up {rolled:,} events in {seconds:.1f} s ({rolled / seconds:,.0f} events/s, "
            f"one process): {Rollup.objects.count():,} rollup rows, {size}"
        )
        today = timezone.localdate()
        end = timezone.make_aware(
            timezone.datetime.combine(today + timedelta(days=1), timezone.datetime.min.time())
        )
        ranges = {"30 days": end - timedelta(days=30), "a year": end - timedelta(days=365)}

        def measure(label, fn, runs=5):
            fn()  # warm the cache, as a dashboard in use has
            samples = []
            for _ in range(runs):
                t = time.perf_counter()
                result = fn()
                samples.append(time.perf_counter() - t)
            verdict = "met" if median_ms(samples) < TARGET_MS else "NOT met"
            print(
                f"  {label:32s} median {median_ms(samples):7.1f} ms, best "
                f"{min(samples) * 1000:7.1f} ms  (target < {TARGET_MS} ms: {verdict})"
            )
            return result

        def all_reports(title):
            for name, start in ranges.items():
                print(f"{title}, the last {name}:")
                f = measure(
                    "funnel (unique attempts)", lambda start=start: reports.funnel(quiz, start, end)
                )
                measure(
                    "funnel (unique visitors)",
                    lambda start=start: reports.funnel(quiz, start, end, "visitors"),
                )
                rows = measure(
                    "sources (first touch)", lambda start=start: reports.sources(quiz, start, end)
                )
                measure(
                    "timing (median, p90)", lambda start=start: reports.timing(quiz, start, end)
                )
                measure(
                    "attribution (first vs last)",
                    lambda start=start: reports.attribution(quiz, start, end),
                )
                measure("bots left out", lambda start=start: reports.bot_attempts(quiz, start, end))
                print(
                    "    funnel:",
                    ", ".join(f"{s.label.split('.')[0]} {s.count:,}" for s in f.steps[:4]),
                    "…",
                    f"lead {f.steps[-1].count:,}; left before completing {f.left:,}",
                )
                print(
                    "    sources (visitors/converted/submissions):",
                    ", ".join(
                        f"{r.source} {r.visitors:,}/{r.converted:,}/{r.leads:,}" for r in rows
                    ),
                )

        all_reports("rolled up")
        # The worker behind: the latest runs' visitors still pending. 25 runs is some ten
        # seconds of bench/load.py's 2.3 runs/s (the worker flushes every 5 s).
        backlog = int(os.environ.get("BENCH_BACKLOG_RUNS", "25"))
        latest = Attempt.objects.filter(quiz=quiz).order_by("-started_at")[:backlog]
        visitors = list(latest.values_list("visitor_id", flat=True))
        with transaction.atomic():
            theirs = ConversionEvent.objects.filter(
                Q(visitor_id__in=visitors) | Q(attempt__visitor_id__in=visitors), quiz=quiz
            )
            rollups.take_out(theirs)
            PendingEvent.objects.bulk_create(
                [PendingEvent(event_id=pk) for pk in theirs.values_list("pk", flat=True)],
                ignore_conflicts=True,
            )
        pending = PendingEvent.objects.count()
        all_reports(f"with {pending:,} events pending (the visitors of the last {backlog:,} runs)")


if __name__ == "__main__":
    main()
