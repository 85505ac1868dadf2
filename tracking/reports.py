"""Reports computed from conversion events, the source of truth.

One rule decides what counts, in every report: an attempt counts when it is not a
preview and either its start is not flagged as a bot or it has a lead that is not
(a person who typed an e-mail and passed the honeypot, whatever their User-Agent
looked like); all the events of a counted attempt count, except a lead flagged by
the honeypot (spam stays out, as in the sales inbox). A report counts the attempts
that *started* within the date range (by their quiz_started event), each one whole:
all its events count, even those after the range ends. Filtering the events
by date instead would cut runs in two, and a step could exceed the one before
it. Views of the intro come before any attempt and count when they happened
within the range. Filtered by a language, a report counts the attempts whose start
was in it (the `language` of quiz_started: chosen at the start, kept for the run)
and the views of the intro shown in it. A plain reference implementation in
tests/tracking/test_reports.py checks these numbers on generated event logs, unfiltered
and filtered.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import connections, transaction
from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware

from leads.models import Lead
from quizzes.models import Quiz
from tracking import plan
from tracking.models import ConversionEvent
from tracking.people import events_by_person

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


def in_language(language: str) -> Q:
    """The events shown in `language` (their `language` property); every one for ""."""
    return Q(properties__language=language) if language else Q()


def _human_lead() -> Exists:
    """The start's attempt has a lead not flagged as a bot: a person who passed the
    honeypot. Correlated: it is looked up (on event_once_per_attempt) only for the few
    starts flagged as bots."""
    return Exists(
        ConversionEvent.objects.filter(
            attempt_id=OuterRef("attempt_id"),
            name="lead_submitted",
            is_bot=False,
            is_preview=False,
        )
    )


def _human_leads(quiz: Quiz, start: datetime) -> QuerySet[ConversionEvent]:
    """attempt_id of the quiz's leads not flagged as bots from the range's start on (a
    lead comes after its start), read from the report index."""
    return ConversionEvent.objects.filter(
        quiz=quiz, name="lead_submitted", occurred_at__gte=start, is_bot=False, is_preview=False
    ).values("attempt_id")


def _counted_start() -> Q:
    """The rule on a quiz_started event: not a preview, and not flagged as a bot or
    followed by a lead that is not. The User-Agent's guess marks; it never drops a person
    who gave their e-mail, so the dashboard counts the leads the inbox shows."""
    return Q(is_preview=False) & (Q(is_bot=False) | _human_lead())


def _starts_sql(
    quiz: Quiz, start: datetime, end: datetime, *columns: str, language: str = "", **annotations
) -> tuple[str, list]:
    """SQL of `columns` for each start attempts_started selects, written as the starts not
    flagged UNION ALL those flagged with a human lead (the same rule, the two cases
    disjoint). One OR with a subquery would leave the planner guessing the starts' size:
    it then loops over the events where it should hash the starts."""
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


def attempts_started(
    quiz: Quiz, start: datetime, end: datetime, language: str = ""
) -> QuerySet[ConversionEvent]:
    """The quiz_started events of the attempts a report counts: started within the range
    (in `language`, when given) and counted by the rule (see the module's docstring)."""
    return ConversionEvent.objects.filter(
        _counted_start(),
        in_language(language),
        quiz=quiz,
        name="quiz_started",
        occurred_at__gte=start,
        occurred_at__lt=end,
        attempt__isnull=False,
    )


@report_query
def bot_attempts(quiz: Quiz, start: datetime, end: datetime, language: str = "") -> int:
    """Attempts started within the range that the rule leaves out as a bot's: flagged by
    the User-Agent and never followed by a person's lead. The dashboard says how many, so
    a marketer testing with a headless browser sees why their runs are not counted."""
    return ConversionEvent.objects.filter(
        ~_human_lead(),
        in_language(language),
        quiz=quiz,
        name="quiz_started",
        occurred_at__gte=start,
        occurred_at__lt=end,
        is_preview=False,
        is_bot=True,
        attempt__isnull=False,
    ).count()


def run_events(quiz: Quiz, start: datetime, **filters) -> QuerySet[ConversionEvent]:
    """The quiz's events from the range's start on that count when their attempt does
    (every event of an attempt comes after its start: the range's start bounds the scan,
    on the report index; the range's end does not)."""
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


def _starts(
    quiz: Quiz, start: datetime, end: datetime, unit: str, language: str = ""
) -> tuple[str, list]:
    """SQL of (attempt_id, unit) for each attempt started in the range: its unit is the
    attempt itself or the visitor who started it (even if they finished on another
    device)."""
    return _starts_sql(
        quiz, start, end, "attempt_id", "unit", language=language, unit=F(UNITS[unit])
    )


def _run_rows(
    quiz: Quiz, start: datetime, end: datetime, unit: str, names: list[str], language: str = ""
) -> tuple[str, list]:
    """SQL and params of (unit, name, question_id, occurred_at, id) for the events named
    `names` of the attempts started in the range, all of them, whenever they happened.

    The starts are a subquery, not a CTE of their own, so that the planner sees their
    size and hashes them, the smaller side, rather than the events.
    """
    s_sql, s_params = _starts(quiz, start, end, unit, language)
    events = run_events(quiz, start, name__in=names)
    e_sql, e_params = _sql(
        events.values_list("attempt_id", "name", "question_id", "occurred_at", "id")
    )
    sql = (
        "SELECT s.unit, e.name, e.question_id, e.occurred_at, e.id "
        f"FROM ({e_sql}) AS e JOIN ({s_sql}) AS s ON s.attempt_id = e.attempt_id"
    )
    return sql, e_params + s_params


def _runs(
    quiz: Quiz,
    start: datetime,
    end: datetime,
    unit: str,
    names: list[str],
    *,
    name: str = "r",
    language: str = "",
) -> tuple[str, list]:
    """The same rows as _run_rows, as a CTE called `name`."""
    sql, params = _run_rows(quiz, start, end, unit, names, language)
    return f"{name} AS ({sql})", params


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


QUESTION_EVENTS = ["question_viewed", "question_answered", "answer_changed"]


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


@report_query
def funnel(
    quiz: Quiz, start: datetime, end: datetime, unit: str = "attempts", language: str = ""
) -> Funnel:
    """Started → each question → completed → lead submitted, in attempts or visitors.

    Counts are unique attempts (or the unique visitors who started them), over
    the attempts started within the range, each followed to its end. A
    question's figure is the units that answered it, against the units that
    reached it (shown it), so a branch that skips a question is not drop-off.
    Completed is against Started, Lead against Completed. Each unit that never
    completed is "left here" at exactly one step, the last one it was on, so
    that column adds up to Started − Completed. In visitors the funnel starts
    with the visitors who came (viewed the intro or started); in attempts that
    figure stands apart, since a visitor may start more than once.
    """
    names = ["question_viewed", "question_answered", "quiz_completed", "lead_submitted"]
    runs, params = _runs(quiz, start, end, unit, names, language=language)
    s_sql, s_params = _starts(quiz, start, end, unit, language)
    if unit == "attempts":
        # Once-only events are unique per attempt in the database itself, so a
        # plain count (over the join) is the count of unique attempts, and cheaper.
        steps_sql = "SELECT name, question_id, COUNT(*) FROM r GROUP BY name, question_id"
    else:
        steps_sql = (
            "SELECT name, question_id, COUNT(*) FROM (SELECT DISTINCT unit, name, question_id"
            " FROM r) AS d GROUP BY name, question_id"
        )
    by_name: dict[str, int] = defaultdict(int)
    by_question: dict[tuple[str, int], int] = defaultdict(int)
    rows = _fetch(
        ConversionEvent.objects,
        f"WITH {runs} SELECT 'quiz_started', NULL, COUNT(DISTINCT unit) FROM ({s_sql}) AS s "
        f"UNION ALL {steps_sql}",
        params + s_params,
    )
    for name, question_id, n in rows:
        if name in ("question_viewed", "question_answered"):
            if question_id is not None:  # a deleted question has no step any more
                by_question[(name, question_id)] = n
        else:
            by_name[name] = n
    # A question is reached by the units shown it, and by any that answered it without
    # a recorded view (a form posted straight to the step, say), so that no step
    # can exceed its base whatever the log holds.
    for question_id, n in _answered_unseen(quiz, start, end, unit, language):
        by_question[("question_viewed", question_id)] += n
    started = by_name["quiz_started"]
    left_here, left_unanswered = _left_here(quiz, start, end, unit, language)

    visitors = _visitors_who_came(quiz, start, end, language)
    first = started if unit == "attempts" else visitors
    start_words = f"{unit} started" if unit == "attempts" else "visitors who came"
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
        add(
            "came",
            "Came to the quiz",
            visitors,
            "visitors who viewed the intro or started",
            None,
            "",
        )
    add(
        "quiz_started",
        "Started",
        started,
        f"{unit} started",
        visitors if unit == "visitors" else None,
        "visitors who came",
        left_here=left_here.pop("start", 0),
    )
    for number, question in enumerate(quiz.ordered_questions(), start=1):
        # The step page records the view before an answer can be sent: shown ⊇ answered.
        shown = by_question.get(("question_viewed", question.pk), 0)
        did = by_question.get(("question_answered", question.pk), 0)
        left = left_here.pop(question.pk, 0)
        add(
            f"question_{question.pk}",
            f"Q{number}. {question.text}",
            did,
            f"{unit} that answered it",
            shown,
            f"{unit} shown it",
            left_here=left,
            other_path=shown - did - left_unanswered.get(question.pk, 0),
            shown=shown,
        )
    gone = sum(left_here.values())  # last seen on a question deleted since
    if gone:
        add("deleted", "Questions deleted since", 0, "", None, "", left_here=gone)
    completed = by_name["quiz_completed"]
    add("quiz_completed", "Completed", completed, f"{unit} completed", started, f"{unit} started")
    # With the form before the questions, a lead is the step right after Started,
    # measured against the units started (a lead may never complete); else it follows
    # Completed, against it.
    first_form = quiz.lead_first
    base, base_words = (started, "started") if first_form else (completed, "completed")
    leads = by_name["lead_submitted"]
    add(
        "lead_submitted",
        "Lead submitted",
        leads,
        f"{unit} with a lead submitted",
        base,
        f"{unit} {base_words}",
    )
    if first_form:
        steps.insert(2 if unit == "visitors" else 1, steps.pop())
    return Funnel(
        unit=unit,
        start_words=start_words,
        visitors=visitors,
        started=started,
        left=started - completed,
        steps=steps,
        lead_form=quiz.lead_form_position,
    )


def _left_here(
    quiz: Quiz, start: datetime, end: datetime, unit: str, language: str = ""
) -> tuple[dict, dict]:
    """Where each unit that never completed left: the question of its last question
    event (latest in time, then in recording), or "start" when it saw none.

    Returns ({question_id or "start" or None: units}, {question_id: those of them
    that never answered it}). None is a question deleted since.
    """
    s_sql, s_params = _starts(quiz, start, end, unit, language)
    if unit == "attempts":
        # An event's attempt is its unit: no need to go through the starts again.
        def named(names):
            events = run_events(quiz, start, name__in=names).annotate(unit=F("attempt_id"))
            return _sql(events.values_list("unit", "name", "question_id", "occurred_at", "id"))

        d_sql, d_params = named(["quiz_completed"])
        q_sql, q_params = named(QUESTION_EVENTS)
        runs = f"done AS ({d_sql}), r AS ({q_sql})"
        params = d_params + q_params
    else:
        done, d_params = _runs(
            quiz, start, end, unit, ["quiz_completed"], name="done", language=language
        )
        runs, q_params = _runs(quiz, start, end, unit, QUESTION_EVENTS, language=language)
        runs, params = f"{done}, {runs}", d_params + q_params
    # Only the question events of the units that left are sorted.
    rows = _fetch(
        ConversionEvent.objects,
        f"WITH {runs}, "
        f"open AS (SELECT unit FROM ({s_sql}) AS s EXCEPT SELECT unit FROM done), "
        "q AS (SELECT unit, name, question_id, occurred_at, id FROM r"
        " WHERE unit IN (SELECT unit FROM open)), "
        "last AS (SELECT unit, question_id FROM (SELECT unit, question_id, ROW_NUMBER()"
        " OVER (PARTITION BY unit ORDER BY occurred_at DESC, id DESC) AS n FROM q) AS w"
        " WHERE n = 1), "
        "ans AS (SELECT DISTINCT unit, question_id FROM q WHERE name = 'question_answered') "
        "SELECT last.unit IS NOT NULL, last.question_id,"
        " CASE WHEN ans.unit IS NULL THEN 0 ELSE 1 END, COUNT(*) "
        "FROM open LEFT JOIN last ON last.unit = open.unit "
        "LEFT JOIN ans ON ans.unit = last.unit AND ans.question_id = last.question_id "
        "GROUP BY 1, 2, 3",
        params + s_params,
    )
    left: dict = defaultdict(int)
    unanswered: dict = defaultdict(int)
    for on_a_question, question_id, did_answer, n in rows:
        where = question_id if on_a_question else "start"
        left[where] += n
        if on_a_question and not did_answer:
            unanswered[question_id] += n
    return left, unanswered


def _answered_unseen(
    quiz: Quiz, start: datetime, end: datetime, unit: str, language: str = ""
) -> list[tuple]:
    """(question_id, units) that answered (or changed) a question without being shown it.

    Subqueries rather than CTEs: a CTE used twice would be kept whole in memory.
    """
    a_sql, a_params = _run_rows(
        quiz, start, end, unit, ["question_answered", "answer_changed"], language
    )
    v_sql, v_params = _run_rows(quiz, start, end, unit, ["question_viewed"], language)
    return _fetch(
        ConversionEvent.objects,
        f"SELECT a.question_id, COUNT(DISTINCT a.unit) FROM ({a_sql}) AS a"
        f" WHERE a.question_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ({v_sql}) AS v"
        " WHERE v.unit = a.unit AND v.question_id = a.question_id) GROUP BY a.question_id",
        a_params + v_params,
    )


def came(
    quiz: Quiz, start: datetime, end: datetime, language: str = ""
) -> QuerySet[ConversionEvent]:
    """The events that bring a visitor to the quiz within the range: views of the intro
    not flagged as a bot or preview, and the starts of the attempts that count (the same
    rule as attempts_started: a start always has its attempt)."""
    return ConversionEvent.objects.filter(
        # Flagged views never count, flagged starts by the rule. Written as one condition
        # on all the rows (not one per name), the leads as a set hashed once from the
        # report index: the planner then sizes the rows right and hashes them, where a
        # correlated EXISTS here made it sort them.
        Q(is_bot=False)
        | Q(attempt_id__in=Subquery(_human_leads(quiz, start)), name="quiz_started"),
        in_language(language),
        quiz=quiz,
        is_preview=False,
        name__in=["quiz_viewed", "quiz_started"],
        occurred_at__gte=start,
        occurred_at__lt=end,
    )


def _visitors_who_came(quiz: Quiz, start: datetime, end: datetime, language: str = "") -> int:
    """Unique visitors who viewed the intro or started an attempt within the range."""
    [(n,)] = count_distinct(came(quiz, start, end, language), [], "visitor_id")
    return n


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
def timing(quiz: Quiz, start: datetime, end: datetime, language: str = "") -> list[Timing]:
    """Time to complete (quiz_started → quiz_completed) and per question (shown → answered),
    in attempts: those started within the range, whenever they finished."""
    events = run_events(
        quiz,
        start,
        attempt_id__in=Subquery(attempts_started(quiz, start, end, language).values("attempt_id")),
    )
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


def _leads(
    quiz: Quiz, start: datetime, end: datetime, *touch: str, language: str = ""
) -> tuple[str, list]:
    """SQL of the leads of the attempts started within the range, with the start's
    visitor and touch columns (an attempt's attribution is fixed when it starts)."""
    s_sql, s_params = _starts_sql(
        quiz, start, end, "attempt_id", "visitor_id", *touch, language=language
    )
    leads = run_events(quiz, start, name="lead_submitted").annotate(
        tier=KT("properties__tier"),
        percent=Cast(KT("properties__percent"), IntegerField()),
        hot=Case(When(properties__top_tier=True, then=1), default=0),
    )
    l_sql, l_params = _sql(leads.values_list("attempt_id", "tier", "percent", "hot"))
    # A lead whose form came before the questions has its score in lead_scored (none
    # yet if they have not completed: no percent, tier NOT_SCORED).
    scored = run_events(quiz, start, name="lead_scored").annotate(
        tier=KT("properties__tier"),
        percent=Cast(KT("properties__percent"), IntegerField()),
        hot=Case(When(properties__top_tier=True, then=1), default=0),
    )
    sc_sql, sc_params = _sql(scored.values_list("attempt_id", "tier", "percent", "hot"))
    columns = ", ".join(f"s.{c}" for c in touch)
    sql = (
        f"SELECT s.visitor_id, {columns}, COALESCE(sc.tier, l.tier, %s) AS tier, "
        "COALESCE(sc.percent, l.percent) AS percent, COALESCE(sc.hot, l.hot) AS hot "
        f"FROM ({l_sql}) AS l JOIN ({s_sql}) AS s ON s.attempt_id = l.attempt_id "
        f"LEFT JOIN ({sc_sql}) AS sc ON sc.attempt_id = l.attempt_id"
    )
    return sql, [NOT_SCORED, *l_params, *s_params, *sc_params]


NOT_SCORED = "not scored yet"


@report_query
def sources(quiz: Quiz, start: datetime, end: datetime, language: str = "") -> list[SourceRow]:
    """First-touch source, medium, campaign and referrer: visitors, converted visitors,
    conversion, submissions, average score and tier mix. Visitors are those who viewed
    the intro or started within the range; submissions those of the attempts they started."""
    table: dict[tuple, SourceRow] = {}

    def row(key) -> SourceRow:
        if key not in table:
            table[key] = SourceRow(*key)
        return table[key]

    touch = ", ".join(FIRST_TOUCH)
    came_here = came(quiz, start, end, language)
    for *key, n in count_distinct(came_here, list(FIRST_TOUCH), "visitor_id"):
        row(tuple(key)).visitors = n
    l_sql, l_params = _leads(quiz, start, end, *FIRST_TOUCH, language=language)
    for *key, n in _fetch(
        ConversionEvent.objects,
        f"SELECT {touch}, COUNT(*) FROM (SELECT DISTINCT visitor_id, {touch} FROM ({l_sql}) AS l)"
        f" AS c GROUP BY {touch}",
        l_params,
    ):
        row(tuple(key)).converted = n
    # The average is over the leads with a score (a lead who gave their e-mail first
    # and never completed has none).
    percent_sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for *key, tier, n, total, with_score in _fetch(
        ConversionEvent.objects,
        f"SELECT {touch}, tier, COUNT(*), SUM(percent), COUNT(percent) FROM ({l_sql}) AS l "
        f"GROUP BY {touch}, tier",
        l_params,
    ):
        entry = row(tuple(key))
        entry.leads += n
        entry.tiers[tier] = n
        percent_sums[tuple(key)][0] += total or 0
        percent_sums[tuple(key)][1] += with_score
    for key, (total, with_score) in percent_sums.items():
        if with_score:
            table[key].average_percent = round(total / with_score, 1)
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
    l_sql, l_params = _leads(quiz, start, end, "ft_source", "lt_source", language=language)
    table: dict[str, AttributionRow] = {}
    for touch, column in (("first_touch", "ft_source"), ("last_touch", "lt_source")):
        for source, n, hot in _fetch(
            ConversionEvent.objects,
            f"SELECT {column}, COUNT(*), SUM(hot) FROM ({l_sql}) AS l GROUP BY {column}",
            l_params,
        ):
            entry = table.setdefault(source, AttributionRow(source))
            setattr(entry, f"{touch}_leads", n)
            setattr(entry, f"{touch}_hot", int(hot or 0))
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
