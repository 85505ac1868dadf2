"""Benchmark 4: from the lead form's POST to the task arriving at HubSpot.

A real Celery worker on Redis, PostgreSQL, and the fake HubSpot (a real HTTP
server on 127.0.0.1); 50 hot leads submitted one after the other.
Target: p50 under 2 seconds.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/hubspot_latency.py [leads]
"""

import os
import signal
import statistics
import sys
import time

os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
os.environ["CELERY_BROKER_URL"] = os.environ["CELERY_BROKER_URL"].rsplit("/", 1)[0] + "/8"
os.environ["AUTOMATIONS_QUEUE"] = "true"

from harness import throwaway_database

LEADS = int(sys.argv[1]) if len(sys.argv) > 1 else 50


def main():
    import redis
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from automations.models import Action, Condition, Rule
    from tests.fakes.celery_worker import worker_start, worker_stop
    from tests.fakes.hubspot import FakeHubSpot
    from tests.quizzes.factories import ScorecardFactory
    from tests.visitor import HOT_RUN, run, submit_lead

    redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).flushdb()
    fake = FakeHubSpot()
    settings.HUBSPOT_BASE_URL, settings.HUBSPOT_TOKEN = fake.url, fake.token
    with throwaway_database():
        db = connection.settings_dict
        worker = worker_start(
            HUBSPOT_BASE_URL=fake.url,
            HUBSPOT_TOKEN=fake.token,
            AUTOMATIONS_ALLOW_PRIVATE_URLS="true",
            DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        )
        try:
            quiz = ScorecardFactory()
            rule = Rule.objects.create(name="Hot to HubSpot", trigger="lead_submitted")
            Condition.objects.create(rule=rule, property="percent", operator=">", value="80")
            Action.objects.create(rule=rule, kind="hubspot")
            time.sleep(3)  # let the worker connect
            latencies = []
            for i in range(LEADS):
                client = Client()
                attempt = run(client, quiz, steps=HOT_RUN)
                before = len(fake.task_arrived_at)
                started = time.time()
                response = submit_lead(client, attempt, email=f"lead{i}@example.com")
                request_s = time.time() - started
                assert response.status_code == 302
                deadline = time.time() + 30
                while len(fake.task_arrived_at) == before and time.time() < deadline:
                    time.sleep(0.005)
                latencies.append(fake.task_arrived_at[-1] - started)
                if i == 0:
                    print(
                        f"first lead: request {request_s * 1000:.0f} ms, task after {latencies[0]:.2f} s"
                    )
            quantiles = statistics.quantiles(latencies, n=20, method="inclusive")
            p50, p95 = statistics.median(latencies), quantiles[18]
            print(f"leads: {LEADS}, tasks at the fake HubSpot: {len(fake.tasks)}")
            print(
                f"lead form POST -> HubSpot task: p50 {p50:.3f} s, p95 {p95:.3f} s, "
                f"max {max(latencies):.3f} s  (target p50 < 2 s: {'met' if p50 < 2 else 'NOT met'})"
            )
        finally:
            worker_stop(worker, signal.SIGTERM)
            fake.stop()


if __name__ == "__main__":
    main()
