"""The dashboard's numbers equal a plain reference implementation, on random event logs.

The logs are generated as a visitor would make them (views, starts, branches,
Back to take the other branch, abandoned, answered-then-closed and resumed
attempts, runs finished on another device, shared visitors, ties in time,
runs that cross the range's edges, runs by a browser that looks automated that end
with a person's lead and ones that do not, spam leads) and stored as real events; the reference
computes each report from the same list in Python. Whatever the log, every
step is at most its base, every rate lies within 0-100 % and the left-here
column adds up to the attempts (or visitors) that left.
"""

import math
import statistics
import uuid
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quizzes.models import Attempt
from tests.quizzes.factories import ScorecardFactory
from tests.visitor import HOT_RUN, answer, question, run, start, step_url, submit_lead
from tracking import reports, rollups
from tracking.models import ConversionEvent, PendingEvent

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, tzinfo=UTC)
TICK = timedelta(minutes=20)  # the logs' clock: 7.5 days of starts, runs that cross midnight
WINDOW = (T0 + timedelta(days=2), T0 + timedelta(days=5))  # whole days, as the dashboard's
SOURCES = [
    ("google", "cpc", "brand", ""),
    ("newsletter", "email", "nov", ""),
    ("(direct)", "(none)", "", ""),
    ("linkedin.com", "referral", "", "linkedin.com"),
]
ELSEWHERE = {"visitor": "z", "ft": SOURCES[2], "lt": "(direct)"}  # another device's cookie


@st.composite
def attempt_logs(draw, lead_first=False):
    """One attempt (or a view alone) as the list of events it leaves behind; with
    `lead_first`, the lead form comes right after the start (unscored), and a lead who
    completes is scored by lead_scored."""
    visitor = draw(st.sampled_from("abcdef"))
    ft = draw(st.sampled_from(SOURCES))
    lt = draw(st.sampled_from(SOURCES))[0]
    bot, preview = draw(st.booleans()) and draw(st.booleans()), draw(st.integers(0, 9)) == 0
    clock = [draw(st.integers(0, 9 * 60))]  # ticks from T0; steps can tie

    def tick():
        clock[0] += draw(st.integers(0, 45))
        return T0 + TICK * clock[0]

    views = [{"name": "quiz_viewed", "t": tick()} for _ in range(draw(st.integers(0, 2)))]
    log = []
    attempt = {"visitor": visitor, "ft": ft, "lt": lt, "bot": bot, "preview": preview}
    # The language the run was shown in (every event of it carries it, its views too).
    attempt["language"] = draw(st.sampled_from(["en", "de"]))
    attempt.update(views=views, events=log)
    if draw(st.integers(0, 4)) == 0:
        return attempt
    # Finished on another device (a copied step link): from the n-th event on,
    # events carry that device's visitor and touch.
    moved = draw(st.one_of(st.none(), st.integers(1, 12)))

    def add(name, **fields):
        event = {"name": name, "t": tick(), **fields}
        if moved is not None and len(log) >= moved:
            event.update(ELSEWHERE)
        log.append(event)
        return event

    started = add("quiz_started")["t"]
    first_lead = None
    if lead_first:
        if draw(st.integers(0, 4)) == 0:
            return attempt  # left on the form: no e-mail, no question
        first_lead = add(
            "lead_submitted", percent=None, tier=None, bot=draw(st.integers(0, 3)) == 0
        )
    path = [1, 3, 4, 5] if draw(st.booleans()) else [1, 2, 3, 4, 5]
    stop = draw(st.integers(1, len(path) + 1))  # leave when shown path[stop-1]
    i = 0
    while i < len(path):
        number = path[i]
        if draw(st.integers(0, 15)):  # else a form posted straight to the step: no view
            add("question_viewed", q=number)
        if i + 1 == stop:
            how = draw(st.sampled_from(["leave", "resume", "answer and close"]))
            if how == "leave":
                return attempt
            if how == "resume":  # answered after a long pause
                clock[0] += 120
            if how == "answer and close":  # answered; the next question never loaded
                add("question_answered", q=number)
                return attempt
        if number == 2 and draw(st.integers(0, 3)) == 0:
            # Back to Q1, answered No instead: Q2 is left for the other branch.
            add("answer_changed", q=1)
            path, i = [1, 3, 4, 5], 1
            continue
        add("question_answered", q=number)
        if i and draw(st.integers(0, 5)) == 0:  # Back to change an earlier answer
            add("answer_changed", q=path[draw(st.integers(0, i - 1))])
        i += 1
    done = add("quiz_completed")
    done["duration_ms"] = int((done["t"] - started).total_seconds() * 1000)
    if first_lead is not None:
        percent = draw(st.integers(0, 100))
        tier = "Cold" if percent < 50 else "Warm" if percent < 80 else "Hot"
        add("lead_scored", percent=percent, tier=tier, bot=first_lead["bot"])
    elif not lead_first and draw(st.booleans()):
        percent = draw(st.integers(0, 100))
        tier = "Cold" if percent < 50 else "Warm" if percent < 80 else "Hot"
        # A lead is flagged by the honeypot alone, whatever the browser looked like: a
        # run by an automated-looking browser can end with a person's lead.
        spam = draw(st.integers(0, 3)) == 0
        add("lead_submitted", percent=percent, tier=tier, bot=spam)
    return attempt


def _store(quiz, logs):
    questions = {q.order: q for q in quiz.questions.all()}
    rows = []
    for log in logs:
        attempt = None
        if log["events"]:
            attempt = Attempt.objects.create(
                quiz=quiz, visitor_id=log["visitor"], is_preview=log["preview"]
            )
        for e in log["views"] + log["events"]:
            props = {"language": log["language"]}
            if e["name"] == "quiz_completed":
                props |= {"questions_answered": 4, "duration_ms": e["duration_ms"]}
            if e["name"] in ("lead_submitted", "lead_scored") and e["tier"] is not None:
                props |= {
                    "percent": e["percent"],
                    "tier": e["tier"],
                    "top_tier": e["tier"] == "Hot",
                }
            elif e["name"] == "lead_submitted":
                props |= {"scored": False}
            ft = e.get("ft", log["ft"])
            e["attempt"] = None if e["name"] == "quiz_viewed" else attempt.pk
            e["seq"] = len(rows)  # ids follow the order of recording
            rows.append(
                ConversionEvent(
                    event_id=uuid.uuid4(),
                    name=e["name"],
                    quiz=quiz,
                    attempt=None if e["name"] == "quiz_viewed" else attempt,
                    question=questions[e["q"]] if "q" in e else None,
                    visitor_id=e.get("visitor", log["visitor"]),
                    occurred_at=e["t"],
                    properties=props,
                    ft_source=ft[0],
                    ft_medium=ft[1],
                    ft_campaign=ft[2],
                    ft_referrer=ft[3],
                    lt_source=e.get("lt", log["lt"]),
                    is_bot=e.get("bot", log["bot"]),
                    is_preview=log["preview"],
                )
            )
    ConversionEvent.objects.bulk_create(rows)


# The reference: the same definitions, written plainly over the list of logs.


def _spam(e):
    return e["name"] == "lead_submitted" and e["bot"]


def _counted(log):
    """An attempt counts when it is no preview, and its start is not a bot's or it
    ends with a lead that is not spam (a person who gave their e-mail)."""
    human_lead = any(e["name"] == "lead_submitted" and not _spam(e) for e in log["events"])
    return not log["preview"] and (not log["bot"] or human_lead)


def events_of(log):
    """The events of a counted attempt that count: all but a spam lead."""
    return [e for e in log["events"] if not _spam(e)]


def _in_window(t):
    return WINDOW[0] <= t < WINDOW[1]


def selected(logs):
    """The attempts a report counts: started within the range and counted."""
    return [
        log for log in logs if _counted(log) and log["events"] and _in_window(log["events"][0]["t"])
    ]


def views_in_window(logs):
    """Views of the intro come before any attempt: those of a bot or preview stay out."""
    return [
        (log, e)
        for log in logs
        if not log["bot"] and not log["preview"]
        for e in log["views"]
        if _in_window(e["t"])
    ]


def lead_score_of(log, lead):
    """(percent, tier) of a lead: its own, else its lead_scored's (form first), else none."""
    if lead["tier"] is not None:
        return lead["percent"], lead["tier"]
    scored = [e for e in log["events"] if e["name"] == "lead_scored"]
    if scored:
        return scored[0]["percent"], scored[0]["tier"]
    return None, reports.NOT_SCORED


def reference_came(logs):
    return len(
        {log["visitor"] for log, _ in views_in_window(logs)}
        | {log["visitor"] for log in selected(logs)}
    )


def reference_funnel(logs, unit, lead_first=False):
    """[(key, count, base, left_here, other_path)] and the units that left; with the
    form first, Lead submitted right after Started, against Started."""
    units = defaultdict(list)
    for log in selected(logs):
        units[log["events"][0]["attempt"] if unit == "attempts" else log["visitor"]] += events_of(
            log
        )

    def did(events, name, q=None):
        return any(e["name"] == name and e.get("q") == q for e in events)

    def number(predicate):
        return sum(1 for events in units.values() if predicate(events))

    left = defaultdict(int)
    unanswered = defaultdict(int)
    for events in units.values():
        if did(events, "quiz_completed"):
            continue
        on_a_question = [e for e in events if "q" in e]
        if not on_a_question:
            left["start"] += 1
            continue
        last = max(on_a_question, key=lambda e: (e["t"], e["seq"]))["q"]
        left[last] += 1
        unanswered[last] += not did(events, "question_answered", last)

    came = reference_came(logs)
    started = len(units)
    rows = [("came", came, None, None, None)] if unit == "visitors" else []
    rows.append(
        ("quiz_started", started, came if unit == "visitors" else None, left["start"], None)
    )
    for q in range(1, 6):
        reached = number(lambda events, q=q: any(e.get("q") == q for e in events))
        answered = number(lambda events, q=q: did(events, "question_answered", q))
        rows.append((q, answered, reached, left[q], reached - answered - unanswered[q]))
    completed = number(lambda events: did(events, "quiz_completed"))
    rows.append(("quiz_completed", completed, started, None, None))
    leads = number(lambda e: did(e, "lead_submitted"))
    if lead_first:
        rows.insert(2 if unit == "visitors" else 1, ("lead_submitted", leads, started, None, None))
    else:
        rows.append(("lead_submitted", leads, completed, None, None))
    return rows, started - completed


def reference_sources(logs):
    table = defaultdict(
        lambda: {
            "visitors": set(),
            "converted": set(),
            "leads": 0,
            "percents": [],
            "tiers": defaultdict(int),
        }
    )
    for log, _ in views_in_window(logs):
        table[log["ft"]]["visitors"].add(log["visitor"])
    for log in selected(logs):  # the start's visitor and touch, for the whole attempt
        row = table[log["ft"]]
        row["visitors"].add(log["visitor"])
        for e in events_of(log):
            if e["name"] == "lead_submitted":
                percent, tier = lead_score_of(log, e)
                row["converted"].add(log["visitor"])
                row["leads"] += 1
                if percent is not None:
                    row["percents"].append(percent)
                row["tiers"][tier] += 1
    return {
        ft: (
            len(r["visitors"]),
            len(r["converted"]),
            r["leads"],
            round(statistics.mean(r["percents"]), 1) if r["percents"] else None,
            dict(r["tiers"]),
        )
        for ft, r in table.items()
    }


def reference_attribution(logs):
    table = defaultdict(lambda: [0, 0, 0, 0])
    for log in selected(logs):
        for e in events_of(log):
            if e["name"] == "lead_submitted":
                hot = lead_score_of(log, e)[1] == "Hot"
                table[log["ft"][0]][0] += 1
                table[log["lt"]][1] += 1
                table[log["ft"][0]][2] += hot
                table[log["lt"]][3] += hot
    return {source: tuple(v) for source, v in table.items()}


def _tenths(seconds):
    """Times are kept to the tenth of a second, half up."""
    return math.floor(seconds * 10 + 0.5) / 10


def reference_timing(logs):
    events = [e for log in selected(logs) for e in events_of(log)]
    durations = [_tenths(e["duration_ms"] / 1000) for e in events if e["name"] == "quiz_completed"]

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
            per_q[e["q"]].append(_tenths((e["t"] - shown[(e["attempt"], e["q"])]).total_seconds()))
    return [summary(durations)] + [summary(per_q[q]) for q in range(1, 6)]


def _key(step):
    """A question by its number in the quiz (the reference's name for it)."""
    return int(step.label[1 : step.label.index(".")]) if step.shown is not None else step.key


def assert_plausible(funnel):
    """What any funnel must satisfy, whatever happened."""
    for step in funnel:
        if step.base is not None:
            assert 0 <= step.count <= step.base, step
        for percent in (step.from_previous, step.from_start):
            assert percent is None or 0 <= percent <= 100, step
        assert step.other_path is None or step.other_path >= 0, step
        if step.left_here is not None and step.shown is not None:
            assert step.left_here <= step.shown, step
    assert sum(s.left_here or 0 for s in funnel) == funnel.left
    completed = next(s for s in funnel if s.key == "quiz_completed")
    assert funnel.left == funnel.started - completed.count


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(attempt_logs(), max_size=14))
def test_the_reports_equal_the_reference_on_random_event_logs(logs):
    _check_reports(ScorecardFactory(), logs)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(attempt_logs(lead_first=True), max_size=14))
def test_the_reports_equal_the_reference_with_the_lead_form_first(logs):
    _check_reports(ScorecardFactory(lead_form_position="before"), logs, lead_first=True)


def _check_reports(quiz, logs, *, lead_first=False):
    """Every report equals the reference, unfiltered and filtered by language (the
    reference of a language: the same definitions over the runs shown in it)."""
    try:
        _store(quiz, logs)
        pending = PendingEvent.objects.count()
        # All pending (the worker behind), a batch rolled up, then all of it.
        for batch in (0, max(1, pending // 2), None):
            if batch is not None and batch:
                rollups.flush(batch=batch, most=1)
            elif batch is None:
                rollups.flush()
                assert not PendingEvent.objects.exists()
            for language in ("", "de"):
                shown_in = [log for log in logs if not language or log["language"] == language]
                _check_language(quiz, shown_in, language, lead_first=lead_first)
    finally:
        ConversionEvent.objects.filter(quiz=quiz).delete()  # tests only: events are append-only
        Attempt.objects.filter(quiz=quiz).delete()


def _check_language(quiz, logs, language, *, lead_first):
    start, end = WINDOW
    for unit in ("attempts", "visitors"):
        funnel = reports.funnel(quiz, start, end, unit, language)
        got = [(_key(s), s.count, s.base, s.left_here, s.other_path) for s in funnel]
        expected, left = reference_funnel(logs, unit, lead_first)
        assert got == expected, unit
        assert funnel.left == left
        assert funnel.visitors == reference_came(logs)
        assert_plausible(funnel)
    for step in reports.funnel(quiz, start, end, language=language):
        assert step.from_previous == reports.rate(step.count, step.base)

    sources = reports.sources(quiz, start, end, language)
    got_sources = {
        (r.source, r.medium, r.campaign, r.referrer): (
            r.visitors,
            r.converted,
            r.leads,
            r.average_percent,
            r.tiers,
        )
        for r in sources
    }
    assert got_sources == reference_sources(logs)
    for row in sources:
        assert row.conversion is None or 0 <= row.conversion <= 100
    got_attribution = {
        r.source: (r.first_touch_leads, r.last_touch_leads, r.first_touch_hot, r.last_touch_hot)
        for r in reports.attribution(quiz, start, end, language)
    }
    assert got_attribution == reference_attribution(logs)
    # One count of leads, whichever table shows it.
    leads = next(
        s for s in reports.funnel(quiz, start, end, language=language) if s.key == "lead_submitted"
    ).count
    assert sum(r.leads for r in sources) == leads
    assert sum(v[0] for v in got_attribution.values()) == leads
    timing = reports.timing(quiz, start, end, language)
    got_timing = [(t.count, t.median_s, t.p90_s) for t in timing]
    assert got_timing == reference_timing(logs)


def _today(quiz, unit="attempts", *, start=None, end=None):
    now = datetime.now(UTC)
    return reports.funnel(
        quiz, start or now - timedelta(days=1), end or now + timedelta(days=1), unit
    )


def _step(funnel, words):
    return next(s for s in funnel if words in s.label)


def test_a_branch_is_not_counted_as_drop_off(client, scorecard):
    no_run = [("Do you advertise?", ("No",), {}), *HOT_RUN[2:]]
    for steps in (HOT_RUN, no_run):
        attempt = run(client, scorecard, steps=steps)
        for text, *_ in steps:
            client.get(step_url(attempt, question(scorecard, text)))
    tagging = _step(_today(scorecard), "tag links")
    assert (tagging.count, tagging.shown, tagging.from_previous) == (1, 1, 100.0)
    assert (tagging.left_here, tagging.other_path) == (0, 0)


def test_going_back_to_take_the_other_branch_is_not_leaving(scorecard):
    """Two visitors see "How do you tag links?": one closes the tab there, the other
    goes Back, answers No instead (which skips it) and closes the tab on the next one."""
    closed, went_back = Client(), Client()
    for visitor in (closed, went_back):
        attempt = start(visitor, scorecard)
        answer(visitor, attempt, "Do you advertise?", "Yes")
        visitor.get(step_url(attempt, question(scorecard, "How do you tag links?")))
    went_back.get(step_url(attempt, question(scorecard, "Do you advertise?")))
    answer(went_back, attempt, "Do you advertise?", "No")
    went_back.get(step_url(attempt, question(scorecard, "What do you track?")))

    funnel = _today(scorecard)
    tagging, tracking = _step(funnel, "tag links"), _step(funnel, "What do you track?")
    assert (tagging.shown, tagging.count, tagging.left_here, tagging.other_path) == (2, 0, 1, 1)
    assert (tracking.shown, tracking.count, tracking.left_here) == (1, 0, 1)
    # The left-here column adds up to the attempts that left, no more.
    assert funnel.left == 2 == sum(s.left_here or 0 for s in funnel)


def test_a_run_cut_by_the_range_is_counted_whole_by_when_it_started(scorecard):
    """One attempt starts the day before and finishes in the range (today); another
    starts today and finishes the day after. Only the second counts, and all of it."""
    before, inside = Client(), Client()
    early, late = start(before, scorecard), start(inside, scorecard)
    for visitor, attempt in ((before, early), (inside, late)):
        for text, labels, kwargs in HOT_RUN:
            answer(visitor, attempt, text, *labels, **kwargs)
        submit_lead(visitor, attempt)
    today = datetime.combine(timezone.localdate(), time.min, tzinfo=timezone.get_current_timezone())
    tomorrow = today + timedelta(days=1)
    # Tests only (events are append-only): the early start came yesterday, the rest of
    # the late run tomorrow.
    ConversionEvent.objects.filter(attempt=early, name="quiz_started").update(
        occurred_at=today - timedelta(hours=1)
    )
    ConversionEvent.objects.filter(attempt=late).exclude(name="quiz_started").update(
        occurred_at=tomorrow + timedelta(hours=1)
    )

    funnel = _today(scorecard, start=today, end=tomorrow)
    assert [(s.key, s.count) for s in funnel if s.shown is None] == [
        ("quiz_started", 1),
        ("quiz_completed", 1),
        ("lead_submitted", 1),
    ]
    assert all(s.count == 1 for s in funnel if s.shown is not None and "tag" not in s.label)
    assert_plausible(funnel)
    assert [r.leads for r in reports.sources(scorecard, today, tomorrow)] == [1]


def test_a_visitor_who_submits_twice_converts_once(client, scorecard):
    for _ in range(2):
        submit_lead(client, run(client, scorecard))
    now = datetime.now(UTC)
    [row] = reports.sources(scorecard, now - timedelta(days=1), now + timedelta(days=1))
    assert (row.visitors, row.converted, row.leads, row.conversion) == (1, 1, 2, 100.0)
    visitors = _today(scorecard, "visitors")
    assert [(s.key, s.count) for s in visitors if s.shown is None][-1] == ("lead_submitted", 1)
    assert _today(scorecard)[-1].count == 2  # in attempts


def test_a_lead_marked_as_automated_is_left_out_of_every_table(client, scorecard):
    submit_lead(client, run(client, scorecard))
    # What the honeypot does to the lead's event (tests only: events are append-only).
    ConversionEvent.objects.filter(name="lead_submitted").update(is_bot=True)
    now = datetime.now(UTC)
    window = (now - timedelta(days=1), now + timedelta(days=1))
    assert _today(scorecard)[-1].count == 0
    assert [r.leads for r in reports.sources(scorecard, *window)] == [0]
    assert reports.attribution(scorecard, *window) == []


HEADLESS = "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/126.0.6478.126 Safari/537.36"


def test_a_person_whose_browser_looks_automated_counts_whole_in_every_table(scorecard):
    """They typed an e-mail and left the honeypot empty: their run counts, start to lead,
    in attempts and visitors, in Sources and first-against-last; a bot that leaves no
    lead stays out."""
    person, crawler = (
        Client(headers={"User-Agent": HEADLESS}),
        Client(headers={"User-Agent": HEADLESS}),
    )
    submit_lead(person, run(person, scorecard))
    run(crawler, scorecard)
    assert ConversionEvent.objects.filter(name="quiz_started", is_bot=True).count() == 2
    now = datetime.now(UTC)
    window = (now - timedelta(days=1), now + timedelta(days=1))
    for unit in ("attempts", "visitors"):
        funnel = _today(scorecard, unit)
        assert [(s.key, s.count) for s in funnel if s.shown is None][-3:] == [
            ("quiz_started", 1),
            ("quiz_completed", 1),
            ("lead_submitted", 1),
        ], unit
        assert all(s.count == 1 for s in funnel if s.shown is not None and "tag" not in s.label)
        assert_plausible(funnel)
    [row] = reports.sources(scorecard, *window)
    assert (row.visitors, row.converted, row.leads) == (1, 1, 1)
    assert [r.first_touch_leads for r in reports.attribution(scorecard, *window)] == [1]
    assert reports.timing(scorecard, *window)[0].count == 1
