"""Reports computed from conversion events, the source of truth.

Bots and previews are always left out. An event belongs to a report when it
happened within the date range. A plain reference implementation in
tests/tracking/test_reports.py checks these numbers on generated event logs.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Count, IntegerField, Q, QuerySet, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from quizzes.models import Quiz
from tracking import plan
from tracking.models import ConversionEvent

UNITS = {"attempts": "attempt_id", "visitors": "visitor_id"}


def report_query(fn):
    """Run a report in a transaction of its own, given room to aggregate (PostgreSQL).

    Counting unique visitors hashes hundreds of thousands of keys: with the
    default 4 MB work_mem PostgreSQL spills them to disk, and a JIT compile costs
    more than it saves on queries of this size. Both settings are LOCAL: they
    end with the report's transaction. (SQLite runs the report as it is: its
    transactions here are IMMEDIATE and would hold back the visitors' writes.)
    """

    @functools.wraps(fn)
    def run(*args, **kwargs):
        connection = connections[ConversionEvent.objects.db]
        if connection.vendor != "postgresql":
            return fn(*args, **kwargs)
        with transaction.atomic(using=connection.alias):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)",
                    [settings.TRACKING_REPORT_WORK_MEM],
                )
            return fn(*args, **kwargs)

    return run


def events_for(quiz: Quiz, start: datetime, end: datetime) -> QuerySet[ConversionEvent]:
    return ConversionEvent.objects.filter(
        quiz=quiz, occurred_at__gte=start, occurred_at__lt=end, is_bot=False, is_preview=False
    )


def count_distinct(queryset: QuerySet, group: list[str], column: str) -> list[tuple]:
    """(*group, unique count of `column`) rows.

    Written as COUNT(*) over a SELECT DISTINCT subquery: PostgreSQL hashes
    that, where COUNT(DISTINCT …) sorts, several times slower on a million rows.
    """
    inner = queryset.order_by().values_list(*group, column).distinct()
    sql, params = inner.query.sql_with_params()
    quote = connections[queryset.db].ops.quote_name
    columns = ", ".join(quote(g) for g in group)
    outer = f"SELECT {columns + ', ' if group else ''}COUNT(*) FROM ({sql}) AS d"
    if group:
        outer += f" GROUP BY {columns}"
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(outer, params)
        return cursor.fetchall()


def rate(count: int, base: int | None) -> float | None:
    """A percent with one decimal; None when there is nothing to divide by."""
    if not base:
        return None
    return round(100 * count / base, 1)


@dataclass(frozen=True)
class FunnelStep:
    key: str
    label: str
    count: int
    base: int | None  # the step before: for a question, the attempts shown it
    from_previous: float | None
    from_start: float | None
    dropoff: int | None
    shown: int | None = None  # questions only


@report_query
def funnel(quiz: Quiz, start: datetime, end: datetime, unit: str = "attempts") -> list[FunnelStep]:
    """viewed → started → each question → completed → lead submitted.

    Counts are unique attempts (or unique visitors). A question's step counts
    the attempts that answered it, against the attempts that were shown it, so
    a branch that skips a question is not drop-off. Completed is measured
    against Started (all drop-off across the questions), Lead against
    Completed. Viewed counts unique visitors in both units: a view comes before
    any attempt.
    """
    column = UNITS[unit]
    events = events_for(quiz, start, end)
    names = [
        "quiz_started",
        "question_viewed",
        "question_answered",
        "quiz_completed",
        "lead_submitted",
    ]
    if unit == "attempts":
        # Once-only events are unique per attempt in the database itself, so a
        # plain count is the count of unique attempts, and much cheaper.
        stepped = events.filter(name__in=names)
        rows = stepped.order_by().values_list("name", "question_id").annotate(n=Count("id"))
        [(viewed,)] = count_distinct(events.filter(name="quiz_viewed"), [], "visitor_id")
    else:
        # Views are counted in visitors too: one pass over the events for all steps.
        stepped = events.filter(name__in=[*names, "quiz_viewed"])
        rows = count_distinct(stepped, ["name", "question_id"], column)
        viewed = 0
    by_name: dict[str, int] = defaultdict(int)
    by_question: dict[tuple[str, int], int] = {}
    for name, question_id, n in rows:
        if name in plan.ONCE_PER_QUESTION:
            if question_id is not None:  # a deleted question has no step any more
                by_question[(name, question_id)] = n
        elif name == "quiz_viewed":
            viewed = n
        else:
            by_name[name] = n

    steps: list[FunnelStep] = []
    first = viewed

    def add(key, label, count, base, *, shown=None):
        steps.append(
            FunnelStep(
                key=key,
                label=label,
                count=count,
                base=base,
                from_previous=rate(count, base),
                from_start=rate(count, first),
                dropoff=None if base is None else base - count,
                shown=shown,
            )
        )

    add("quiz_viewed", "Viewed", viewed, None)
    started = by_name["quiz_started"]
    add("quiz_started", "Started", started, viewed)
    for number, question in enumerate(quiz.ordered_questions(), start=1):
        shown = by_question.get(("question_viewed", question.pk), 0)
        answered = by_question.get(("question_answered", question.pk), 0)
        add(f"question_{question.pk}", f"Q{number}. {question.text}", answered, shown, shown=shown)
    completed = by_name["quiz_completed"]
    add("quiz_completed", "Completed", completed, started)
    add("lead_submitted", "Lead submitted", by_name["lead_submitted"], completed)
    return steps


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (q in 0..1)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Timing:
    label: str
    count: int
    median_s: float | None
    p90_s: float | None


@report_query
def timing(quiz: Quiz, start: datetime, end: datetime) -> list[Timing]:
    """Time to complete (quiz_started → quiz_completed) and per question (shown → answered)."""
    events = events_for(quiz, start, end)
    durations = [
        d / 1000
        for d in events.filter(name="quiz_completed").values_list(
            Cast(KT("properties__duration_ms"), IntegerField()), flat=True
        )
        if d is not None
    ]
    rows = [_timing("Whole quiz", durations)]
    shown: dict[tuple[int, int], datetime] = {}
    answered: dict[tuple[int, int], datetime] = {}
    for name, attempt_id, question_id, moment in events.filter(
        name__in=["question_viewed", "question_answered"]
    ).values_list("name", "attempt_id", "question_id", "occurred_at"):
        (shown if name == "question_viewed" else answered)[(attempt_id, question_id)] = moment
    per_question: dict[int, list[float]] = defaultdict(list)
    for key, moment in answered.items():
        if key in shown:
            per_question[key[1]].append(max(0.0, (moment - shown[key]).total_seconds()))
    for number, question in enumerate(quiz.ordered_questions(), start=1):
        rows.append(_timing(f"Q{number}. {question.text}", per_question.get(question.pk, [])))
    return rows


def _timing(label: str, seconds: list[float]) -> Timing:
    def rounded(value):
        return None if value is None else round(value, 1)

    return Timing(
        label, len(seconds), rounded(percentile(seconds, 0.5)), rounded(percentile(seconds, 0.9))
    )


@dataclass
class SourceRow:
    source: str
    medium: str
    campaign: str
    referrer: str
    visitors: int = 0
    leads: int = 0
    average_percent: float | None = None
    tiers: dict[str, int] = field(default_factory=dict)

    @property
    def conversion(self) -> float | None:
        return rate(self.leads, self.visitors)


FIRST_TOUCH = ("ft_source", "ft_medium", "ft_campaign", "ft_referrer")


@report_query
def sources(quiz: Quiz, start: datetime, end: datetime) -> list[SourceRow]:
    """First-touch source, medium, campaign and referrer: visitors, leads, conversion,
    average score and tier mix. Visitors are those who viewed or started the quiz."""
    events = events_for(quiz, start, end)
    table: dict[tuple, SourceRow] = {}

    def row(key) -> SourceRow:
        if key not in table:
            table[key] = SourceRow(*key)
        return table[key]

    viewers = events.filter(name__in=["quiz_viewed", "quiz_started"])
    for *key, n in count_distinct(viewers, list(FIRST_TOUCH), "visitor_id"):
        row(tuple(key)).visitors = n
    percent = Cast(KT("properties__percent"), IntegerField())
    percent_sums: dict[tuple, int] = defaultdict(int)
    for *key, tier, n, total in (
        events.filter(name="lead_submitted")
        .order_by()
        .values_list(*FIRST_TOUCH, KT("properties__tier"))
        .annotate(n=Count("id"), total=Sum(percent))
    ):
        entry = row(tuple(key))
        entry.leads += n
        entry.tiers[tier] = n
        percent_sums[tuple(key)] += total or 0
    for key, total in percent_sums.items():
        table[key].average_percent = round(total / table[key].leads, 1)
    return sorted(table.values(), key=lambda r: (-r.leads, -r.visitors, r.source, r.medium))


@dataclass
class AttributionRow:
    source: str
    first_touch_leads: int = 0
    last_touch_leads: int = 0
    first_touch_hot: int = 0
    last_touch_hot: int = 0


@report_query
def attribution(quiz: Quiz, start: datetime, end: datetime) -> list[AttributionRow]:
    """Leads and hot leads (the quiz's top tier) by first-touch and by last-touch source."""
    leads = events_for(quiz, start, end).filter(name="lead_submitted")
    hot = Count("id", filter=Q(properties__top_tier=True))
    table: dict[str, AttributionRow] = {}
    for touch, column in (("first_touch", "ft_source"), ("last_touch", "lt_source")):
        for item in leads.values(column).annotate(n=Count("id"), hot=hot):
            entry = table.setdefault(item[column], AttributionRow(item[column]))
            setattr(entry, f"{touch}_leads", item["n"])
            setattr(entry, f"{touch}_hot", item["hot"])
    return sorted(
        table.values(), key=lambda r: (-r.first_touch_leads, -r.last_touch_leads, r.source)
    )
