"""The dashboard's numbers equal a plain reference implementation, on random event logs.

The logs are generated as a visitor would make them (views, starts, branches,
abandoned and resumed attempts, shared visitors, ties in time) and stored as
real events; the reference computes each report from the same list in Python.
"""

import statistics
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quizzes.models import Attempt
from tests.quizzes.factories import ScorecardFactory
from tracking import reports
from tracking.models import ConversionEvent

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, tzinfo=UTC)
WINDOW = (T0 + timedelta(hours=2), T0 + timedelta(hours=8))
SOURCES = [
    ("google", "cpc", "brand", ""),
    ("newsletter", "email", "nov", ""),
    ("(direct)", "(none)", "", ""),
    ("linkedin.com", "referral", "", "linkedin.com"),
]


@st.composite
def attempt_logs(draw):
    """One attempt (or a view alone) as the list of events it leaves behind."""
    visitor = draw(st.sampled_from("abcdef"))
    ft = draw(st.sampled_from(SOURCES))
    lt = draw(st.sampled_from(SOURCES))[0]
    bot, preview = draw(st.booleans()) and draw(st.booleans()), draw(st.integers(0, 9)) == 0
    clock = [draw(st.integers(0, 9 * 60))]  # minutes from T0; steps can tie

    def tick():
        clock[0] += draw(st.integers(0, 45))
        return T0 + timedelta(minutes=clock[0])

    log = [{"name": "quiz_viewed", "t": tick()} for _ in range(draw(st.integers(0, 2)))]
    attempt = {"visitor": visitor, "ft": ft, "lt": lt, "bot": bot, "preview": preview}
    attempt["events"] = log
    if draw(st.integers(0, 4)) == 0:
        return attempt
    started = tick()
    log.append({"name": "quiz_started", "t": started})
    says_no = draw(st.booleans())
    path = [1, 3, 4, 5] if says_no else [1, 2, 3, 4, 5]
    stop = draw(st.integers(1, len(path) + 1))  # abandon before answering path[stop-1]
    for i, number in enumerate(path, start=1):
        shown = tick()
        log.append({"name": "question_viewed", "q": number, "t": shown})
        if i == stop:
            if draw(st.booleans()):  # resumed later: answered after a long pause
                clock[0] += 120
            else:
                break
        log.append({"name": "question_answered", "q": number, "t": tick()})
    else:
        done = tick()
        log.append(
            {
                "name": "quiz_completed",
                "t": done,
                "duration_ms": int((done - started).total_seconds() * 1000),
            }
        )
        if draw(st.booleans()):
            percent = draw(st.integers(0, 100))
            tier = "Cold" if percent < 50 else "Warm" if percent < 80 else "Hot"
            log.append({"name": "lead_submitted", "t": tick(), "percent": percent, "tier": tier})
    return attempt


def _store(quiz, logs):
    questions = {q.order: q for q in quiz.questions.all()}
    rows = []
    for log in logs:
        attempt = None
        if any(e["name"] != "quiz_viewed" for e in log["events"]):
            attempt = Attempt.objects.create(
                quiz=quiz, visitor_id=log["visitor"], is_preview=log["preview"]
            )
        for e in log["events"]:
            props = {}
            if e["name"] == "quiz_completed":
                props = {"questions_answered": 4, "duration_ms": e["duration_ms"]}
            if e["name"] == "lead_submitted":
                props = {"percent": e["percent"], "tier": e["tier"], "top_tier": e["tier"] == "Hot"}
            ft = log["ft"]
            rows.append(
                ConversionEvent(
                    event_id=uuid.uuid4(),
                    name=e["name"],
                    quiz=quiz,
                    attempt=None if e["name"] == "quiz_viewed" else attempt,
                    question=questions[e["q"]] if "q" in e else None,
                    visitor_id=log["visitor"],
                    occurred_at=e["t"],
                    properties=props,
                    ft_source=ft[0],
                    ft_medium=ft[1],
                    ft_campaign=ft[2],
                    ft_referrer=ft[3],
                    lt_source=log["lt"],
                    is_bot=log["bot"],
                    is_preview=log["preview"],
                )
            )
        for e in log["events"]:
            e["attempt"] = attempt.pk if attempt else None
    ConversionEvent.objects.bulk_create(rows)


def _flat(logs):
    start, end = WINDOW
    return [
        {**e, "visitor": log["visitor"], "ft": log["ft"], "lt": log["lt"]}
        for log in logs
        for e in log["events"]
        if not log["bot"] and not log["preview"] and start <= e["t"] < end
    ]


def reference_funnel(events, unit):
    key = "attempt" if unit == "attempts" else "visitor"

    def unique(name, q=None):
        return len({e[key] for e in events if e["name"] == name and e.get("q") == q})

    viewed = len({e["visitor"] for e in events if e["name"] == "quiz_viewed"})
    started = unique("quiz_started")
    steps = [(viewed, None), (started, viewed)]
    steps += [(unique("question_answered", q), unique("question_viewed", q)) for q in range(1, 6)]
    completed = unique("quiz_completed")
    steps += [(completed, started), (unique("lead_submitted"), completed)]
    return steps


def reference_sources(events):
    table = defaultdict(
        lambda: {"visitors": set(), "leads": 0, "percents": [], "tiers": defaultdict(int)}
    )
    for e in events:
        if e["name"] in ("quiz_viewed", "quiz_started"):
            table[e["ft"]]["visitors"].add(e["visitor"])
        if e["name"] == "lead_submitted":
            row = table[e["ft"]]
            row["leads"] += 1
            row["percents"].append(e["percent"])
            row["tiers"][e["tier"]] += 1
    return {
        ft: (
            len(r["visitors"]),
            r["leads"],
            round(statistics.mean(r["percents"]), 1) if r["percents"] else None,
            dict(r["tiers"]),
        )
        for ft, r in table.items()
    }


def reference_attribution(events):
    table = defaultdict(lambda: [0, 0, 0, 0])
    for e in events:
        if e["name"] == "lead_submitted":
            hot = e["tier"] == "Hot"
            table[e["ft"][0]][0] += 1
            table[e["lt"]][1] += 1
            table[e["ft"][0]][2] += hot
            table[e["lt"]][3] += hot
    return {source: tuple(v) for source, v in table.items()}


def reference_timing(events):
    durations = [e["duration_ms"] / 1000 for e in events if e["name"] == "quiz_completed"]

    def summary(values):
        if not values:
            return (0, None, None)
        if len(values) == 1:
            return (1, round(values[0], 1), round(values[0], 1))
        p90 = statistics.quantiles(values, n=10, method="inclusive")[8]
        return (len(values), round(statistics.median(values), 1), round(p90, 1))

    shown = {(e["attempt"], e["q"]): e["t"] for e in events if e["name"] == "question_viewed"}
    per_q = defaultdict(list)
    for e in events:
        if e["name"] == "question_answered" and (e["attempt"], e["q"]) in shown:
            per_q[e["q"]].append((e["t"] - shown[(e["attempt"], e["q"])]).total_seconds())
    return [summary(durations)] + [summary(per_q[q]) for q in range(1, 6)]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(attempt_logs(), max_size=14))
def test_the_reports_equal_the_reference_on_random_event_logs(logs):
    quiz = ScorecardFactory()
    try:
        _store(quiz, logs)
        events = _flat(logs)
        start, end = WINDOW
        for unit in ("attempts", "visitors"):
            got = [(s.count, s.base) for s in reports.funnel(quiz, start, end, unit)]
            assert got == reference_funnel(events, unit), unit
        for step in reports.funnel(quiz, start, end):
            assert step.from_previous == reports.rate(step.count, step.base)
            if step.base is not None:
                assert step.dropoff == step.base - step.count

        got_sources = {
            (r.source, r.medium, r.campaign, r.referrer): (
                r.visitors,
                r.leads,
                r.average_percent,
                r.tiers,
            )
            for r in reports.sources(quiz, start, end)
        }
        assert got_sources == reference_sources(events)
        got_attribution = {
            r.source: (r.first_touch_leads, r.last_touch_leads, r.first_touch_hot, r.last_touch_hot)
            for r in reports.attribution(quiz, start, end)
        }
        assert got_attribution == reference_attribution(events)
        got_timing = [(t.count, t.median_s, t.p90_s) for t in reports.timing(quiz, start, end)]
        assert got_timing == reference_timing(events)
    finally:
        ConversionEvent.objects.filter(quiz=quiz).delete()  # tests only: events are append-only
        Attempt.objects.filter(quiz=quiz).delete()


def test_a_branch_is_not_counted_as_drop_off(client, scorecard):
    from tests.visitor import HOT_RUN, question, run, step_url

    no_run = [("Do you advertise?", ("No",), {}), *HOT_RUN[2:]]
    for steps in (HOT_RUN, no_run):
        attempt = run(client, scorecard, steps=steps)
        for text, *_ in steps:
            client.get(step_url(attempt, question(scorecard, text)))
    now = datetime.now(UTC)
    tagging = next(
        s
        for s in reports.funnel(scorecard, now - timedelta(days=1), now + timedelta(days=1))
        if "tag links" in s.label
    )
    assert (tagging.count, tagging.shown, tagging.dropoff, tagging.from_previous) == (
        1,
        1,
        0,
        100.0,
    )
