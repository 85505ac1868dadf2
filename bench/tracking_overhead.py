"""Benchmark 1: the cost of server-side tracking on complete quiz runs.

Runs the demo quiz end to end (intro, start, every question shown and
answered, lead form, result) through Django's full request stack, with
tracking on and off, interleaved in one run so the machine's noise hits both.
Target: on/off ratio at most 1.05. Then the cost of one event, part by part
(middleware, building the row, the INSERT, the receivers and the outbox check, the
commit), each timed on its own, so the floor is a measurement, not a guess.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/tracking_overhead.py
"""

import re
import statistics
import sys
import time

from harness import median_ms, throwaway_database, timed

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 50


def quiz_run(client, slug):
    """One new visitor (no cookies) takes the quiz from its intro to the result page."""
    client.cookies.clear()
    page = client.get(f"/q/{slug}/").content.decode()
    key = re.search(r'name="start_key" value="([^"]+)"', page)[1]
    url = client.post(f"/q/{slug}/start/", {"start_key": key})["Location"]
    while "/details/" not in url:
        page = client.get(url).content.decode()
        option = re.search(r'name="answer" value="([^"]+)"', page)
        response = client.post(url, {"answer": option[1] if option else "fine"})
        url = response["Location"]
    client.get(url)
    result = client.post(url, {"email": "bench@example.com"})["Location"]
    assert client.get(result).status_code == 200


class NoVisitor:
    """The "off" mode's stand-in for the tracking middleware: no cookie read, no visitor
    (views pass `visitor=None` on, as they would with tracking switched off)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tracking = None
        return self.get_response(request)


def main():
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client, override_settings

    from tracking import receivers
    from tracking.models import ConversionEvent

    without_middleware = [
        f"{__name__}.NoVisitor" if m.startswith("tracking.") else m for m in settings.MIDDLEWARE
    ]

    modes = ("on", "on, durable views", "recording off", "off")
    # One client (one loaded middleware chain, as in a running server) per mode;
    # each run is a new visitor. "on": everything, as shipped; "on, durable views":
    # the same with TRACKING_VIEWS_ASYNC_COMMIT=false; "recording off": the
    # receivers are disconnected but the middleware still reads the visitor cookie
    # and attribution; "off": neither.
    clients = {mode: Client() for mode in modes}

    def run(mode: str) -> float:
        recording = mode.startswith("on")
        (receivers.connect if recording else receivers.disconnect)()
        with override_settings(TRACKING_VIEWS_ASYNC_COMMIT=mode != "on, durable views"):
            return timed(quiz_run, clients[mode], slug)

    with throwaway_database():
        call_command("seed_demo", "--no-admin", verbosity=0)
        slug = "marketing-measurement"
        with override_settings(MIDDLEWARE=without_middleware):
            clients["off"].get("/")  # its handler loads the middleware without tracking
        for mode in modes:  # warm up every path
            run(mode)
        times: dict[str, list[float]] = {mode: [] for mode in modes}
        for i in range(RUNS):
            # Each round runs every mode back to back, in a rotating order.
            for mode in modes[i % len(modes) :] + modes[: i % len(modes)]:
                times[mode].append(run(mode))
        receivers.connect()
        events = ConversionEvent.objects.count()
        print(f"complete quiz runs: {RUNS} per mode, interleaved")
        for mode in modes:
            print(f"median run, tracking {mode + ':':19s} {median_ms(times[mode]):8.1f} ms")
        runs_on = 2 * (RUNS + 1)
        print(f"events recorded: {events} ({events / runs_on:.1f} per run with tracking on)")

        # Each round ran back to back: the median of its ratios is what tracking
        # costs, less the drift of a shared machine between rounds.
        def paired(mode: str, base: str) -> float:
            pairs = zip(times[mode], times[base], strict=True)
            return statistics.median(a / b for a, b in pairs)

        durable = paired("on, durable views", "off")
        recording = paired("on", "recording off")
        ratio = paired("on", "off")
        print(f"ratio on / recording off (the events alone): {recording:.3f}")
        print(f"ratio on with durable views / off: {durable:.3f}")
        verdict = "met" if ratio <= 1.05 else "NOT met"
        print(
            f"ratio on / off (events, cookie and attribution), median of {RUNS} rounds: "
            f"{ratio:.3f}  (target <= 1.05: {verdict})"
        )
        per_run = statistics.median(a - b for a, b in zip(times["on"], times["off"], strict=True))
        breakdown(slug, events / runs_on, per_run, samples=max(20, RUNS * 10))


def _median_us(fn, samples: int) -> float:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def breakdown(slug: str, events_per_run: float, per_run_s: float, *, samples: int) -> None:
    """What one event costs, part by part, on a real attempt (rolled back where it writes)."""
    import uuid

    from django.db import connection, transaction
    from django.test import RequestFactory

    from quizzes.models import Attempt
    from tracking import plan
    from tracking.middleware import TrackingMiddleware
    from tracking.models import ConversionEvent
    from tracking.services import event_id_for, event_record
    from tracking.signals import event_recorded

    attempt = Attempt.objects.select_related("quiz").filter(quiz__slug=slug).first()
    question = attempt.quiz.ordered_questions()[0]
    props = {"question_id": question.pk, "position": 1}
    factory = RequestFactory()
    middleware = TrackingMiddleware(lambda request: __import__("django").http.HttpResponse())
    landing = f"/q/{slug}/?utm_source=news&utm_medium=email&utm_campaign=spring"

    def new_visitor():  # no cookie: a visitor id made, attribution read, cookies written
        middleware(factory.get(landing, HTTP_USER_AGENT="Mozilla/5.0 Chrome/131.0"))

    cookies = {}
    response = middleware(factory.get(landing, HTTP_USER_AGENT="Mozilla/5.0 Chrome/131.0"))
    cookies = {k: m.value for k, m in response.cookies.items()}

    def returning_visitor():  # the signed cookie read and checked
        request = factory.get(f"/q/{slug}/t/x/q/1/", HTTP_USER_AGENT="Mozilla/5.0 Chrome/131.0")
        request.COOKIES.update(cookies)
        middleware(request)

    def build():
        plan.validate("question_viewed", props)
        event_id_for("question_viewed", attempt=attempt, question_id=uuid.uuid4().int % 10**9)
        ConversionEvent(name="question_viewed", quiz=attempt.quiz, attempt=attempt)

    def event():
        # quiz_viewed may occur any number of times: each one is a real INSERT (a once-only
        # event met again would conflict, insert nothing and commit nothing).
        return ConversionEvent(
            event_id=uuid.uuid4(),
            name="quiz_viewed",
            quiz=attempt.quiz,
            visitor_id=attempt.visitor_id,
            occurred_at=timezone.now(),
            properties={"preview": False},
        )

    def in_rolled_back_transaction(fn):
        def run():
            with transaction.atomic():
                fn()
                transaction.set_rollback(True)

        return run

    def commit(relaxed: bool):
        def run():
            with transaction.atomic():
                ConversionEvent.objects.insert_once(event(), relaxed_commit=relaxed)

        return run

    def insert_and_commit_without_event():
        with transaction.atomic():
            Attempt.objects.filter(pk=attempt.pk).update(visitor_id=attempt.visitor_id)

    from django.utils import timezone

    empty = _median_us(in_rolled_back_transaction(lambda: None), samples)
    parts = {
        "middleware, new visitor (id, attribution, cookies)": _median_us(new_visitor, samples),
        "middleware, returning visitor (signed cookie read)": _median_us(
            returning_visitor, samples
        ),
        "building the event (plan check, uuid5, row)": _median_us(build, samples),
        "INSERT … ON CONFLICT DO NOTHING RETURNING": _median_us(
            in_rolled_back_transaction(lambda: ConversionEvent.objects.insert_once(event())),
            samples,
        )
        - empty,
        "receivers and outbox check (event_recorded, no rule)": _median_us(
            lambda: event_recorded.send(sender=ConversionEvent, event=event()), samples
        ),
        "event_record, whole (quiz_viewed, rolled back)": _median_us(
            in_rolled_back_transaction(
                lambda: event_record(
                    name="quiz_viewed", quiz=attempt.quiz, properties={"preview": False}
                )
            ),
            samples,
        )
        - empty,
        "a durable commit with one event": _median_us(commit(False), samples),
        "a relaxed commit with one event (views)": _median_us(commit(True), samples),
        "a durable commit with no event (an UPDATE)": _median_us(
            insert_and_commit_without_event, samples
        ),
    }
    print(f"one event, part by part (median of {samples}, {connection.vendor}):")
    for name, us in parts.items():
        print(f"  {name:54s} {us:8.0f} µs")
    print(
        f"measured per run: on − off = {per_run_s * 1000:.1f} ms for {events_per_run:.1f} "
        f"events = {per_run_s / events_per_run * 1e6:.0f} µs per event"
    )


if __name__ == "__main__":
    main()
