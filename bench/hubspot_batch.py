"""Benchmark 6: many hot leads at once, sent to HubSpot in batches or one by one.

PostgreSQL, the fake HubSpot (a real HTTP server on 127.0.0.1, answering each request
in 50 ms as a distant API would), deliveries run one after the other as one worker
would. Prints the requests each way takes and what HubSpot's limit per 10 seconds
(HUBSPOT_RATE_LIMIT_PER_10S, 100 for Free and Starter accounts) makes of them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/hubspot_batch.py [leads]
"""

import sys
import time

from harness import throwaway_database

LEADS = int(sys.argv[1]) if len(sys.argv) > 1 else 300


def send_all(batch_size: int) -> tuple[int, int, float]:
    from django.conf import settings

    from automations.delivery import delivery_run
    from automations.models import Delivery, Rule
    from tests.automations.factories import ActionFactory, ConditionFactory, RuleFactory
    from tests.automations.test_hubspot_limits import hot_leads
    from tests.fakes.hubspot import FakeHubSpot
    from tests.quizzes.factories import ScorecardFactory

    fake = FakeHubSpot(f"pat-bench-{batch_size}")
    fake.latency = 0.05
    settings.HUBSPOT_BASE_URL, settings.HUBSPOT_TOKEN = fake.url, fake.token
    settings.HUBSPOT_BATCH_SIZE = batch_size
    settings.HUBSPOT_RATE_LIMIT_PER_10S = 1_000_000  # measured here, not waited for
    fake.forget_waits()
    try:
        Delivery.objects.all().delete()
        Rule.objects.all().delete()
        Rule.forget_triggers()
        rule = RuleFactory()
        ConditionFactory(rule=rule, property="percent", operator=">", value="80")
        ActionFactory(rule=rule, kind="hubspot")
        hot_leads(
            ScorecardFactory(),
            LEADS,
            emails=[f"b{batch_size}-{i}@example.com" for i in range(LEADS)],
        )
        started = time.perf_counter()
        while due := list(Delivery.objects.filter(status="pending").values_list("pk", flat=True)):
            for pk in due:
                delivery_run(pk)
        seconds = time.perf_counter() - started
        delivered = Delivery.objects.filter(status="delivered").count()
        assert delivered == LEADS == len(fake.tasks), (delivered, len(fake.tasks))
        return fake.count("contacts/batch/upsert"), len(fake.requests), seconds
    finally:
        fake.stop()
        fake.forget_waits()


def main():
    with throwaway_database():
        rows = {size: send_all(size) for size in (100, 1)}
    for size, (upserts, requests, seconds) in rows.items():
        windows = requests / 100
        print(
            f"batch size {size:>3}: {LEADS} leads -> {upserts} upsert requests, {requests} "
            f"requests in all, {seconds:.1f} s with one worker; at 100 requests per 10 s "
            f"they need at least {windows * 10:.0f} s"
        )
    (u1, r1, _), (u100, r100, _) = rows[1], rows[100]
    print(
        f"upsert requests: {u1 / u100:.0f}x fewer in batches; all requests: {r1 / r100:.2f}x fewer"
    )


if __name__ == "__main__":
    main()
