"""Reports on conversion events, the source of truth, read from their rollups.

One rule decides what counts, in every report: an attempt counts when it is not a
preview and either its start is not flagged as a bot or it has a lead that is not
(a person who typed an e-mail and passed the honeypot, whatever their User-Agent
looked like); all the events of a counted attempt count, except a lead flagged by
the honeypot (spam stays out, as in the sales inbox). A report counts the attempts
that *started* within its days (by their quiz_started event), each one whole: all
its events count, even those after the range ends. Filtering the events by date
instead would cut runs in two, and a step could exceed the one before it. Views of
the intro come before any attempt and count on the day they happened. Filtered by a
language, a report counts the attempts whose start was in it (the `language` of
quiz_started: chosen at the start, kept for the run) and the views of the intro shown
in it. Ranges are whole days in TIME_ZONE (the dashboard's From and To, inclusive);
times are kept to the tenth of a second.

The numbers are summed from tracking.rollups, which keeps them exact as events come
(and adds what the worker has not rolled up yet). A plain reference implementation
in tests/tracking/test_reports.py checks them on generated event logs, unfiltered and
filtered, with the events rolled up, pending, and half of each.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.fields.json import KT
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware

from leads.models import Lead
from quizzes.models import Quiz
from tracking import plan, rollups
from tracking.models import ConversionEvent
from tracking.people import events_by_person
from tracking.rollups import DELETED, SEP, START

NOT_SCORED = rollups.NOT_SCORED  # a lead's tier until it is scored


def report_query(fn):
    """Run a report in one snapshot: its rollups and what is still pending are read
    as of the same moment (REPEATABLE READ on PostgreSQL; SQLite's transaction holds
    the database, and a report takes milliseconds). Settings are LOCAL: they end with
    the report's transaction, so nothing stays on a pooled connection."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        connection = connections[ConversionEvent.objects.db]
        outermost = not connection.in_atomic_block  # else: in the caller's transaction
        with transaction.atomic(using=connection.alias):
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    if outermost:
                        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    cursor.execute(
                        "SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)",
                        [settings.TRACKING_REPORT_WORK_MEM],
                    )
            return fn(*args, **kwargs)

    return run


def days(start: datetime, end: datetime) -> tuple[date, date]:
    """The days (in TIME_ZONE) from `start` up to `end` (exclusive): the first and the
    last, inclusive. The dashboard passes midnights; any other moment counts its day."""
    zone = timezone.get_default_timezone()
    return (
        timezone.localdate(start, zone),
        timezone.localdate(end - timedelta(microseconds=1), zone),
    )


def _totals(quiz: Quiz, start: datetime, end: datetime, language: str, *units: str):
    first, last = days(start, end)
    return rollups.totals(quiz, first, last, language or "", units)


def _human_lead() -> Exists:
    """The start's attempt has a lead not flagged as a bot: a person who passed the
    honeypot."""
    return Exists(
        ConversionEvent.objects.filter(
            attempt_id=OuterRef("attempt_id"),
            name="lead_submitted",
            is_bot=False,
            is_preview=False,
        )
    )


def in_language(language: str) -> Q:
    """The events shown in `language` (their `language` property); every one for ""."""
    return Q(properties__language=language) if language else Q()


def _starts_sql(
    quiz: Quiz, start: datetime, end: datetime, *columns: str, language: str = "", **annotations
) -> tuple[str, list]:
    """SQL of `columns` for each counted start within the range, written as the starts
    not flagged UNION ALL those flagged with a human lead (the same rule, disjoint)."""
    base = ConversionEvent.objects.filter(
        in_language(language),
        quiz=quiz,
        name="quiz_started",
        occurred_at__gte=start,
        occurred_at__lt=end,
        is_preview=False,
        attempt__isnull=False,
    ).annotate(**annotations)
    people, p_params = _sql(base.filter(is_bot=False).values_list(*columns))
    marked, m_params = _sql(base.filter(_human_lead(), is_bot=True).values_list(*columns))
    return f"{people} UNION ALL {marked}", p_params + m_params


# The rule on the other events of a counted attempt: all count but a spam lead.
COUNTED_EVENT = Q(is_preview=False) & (Q(is_bot=False) | ~Q(name="lead_submitted"))


def run_events(quiz: Quiz, start: datetime, **filters) -> QuerySet[ConversionEvent]:
    """The quiz's events from the range's start on that count when their attempt does."""
    return ConversionEvent.objects.filter(
        COUNTED_EVENT, quiz=quiz, occurred_at__gte=start, **filters
    )


def _sql(queryset: QuerySet) -> tuple[str, list]:
    sql, params = queryset.order_by().query.sql_with_params()
    return sql, list(params)


def _fetch(queryset: QuerySet, sql: str, params: list) -> list[tuple]:
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@report_query
def bot_attempts(quiz: Quiz, start: datetime, end: datetime, language: str = "") -> int:
    """Attempts started within the range that the rule leaves out as a bot's: flagged by
    the User-Agent and never followed by a person's lead. The dashboard says how many, so
    a marketer testing with a headless browser sees why their runs are not counted."""
    totals = _totals(quiz, start, end, language, "a")
    return sum(value for *_, value in totals.of("a", "bot"))


def rate(count: int, base: int | None) -> float | None:
    """A percent with one decimal; None when there is nothing to divide by."""
    if not base:
        return None
    return round(100 * count / base, 1)


@dataclass(frozen=True)
class FunnelStep:
    key: str
    label: str
    count: int  # units that did this step
    counted: str  # what count counts, in words ("attempts that answered it")
    base: int | None  # what the step is measured against
    base_words: str  # in words ("attempts shown it"); "" when there is no base
    from_previous: float | None  # count as a percent of base
    from_start: float | None  # count as a percent of the funnel's first figure
    # Units whose last step this was and that never completed (questions and Started).
    left_here: int | None = None
    # Shown the question, never answered it, went on elsewhere (Back, another branch).
    other_path: int | None = None
    shown: int | None = None  # questions only: units that reached it (= base)


@dataclass(frozen=True)
class Funnel:
    unit: str  # "attempts" or "visitors"
    start_words: str  # the base of from_start, in words
    visitors: int  # came to the quiz: viewed its intro or started it, within the range
    started: int  # units that started within the range
    left: int  # started and never completed: the sum of the left-here column
    steps: list[FunnelStep]
    # Where the quiz's lead form goes (Quiz.LeadFormPosition): "before" puts Lead
    # submitted right after Started, against Started; the dashboard says so in words.
    lead_form: str = "after"

    def __iter__(self):
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, index):
        return self.steps[index]


@dataclass
class _Counts:
    """A funnel's figures, spread from the states of its units."""

    units: int = 0
    started: int = 0
    completed: int = 0
    leads: int = 0
    reached: dict = field(default_factory=lambda: defaultdict(int))
    answered: dict = field(default_factory=lambda: defaultdict(int))
    left: dict = field(default_factory=lambda: defaultdict(int))
    left_unanswered: dict = field(default_factory=lambda: defaultdict(int))
    came_from: dict = field(default_factory=lambda: defaultdict(int))  # visitors per source
    converted: dict = field(default_factory=lambda: defaultdict(int))  # visitors per source

    @classmethod
    def of(cls, totals, unit: str) -> _Counts:
        counts = cls()
        for _, label, _, n in totals.of(unit, "f"):
            state = rollups.state(label)
            counts.units += n
            for source in state.get("src", ()):
                counts.came_from[source] += n
            for source in state.get("conv", ()):
                counts.converted[source] += n
            if not state.get("s"):
                continue
            counts.started += n
            counts.completed += n * state.get("c", 0)
            counts.leads += n * state.get("l", 0)
            answered = set(state.get("n", ()))
            for q in state.get("r", ()):
                counts.reached[q] += n
            for q in answered:
                counts.answered[q] += n
            if "x" in state:
                where = state["x"]
                counts.left[where] += n
                if where not in (START, DELETED) and where not in answered:
                    counts.left_unanswered[where] += n
        return counts


@report_query
def funnel(
    quiz: Quiz, start: datetime, end: datetime, unit: str = "attempts", language: str = ""
) -> Funnel:
    """Started → each question → completed → lead submitted, in attempts or visitors.

    Counts are unique attempts (or the unique visitors who started them), over
    the attempts started within the range, each followed to its end. A
    question's figure is the units that answered it, against the units that
    reached it (shown it, or answered it without a recorded view), so a branch that
    skips a question is not drop-off. Completed is against Started, Lead against
    Completed. Each unit that never completed is "left here" at exactly one step,
    the last one it was on (its latest question event), so that column adds up to
    Started − Completed. In visitors the funnel starts with the visitors who came
    (viewed the intro or started); in attempts that figure stands apart, since a
    visitor may start more than once.
    """
    totals = _totals(quiz, start, end, language, "a", "v")
    visitors = _Counts.of(totals, "v")
    counts = visitors if unit == "visitors" else _Counts.of(totals, "a")
    came = visitors.units
    started = counts.started
    first = started if unit == "attempts" else came
    start_words = f"{unit} started" if unit == "attempts" else "visitors who came"
    left_here = dict(counts.left)
    steps: list[FunnelStep] = []

    def add(key, label, count, counted, base, base_words, **extra):
        steps.append(
            FunnelStep(
                key=key,
                label=label,
                count=count,
                counted=counted,
                base=base,
                base_words=base_words if base is not None else "",
                from_previous=rate(count, base),
                from_start=rate(count, first),
                **extra,
            )
        )

    if unit == "visitors":
        add("came", "Came to the quiz", came, "visitors who viewed the intro or started", None, "")
    add(
        "quiz_started",
        "Started",
        started,
        f"{unit} started",
        came if unit == "visitors" else None,
        "visitors who came",
        left_here=left_here.pop(START, 0),
    )
    for number, question in enumerate(quiz.ordered_questions(), start=1):
        # Shown ⊇ answered: a unit that answered without a recorded view reached it too.
        shown = counts.reached.get(question.pk, 0)
        did = counts.answered.get(question.pk, 0)
        left = left_here.pop(question.pk, 0)
        add(
            f"question_{question.pk}",
            f"Q{number}. {question.text}",
            did,
            f"{unit} that answered it",
            shown,
            f"{unit} shown it",
            left_here=left,
            other_path=shown - did - counts.left_unanswered.get(question.pk, 0),
            shown=shown,
        )
    gone = sum(left_here.values())  # last seen on a question deleted since
    if gone:
        add("deleted", "Questions deleted since", 0, "", None, "", left_here=gone)
    completed = counts.completed
    add("quiz_completed", "Completed", completed, f"{unit} completed", started, f"{unit} started")
    # With the form before the questions, a lead is the step right after Started,
    # measured against the units started (a lead may never complete); else it follows
    # Completed, against it.
    first_form = quiz.lead_first
    base, base_words = (started, "started") if first_form else (completed, "completed")
    add(
        "lead_submitted",
        "Lead submitted",
        counts.leads,
        f"{unit} with a lead submitted",
        base,
        f"{unit} {base_words}",
    )
    if first_form:
        steps.insert(2 if unit == "visitors" else 1, steps.pop())
    return Funnel(
        unit=unit,
        start_words=start_words,
        visitors=came,
        started=started,
        left=started - completed,
        steps=steps,
        lead_form=quiz.lead_form_position,
    )


def _ranked(at, n: int, q: float) -> float:
    position = (n - 1) * q
    low = math.floor(position)
    high = min(low + 1, n - 1)
    return at(low) + (at(high) - at(low)) * (position - low)


def histogram_percentile(counts: dict[int, int], q: float) -> float | None:
    """The q-th percentile (0..1, linear interpolation between closest ranks) of values
    given as {tenths of a second: how many}."""
    n = sum(counts.values())
    if not n:
        return None
    ordered = sorted(counts.items())

    def at(rank: int) -> float:
        seen = 0
        for tenths, many in ordered:
            seen += many
            if rank < seen:
                return tenths / 10
        raise IndexError(rank)

    return _ranked(at, n, q)


@dataclass(frozen=True)
class Timing:
    label: str
    count: int
    median_s: float | None
    p90_s: float | None


@report_query
def timing(quiz: Quiz, start: datetime, end: datetime, language: str = "") -> list[Timing]:
    """Time to complete (quiz_started → quiz_completed) and per question (shown → answered),
    in attempts: those started within the range, whenever they finished; each time in
    tenths of a second."""
    by_question: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for question, _, tenths, n in _totals(quiz, start, end, language, "a").of("a", "time"):
        by_question[question][tenths] += n
    rows = [_timing("Whole quiz", by_question.get(0, {}))]
    for number, question in enumerate(quiz.ordered_questions(), start=1):
        rows.append(_timing(f"Q{number}. {question.text}", by_question.get(question.pk, {})))
    return rows


def _timing(label: str, counts: dict[int, int]) -> Timing:
    def rounded(value):
        return None if value is None else round(value, 1)

    return Timing(
        label,
        sum(counts.values()),
        rounded(histogram_percentile(counts, 0.5)),
        rounded(histogram_percentile(counts, 0.9)),
    )


@dataclass
class SourceRow:
    source: str
    medium: str
    campaign: str
    referrer: str
    visitors: int = 0  # unique visitors who viewed the intro or started
    converted: int = 0  # of those, the unique visitors who submitted a lead
    leads: int = 0  # submissions: a visitor may submit more than once
    average_percent: float | None = None  # per submission
    tiers: dict[str, int] = field(default_factory=dict)  # submissions per tier

    @property
    def conversion(self) -> float | None:
        """Converted visitors as a percent of visitors: never above 100."""
        return rate(self.converted, self.visitors)


FIRST_TOUCH = ("ft_source", "ft_medium", "ft_campaign", "ft_referrer")


@report_query
def sources(quiz: Quiz, start: datetime, end: datetime, language: str = "") -> list[SourceRow]:
    """First-touch source, medium, campaign and referrer: visitors, converted visitors,
    conversion, submissions, average score and tier mix. Visitors are those who viewed
    the intro or started within the range, under the first touch of each such view or
    start; submissions those of the attempts they started, under the start's."""
    totals = _totals(quiz, start, end, language, "a", "v")
    table: dict[str, SourceRow] = {}

    def row(label: str) -> SourceRow:
        if label not in table:
            table[label] = SourceRow(*label.split(SEP))
        return table[label]

    visitors = _Counts.of(totals, "v")
    for label, n in visitors.came_from.items():
        row(label).visitors = n
    for label, n in visitors.converted.items():
        row(label).converted = n
    for _, label, _, n in totals.of("a", "tier"):
        source, tier = label.rsplit(SEP, 1)
        entry = row(source)
        entry.leads += n
        entry.tiers[tier] = entry.tiers.get(tier, 0) + n
    # The average is over the leads with a score (a lead who gave their e-mail first
    # and never completed has none).
    scored = {label: n for _, label, _, n in totals.of("a", "pn")}
    for _, label, _, total in totals.of("a", "psum"):
        if scored.get(label):
            row(label).average_percent = round(total / scored[label], 1)
    for label in scored:
        if row(label).average_percent is None:
            row(label).average_percent = 0.0  # scored leads whose percents sum to 0
    return sorted(table.values(), key=lambda r: (-r.leads, -r.visitors, r.source, r.medium))


@dataclass
class AttributionRow:
    source: str
    first_touch_leads: int = 0
    last_touch_leads: int = 0
    first_touch_hot: int = 0
    last_touch_hot: int = 0


@report_query
def attribution(
    quiz: Quiz, start: datetime, end: datetime, language: str = ""
) -> list[AttributionRow]:
    """Submissions and hot ones (the quiz's top tier) by first-touch and by last-touch
    source, of the attempts started within the range."""
    totals = _totals(quiz, start, end, language, "a")
    table: dict[str, AttributionRow] = {}
    for key, name in (
        ("ftl", "first_touch_leads"),
        ("fth", "first_touch_hot"),
        ("ltl", "last_touch_leads"),
        ("lth", "last_touch_hot"),
    ):
        for _, source, _, n in totals.of("a", key):
            entry = table.setdefault(source, AttributionRow(source))
            setattr(entry, name, getattr(entry, name) + n)
    return sorted(
        table.values(), key=lambda r: (-r.first_touch_leads, -r.last_touch_leads, r.source)
    )


@dataclass
class PastLeadRow:
    """Leads of one group (a tier, a first-touch source, or all) and how many went on."""

    label: str
    leads: int = 0
    reached: list[int] = field(default_factory=list)  # leads that reached each step

    def steps(self) -> list[tuple[int, float | None, float | None]]:
        """(leads that reached it, % of the step before, % of the leads) for each step."""
        result, before = [], self.leads
        for n in self.reached:
            result.append((n, rate(n, before), rate(n, self.leads)))
            before = n
        return result


@dataclass
class PastLead:
    """The funnel past the lead: leads → each declared step (demo booked → deal won)."""

    steps: list[tuple[str, str]]  # (event name, label)
    total: PastLeadRow
    by_tier: list[PastLeadRow]
    by_source: list[PastLeadRow]


PAST_LEAD_WORDS = (
    "Unit: leads (submissions) of the attempts started within the range, counted as in the "
    "funnel. A lead reaches a step when another system sent that event for its person (by "
    "the e-mail an identify call linked, or a userId that is the e-mail) at or after the lead "
    "was sent, and reached every step before it. Under each count: % of the step before · "
    "% of leads."
)


def _step_label(spec) -> str:
    return spec.timeline_text or spec.name.replace("_", " ").capitalize()


@report_query
def past_lead(quiz: Quiz, start: datetime, end: datetime, language: str = "") -> PastLead | None:
    """Leads → each custom event that has a funnel step, by tier and by first-touch source;
    None when no custom event is a step."""
    specs = sorted(
        (s for s in plan.declared().values() if s.funnel_position),
        key=lambda s: s.funnel_position,
    )
    if not specs:
        return None
    names = [s.name for s in specs]
    s_sql, s_params = _starts_sql(quiz, start, end, "attempt_id", "ft_source", language=language)
    leads = run_events(quiz, start, name="lead_submitted").annotate(tier=KT("properties__tier"))
    l_sql, l_params = _sql(leads.values_list("attempt_id", "lead_id", "tier", "occurred_at"))
    rows = _fetch(
        ConversionEvent.objects,
        f"SELECT l.lead_id, l.tier, s.ft_source, l.occurred_at FROM ({l_sql}) AS l"
        f" JOIN ({s_sql}) AS s ON s.attempt_id = l.attempt_id",
        l_params + s_params,
    )
    emails = dict(
        Lead.objects.filter(pk__in={r[0] for r in rows if r[0]}).values_list("pk", "email")
    )
    by_person = events_by_person(emails.values(), types=["track"], name__in=names)
    total = PastLeadRow("All leads", reached=[0] * len(names))
    tiers: dict[str, PastLeadRow] = {}
    sources_: dict[str, PastLeadRow] = {}
    for lead_id, tier, source, sent_at in rows:
        sent_at = _aware(sent_at)
        events = by_person.get(emails.get(lead_id, ""), [])
        depth = 0
        for name in names:
            if not any(e.name == name and e.occurred_at >= sent_at for e in events):
                break
            depth += 1
        groups = (
            total,
            tiers.setdefault(tier or "", PastLeadRow(tier or "(none)", reached=[0] * len(names))),
            sources_.setdefault(
                source or "", PastLeadRow(source or "(none)", reached=[0] * len(names))
            ),
        )
        for group in groups:
            group.leads += 1
            for i in range(depth):
                group.reached[i] += 1
    tier_order = {t.name: t.min_percent for t in quiz.tiers.all()}
    return PastLead(
        steps=[(s.name, _step_label(s)) for s in specs],
        total=total,
        by_tier=sorted(tiers.values(), key=lambda r: (-tier_order.get(r.label, -1), r.label)),
        by_source=sorted(sources_.values(), key=lambda r: (-r.leads, r.label)),
    )


def _aware(moment):
    """A time from a raw query: SQLite gives text or naive datetimes (in UTC)."""
    if isinstance(moment, str):
        moment = parse_datetime(moment)
    return make_aware(moment, UTC) if is_naive(moment) else moment
