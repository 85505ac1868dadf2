"""Rollups: what the reports count, kept as the events come, exact whenever read.

The reports (tracking.reports) count whole units, attempts or visitors, over the days
their attempts started, by the rule in that module's docstring. Everything a unit
counts for is decided by its own events: so the numbers are kept as the sum, over
every visitor, of `contributions(their events)`, rows of (language, unit, key, days,
label, number) → value in the Rollup table. A report sums the rows of its range.

Exact, not estimated:

- An attempt counts on the day it started (lo=0, hi=nxt-bounds that always hold).
- A visitor counts once in a range however many of their days it holds. For every run
  of their days d_i..d_j (at most 365 days apart: no range is longer) they leave one
  row with what those days add up to, and pointers: the day before (lo = d_{i-1}, 0 if
  none) and after (nxt = d_{j+1}). A range A..B holds exactly the days d_i..d_j with
  lo < A <= d_i and d_j <= B < nxt, so it counts exactly one of a visitor's rows, the
  one for the days it holds, whatever the visitor did outside it (where they left,
  what they answered, which sources brought them).
- A unit's state is written as one label (a signature), so a row counts a unit, not
  one of its steps: the reports read each distinct state once and spread it.

Kept as they come: a trigger writes a PendingEvent for every event inserted, in the
inserting transaction (tracking/migrations/0009_rollups.py). `flush()`, run by the
worker every few seconds, takes pending events, reloads every event of the visitors
they belong to, and adds contributions(all) − contributions(all but the pending) to
the rollups, deleting those pending rows in the same transaction. A report adds the
same difference for what is still pending, read in one snapshot with the rollups: it
is exact if the worker is a second or an hour behind (only slower).

Whatever changes an event's counted fields in place (erasure, a question deleted)
runs inside `rewriting()`, which takes the visitors' contributions out before and
puts them back after.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import NamedTuple

import psycopg
from django.conf import settings
from django.db import connections, transaction
from django.db.models import Case, IntegerField, QuerySet, Sum, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from tracking.models import (
    ROLLUP_KEYS,
    ConversionEvent,
    PendingEvent,
    Rollup,
    RollupLabel,
    RollupState,
)

NEVER = 10**7  # nxt of a visitor's last day: later than any day (date ordinals < 4e6)
SPAN_DAYS = 365  # the longest range the dashboard takes is 366 days: A..A+365
NOT_SCORED = "not scored yet"
QUESTION_EVENTS = ("question_viewed", "question_answered", "answer_changed")
START, DELETED = 0, -1  # where a unit left: before any question, on a question deleted since
SEP = "\x1f"  # between the parts of a source's label

# A row's key, unit, and its place in the table.
Row = tuple  # (language, unit, key, day, lo, hi, nxt, question_id, label, number)


def day_of(moment: datetime) -> int:
    """The day (ordinal) a moment falls on in TIME_ZONE, the dashboard's days."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(timezone.get_default_timezone()).toordinal()


def tenths(microseconds: int) -> int:
    """A duration in tenths of a second, half up: the reports' unit of time."""
    return (max(0, microseconds) + 50_000) // 100_000


class Event(NamedTuple):
    id: int
    name: str
    attempt_id: int | None
    question_id: int | None
    visitor_id: str
    occurred_at: datetime
    is_bot: bool
    is_preview: bool
    language: str
    duration_ms: int | None
    tier: str | None
    percent: int | None
    hot: int
    ft: tuple[str, str, str, str]
    lt_source: str

    @property
    def counts(self) -> bool:
        """The rule on the events of a counted attempt: all count but a spam lead."""
        return not self.is_preview and (not self.is_bot or self.name != "lead_submitted")


COLUMNS = (
    "id",
    "name",
    "attempt_id",
    "question_id",
    "visitor_id",
    "occurred_at",
    "is_bot",
    "is_preview",
    "e_language",
    "e_duration",
    "e_tier",
    "e_percent",
    "e_hot",
    "ft_source",
    "ft_medium",
    "ft_campaign",
    "ft_referrer",
    "lt_source",
)


def _columns(events: QuerySet[ConversionEvent], *extra: str) -> QuerySet:
    return events.annotate(
        e_language=KT("properties__language"),
        e_duration=Cast(KT("properties__duration_ms"), IntegerField()),
        e_tier=KT("properties__tier"),
        e_percent=Cast(KT("properties__percent"), IntegerField()),
        e_hot=Case(When(properties__top_tier=True, then=1), default=0),
    ).values_list(*COLUMNS, *extra)


def _event(row) -> Event:
    eid, name, attempt, question, visitor, at, bot, preview, lang, dur, tier, pct, hot = row[:13]
    return Event(
        eid, name, attempt, question, visitor, at, bool(bot), bool(preview), lang or "", dur,
        tier, pct, int(hot or 0), row[13:17], row[17],
    )  # fmt: skip


@dataclass
class Run:
    """What one counted attempt did (its counted events)."""

    day: int
    language: str
    ft: tuple
    lt_source: str
    reached: set = field(default_factory=set)
    answered: set = field(default_factory=set)
    completed: bool = False
    lead: bool = False
    last: tuple | None = None  # (occurred_at, id, question) of its last question event
    tier: str = NOT_SCORED
    percent: int | None = None
    hot: int = 0
    duration: int | None = None  # tenths of a second, start to completed
    per_question: dict = field(default_factory=dict)  # question → tenths, shown → answered

    @classmethod
    def of(cls, start: Event, events: list[Event]) -> Run:
        run = cls(day_of(start.occurred_at), start.language, start.ft, start.lt_source)
        shown: dict = {}
        answered_at: dict = {}
        lead = scored = None
        for e in sorted(events, key=lambda e: (e.occurred_at, e.id)):
            if e.name in QUESTION_EVENTS:
                q = e.question_id if e.question_id is not None else DELETED
                run.last = (e.occurred_at, e.id, q)
                if e.question_id is None:
                    continue
                run.reached.add(q)
                if e.name == "question_viewed":
                    shown[q] = e.occurred_at
                elif e.name == "question_answered":
                    run.answered.add(q)
                    answered_at[q] = e.occurred_at
            elif e.name == "quiz_completed":
                run.completed = True
                if e.duration_ms is not None:
                    run.duration = tenths(e.duration_ms * 1000)
            elif e.name == "lead_submitted":
                lead = e
            elif e.name == "lead_scored":
                scored = e
        for q, at in answered_at.items():
            if q in shown:
                delta = at - shown[q]
                run.per_question[q] = tenths(
                    (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
                )
        if lead is not None:
            run.lead = True
            # A lead whose form came before the questions is scored by lead_scored.
            tier = scored.tier if scored is not None else None
            run.tier = tier if tier is not None else (lead.tier or NOT_SCORED)
            percent = scored.percent if scored is not None else None
            run.percent = percent if percent is not None else lead.percent
            run.hot = scored.hot if scored is not None else lead.hot
        return run

    def left(self) -> int | None:
        """Where it left (a question, START or DELETED); None when it completed."""
        if self.completed:
            return None
        return self.last[2] if self.last else START


def _sig(**parts) -> str:
    """A unit's state as a label: what it did, and where it left (x, when it did)."""
    kept = {k: v for k, v in parts.items() if v or (k == "x" and v is not None)}
    return json.dumps(kept, separators=(",", ":"), sort_keys=True)


def _languages(language: str) -> tuple[str, ...]:
    """The rollups a run shown in `language` counts in: its own and every language ("")."""
    return (language, "") if language else ("",)


def source_label(ft: tuple) -> str:
    return SEP.join(ft)


def contributions(events: Iterable[Event]) -> Counter:
    """What one visitor's events count for: their views of the intro (by their visitor
    id) and every event of the attempts they started (whoever's device sent it)."""
    out: Counter = Counter()
    by_attempt: dict[int, list[Event]] = defaultdict(list)
    came: list[tuple[int, str, tuple]] = []  # (day, language, first touch)
    for e in events:
        if e.name == "quiz_viewed":
            if not e.is_bot and not e.is_preview:
                came.append((day_of(e.occurred_at), e.language, e.ft))
        elif e.attempt_id is not None:
            by_attempt[e.attempt_id].append(e)
    runs: list[Run] = []
    for attempt_events in by_attempt.values():
        start = next((e for e in attempt_events if e.name == "quiz_started"), None)
        if start is None or start.is_preview:
            continue
        human_lead = any(
            e.name == "lead_submitted" and not e.is_bot and not e.is_preview for e in attempt_events
        )
        if start.is_bot and not human_lead:
            day = day_of(start.occurred_at)
            for language in _languages(start.language):
                out[(language, "a", "bot", day, 0, day, NEVER, 0, "", 0)] += 1
            continue
        run = Run.of(start, [e for e in attempt_events if e.counts])
        runs.append(run)
        came.append((run.day, run.language, run.ft))
        rows = Counter()
        _attempt_rows(rows, run)
        _in_languages(out, rows, _languages(run.language))
    languages = {c[1] for c in came}
    if len(languages) <= 1:  # the usual visitor: every language's rows are the same
        rows = Counter()
        _visitor_rows(rows, came, runs)
        _in_languages(out, rows, _languages(next(iter(languages), "")))
    else:
        for language in {"", *languages}:
            rows = Counter()
            _visitor_rows(
                rows,
                [c for c in came if not language or c[1] == language],
                [r for r in runs if not language or r.language == language],
            )
            _in_languages(out, rows, (language,))
    return out


def _in_languages(out: Counter, rows: Counter, languages: tuple[str, ...]) -> None:
    for row, value in rows.items():
        for language in languages:
            out[(language, *row)] += value


def _attempt_rows(out: Counter, run: Run) -> None:
    d = run.day

    def add(key, value=1, question=0, label="", number=0):
        if value:
            out[("a", key, d, 0, d, NEVER, question, label, number)] += value

    add(
        "f",
        label=_sig(
            s=1,
            r=sorted(run.reached),
            n=sorted(run.answered),
            c=int(run.completed),
            l=int(run.lead),
            x=run.left(),
        ),
    )
    if run.lead:
        source = source_label(run.ft)
        add("tier", label=source + SEP + run.tier)
        if run.percent is not None:
            add("psum", run.percent, label=source)
            add("pn", label=source)
        add("ftl", label=run.ft[0])
        add("fth", run.hot, label=run.ft[0])
        add("ltl", label=run.lt_source)
        add("lth", run.hot, label=run.lt_source)
    if run.duration is not None:
        add("time", number=run.duration)
    for q, t in run.per_question.items():
        add("time", question=q, number=t)


def _visitor_rows(out: Counter, came: list, runs: list[Run]) -> None:
    """One row per run of the visitor's days (see the module's docstring)."""
    days = sorted({c[0] for c in came})
    sources_on: dict[int, set] = defaultdict(set)
    for day, _, ft in came:
        sources_on[day].add(source_label(ft))
    runs_on: dict[int, list[Run]] = defaultdict(list)
    for run in runs:
        runs_on[run.day].append(run)
    for i, first in enumerate(days):
        lo = days[i - 1] if i else 0
        sources: set = set()
        converted: set = set()
        reached: set = set()
        answered: set = set()
        started = completed = lead = False
        last = None
        for j in range(i, len(days)):
            day = days[j]
            if day - first > SPAN_DAYS:
                break
            sources |= sources_on[day]
            for run in runs_on[day]:
                started = True
                reached |= run.reached
                answered |= run.answered
                completed |= run.completed
                if run.lead:
                    lead = True
                    converted.add(source_label(run.ft))
                if run.last and (last is None or run.last[:2] > last[:2]):
                    last = run.last
            left = None
            if started and not completed:
                left = last[2] if last else START
            nxt = days[j + 1] if j + 1 < len(days) else NEVER
            label = _sig(
                s=int(started),
                r=sorted(reached),
                n=sorted(answered),
                c=int(completed),
                l=int(lead),
                x=left,
                src=sorted(sources),
                conv=sorted(converted),
            )
            out[("v", "f", day, lo, first, nxt, 0, label, 0)] += 1


# Loading the events of visitors


def _nonzero(change: Counter) -> Counter:
    return Counter({k: v for k, v in change.items() if v})


def _load(using: str, quiz_id: int, visitors: list[str]) -> dict[str, list[tuple[Event, bool]]]:
    """Every event of these visitors on the quiz (their views, and every event of the
    attempts they started, whoever's device sent it), each with whether it is pending.

    An event and its PendingEvent commit together, and only the holder of the rollups
    deletes PendingEvents: so an event read is pending or rolled up, whenever its
    flag is read (and a report reads all of it in one snapshot)."""
    events = ConversionEvent.objects.using(using)
    rows = _rows(_columns(events.filter(quiz_id=quiz_id, visitor_id__in=visitors).order_by()))
    started = {r[2] for r in rows if r[1] == "quiz_started" and r[2] is not None}
    if started:
        rows += _rows(
            _columns(
                events.filter(attempt_id__in=sorted(started))
                .exclude(visitor_id__in=visitors)
                .order_by()
            )
        )
    pending = _pending_among(using, [r[0] for r in rows])
    by_attempt: dict[int, list] = defaultdict(list)
    by_visitor: dict[str, list] = defaultdict(list)
    for row in rows:
        event = _event(row)
        if event.name == "quiz_viewed":
            by_visitor[event.visitor_id].append((event, event.id in pending))
        elif event.attempt_id is not None:
            by_attempt[event.attempt_id].append((event, event.id in pending))
    for attempt_events in by_attempt.values():
        start = next((e for e, _ in attempt_events if e.name == "quiz_started"), None)
        if start is not None and start.attempt_id in started:
            by_visitor[start.visitor_id].extend(attempt_events)
    return by_visitor


def _rows(queryset: QuerySet) -> list[tuple]:
    """The queryset's rows; on PostgreSQL fetched in binary by psycopg itself (the same
    values, two to three times faster than through the ORM)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with _cursor(connection) as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall()


def _pending_among(using: str, ids: list[int]) -> set[int]:
    sql = "SELECT event_id FROM tracking_pendingevent WHERE event_id{}"
    return {row[0] for row in _by_ids(using, sql, ids, fetch=True)}


def _units(using: str, ids: list[int]) -> dict[int, set[str]]:
    """{quiz: visitors} whose events these are (event ids): a view's own visitor, an
    attempt's event the visitor who started it (none yet: it counts for nothing). Read
    by id, then by attempt: as one statement the planner may scan every event instead."""
    events = ConversionEvent.objects.using(using).order_by()
    units: dict[int, set[str]] = defaultdict(set)
    attempts: set[int] = set()
    for at in range(0, len(ids), 5000):
        for quiz_id, visitor, name, attempt in events.filter(
            pk__in=ids[at : at + 5000]
        ).values_list("quiz_id", "visitor_id", "name", "attempt_id"):
            if name == "quiz_viewed":
                units[quiz_id].add(visitor)
            elif attempt is not None:
                attempts.add(attempt)
    ordered = sorted(attempts)
    for at in range(0, len(ordered), 5000):
        for quiz_id, visitor in events.filter(
            attempt_id__in=ordered[at : at + 5000], name="quiz_started"
        ).values_list("quiz_id", "visitor_id"):
            units[quiz_id].add(visitor)
    return units


def _each_visitor(using: str, units: dict[int, set[str]]) -> Iterator[tuple[int, list]]:
    """(quiz, [(event, pending)]) for each of these visitors, 500 visitors a query."""
    for quiz_id, visitors in units.items():
        ordered = sorted(visitors)
        for at in range(0, len(ordered), 500):
            for events in _load(using, quiz_id, ordered[at : at + 500]).values():
                yield quiz_id, events


def _difference(using: str, units: dict[int, set[str]]) -> tuple[dict[int, Counter], set[int]]:
    """({quiz: contributions(all) − contributions(all but pending)}, the pending ids read)."""
    changes: dict[int, Counter] = defaultdict(Counter)
    seen: set[int] = set()
    for quiz_id, events in _each_visitor(using, units):
        seen.update(e.id for e, pending in events if pending)
        changes[quiz_id].update(contributions(e for e, _ in events))
        changes[quiz_id].subtract(contributions(e for e, pending in events if not pending))
    return {q: _nonzero(c) for q, c in changes.items()}, seen


class Behind(Exception):
    """More events are pending for a quiz than a report adds up on the fly."""

    def __init__(self, pending: int):
        super().__init__(f"more than {pending:,} events are waiting to be rolled up")
        self.pending = pending


def pending_difference(quiz, using: str | None = None) -> Counter:
    """What the quiz's pending events add to its rollups (the reports' tail). Raises
    Behind past ROLLUP_TAIL_LIMIT pending events (a first rollup after an upgrade, a
    worker long down): a report then says so rather than keep the marketer waiting.
    Read by id, never joined: a plan for a backlog (stale statistics after one) could
    otherwise walk every event."""
    using = using or ConversionEvent.objects.db
    limit = settings.ROLLUP_TAIL_LIMIT
    ids = list(
        PendingEvent.objects.using(using)
        .order_by("event_id")
        .values_list("event_id", flat=True)[: limit + 1]
    )
    if len(ids) > limit:
        raise Behind(limit)
    events = ConversionEvent.objects.using(using).order_by()
    ids = [
        pk
        for at in range(0, len(ids), 5000)
        for pk in events.filter(pk__in=ids[at : at + 5000], quiz=quiz).values_list("pk", flat=True)
    ]
    if not ids:
        return Counter()
    return _difference(using, _units(using, ids))[0].get(quiz.pk, Counter())


# Writing


def label_hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest() if text else ""


KEYS = tuple(k if k != "quiz" else "quiz_id" for k in ROLLUP_KEYS)  # the columns
# PostgreSQL takes each column as one array (a statement of 12 parameters, whatever
# its size); SQLite a VALUES list per 500 rows.
PG_TYPES = (
    "int",
    "text",
    "text",
    "text",
    "int",
    "int",
    "int",
    "int",
    "int",
    "text",
    "int",
    "bigint",
)


def _write(using: str, changes: dict[int, Counter]) -> None:
    """Add the changes to the rollups; rows that come to 0 go."""
    connection = connections[using]
    labels = {}
    rows = []
    for quiz_id, change in changes.items():
        for (language, unit, key, day, lo, hi, nxt, question, label, number), value in sorted(
            change.items()
        ):
            digest = label_hash(label)
            if digest:
                labels[digest] = label
            rows.append(
                (quiz_id, language, unit, key, day, lo, hi, nxt, question, digest, number, value)
            )
    keys = ", ".join(KEYS)
    upsert = (
        f" ON CONFLICT ({keys}) DO UPDATE SET value = tracking_rollup.value + excluded.value"
        " RETURNING id, value"
    )
    label_sql = "INSERT INTO tracking_rolluplabel (hash, text) {} ON CONFLICT DO NOTHING"
    row_sql = f"INSERT INTO tracking_rollup ({keys}, value) {{}}{upsert}"
    empty = []
    with _cursor(connection) as cursor:
        if connection.vendor == "postgresql":
            if labels:
                cursor.execute(
                    label_sql.format("SELECT * FROM unnest(%s::text[], %s::text[])"),
                    [list(labels), list(labels.values())],
                )
            if rows:
                arrays = ", ".join(f"%s::{t}[]" for t in PG_TYPES)
                cursor.execute(
                    row_sql.format(f"SELECT * FROM unnest({arrays})"),
                    [list(c) for c in zip(*rows, strict=True)],
                )
                empty = [pk for pk, value in cursor.fetchall() if value == 0]
        else:
            items = list(labels.items())
            for at in range(0, len(items), 400):
                chunk = items[at : at + 400]
                values = "VALUES " + ", ".join(["(%s, %s)"] * len(chunk))
                cursor.execute(label_sql.format(values), [v for pair in chunk for v in pair])
            for at in range(0, len(rows), 500):
                chunk = rows[at : at + 500]
                values = "VALUES " + ", ".join(["(" + ", ".join(["%s"] * 12) + ")"] * len(chunk))
                cursor.execute(row_sql.format(values), [v for row in chunk for v in row])
                empty += [pk for pk, value in cursor.fetchall() if value == 0]
    _delete_ids(using, "tracking_rollup", "id", empty)


def _cursor(connection):
    """On PostgreSQL psycopg's own cursor, which sends the parameters apart from the
    statement (arrays in binary, where Django's cursor would quote each element in
    Python); in the same transaction as everything else."""
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        return psycopg.Cursor(connection.connection)  # Django's own binds on the client
    return connection.cursor()


def _delete_ids(using: str, table: str, column: str, ids: Iterable[int]) -> None:
    _by_ids(using, f"DELETE FROM {table} WHERE {column}{{}}", sorted(ids))


def _by_ids(using: str, sql: str, ids: list[int], *, fetch: bool = False) -> list[tuple]:
    """Run `sql` (its `{}` the condition on the ids) for these ids: one statement with
    an array on PostgreSQL, 500 ids a statement on SQLite."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        chunks = [(" = ANY(%s::bigint[])", [ids])] if ids else []
    else:
        chunks = [
            (f" IN ({', '.join(['%s'] * len(chunk))})", chunk)
            for chunk in (ids[at : at + 500] for at in range(0, len(ids), 500))
        ]
    rows: list[tuple] = []
    with _cursor(connection) as cursor:
        for condition, params in chunks:
            cursor.execute(sql.format(condition), params)
            if fetch:
                rows += cursor.fetchall()
    return rows


def _hold(using: str) -> RollupState:
    """Hold the rollups for the caller's transaction (one writer at a time). Their days
    are in TIME_ZONE: after a change of TIME_ZONE they are rebuilt."""
    RollupState.objects.using(using).get_or_create(pk=1)
    state = RollupState.objects.using(using).select_for_update().get(pk=1)
    if state.time_zone != settings.TIME_ZONE:
        if state.time_zone:
            _reset(using)
        state.time_zone = settings.TIME_ZONE
        state.save(update_fields=["time_zone"], using=using)
    return state


@contextmanager
def _held(using: str) -> Iterator[RollupState]:
    with transaction.atomic(using=using):
        yield _hold(using)


def _reset(using: str) -> None:
    """Every event pending again, the rollups empty: the next flushes rebuild them."""
    Rollup.objects.using(using).all().delete()
    PendingEvent.objects.using(using).all().delete()
    with connections[using].cursor() as cursor:
        cursor.execute(
            "INSERT INTO tracking_pendingevent (event_id) SELECT id FROM tracking_conversionevent"
        )


def flush(*, batch: int = 5000, using: str = "default", most: int | None = None) -> int:
    """Roll up pending events, a batch per transaction, until none is left (or `most`
    have been); returns how many events were rolled up."""
    done = 0
    while most is None or done < most:
        with _held(using) as state:
            # The batch: the oldest `batch` pending events.
            ids = list(
                PendingEvent.objects.using(using)
                .order_by("event_id")
                .values_list("event_id", flat=True)[:batch]
            )
            if not ids:
                break
            changes, seen = _difference(using, _units(using, ids))
            _write(using, changes)
            # Those read with their visitors, and the batch's others (an event gone, or
            # an attempt's with no start: they count for nothing).
            _delete_ids(using, "tracking_pendingevent", "event_id", seen | set(ids))
            done += len(seen | set(ids))
            state.flushed_at = timezone.now()
            state.save(update_fields=["flushed_at"], using=using)
    return done


def rebuild(using: str = "default") -> int:
    """Roll every event up again from nothing (after a change of TIME_ZONE, say)."""
    with _held(using):
        _reset(using)
    return flush(using=using)


@contextmanager
def rewriting(events: QuerySet[ConversionEvent]) -> Iterator[None]:
    """Around a change made in place to these events' counted fields: their visitors'
    contributions come out before and go back in after, in the caller's transaction."""
    with transaction.atomic(using=events.db):
        units = take_out(events)
        yield
        put_back(events.db, units)


def take_out(events: QuerySet[ConversionEvent]) -> dict[int, set[str]]:
    """Take these events' visitors out of the rollups (before their events change);
    returns them, for put_back."""
    using = events.db
    _hold(using)
    units = _units(using, list(events.values_list("pk", flat=True)))
    _write(
        using,
        {
            q: Counter({k: -v for k, v in c.items()})
            for q, c in _contribution_of(using, units).items()
        },
    )
    return units


def put_back(using: str, units: dict[int, set[str]]) -> None:
    _write(using, _contribution_of(using, units))


def on_question_deleting(sender, instance, using, **kwargs) -> None:
    """pre_delete of a Question: its events lose their question (SET_NULL), so the
    visitors who saw it are taken out, and put back by on_question_deleted."""
    instance._rollup_units = take_out(
        ConversionEvent.objects.using(using).filter(question_id=instance.pk)
    )


def on_question_deleted(sender, instance, using, **kwargs) -> None:
    put_back(using, getattr(instance, "_rollup_units", {}))


def _contribution_of(using: str, units: dict[int, set[str]]) -> dict[int, Counter]:
    """What the rollups hold for these visitors: their events but the pending ones."""
    result: dict[int, Counter] = defaultdict(Counter)
    for quiz_id, events in _each_visitor(using, units):
        result[quiz_id].update(contributions(e for e, pending in events if not pending))
    return result


# Reading


@dataclass
class Totals:
    """A report's sums: {(unit, key, question, label text, number): value}."""

    values: Counter

    def of(self, unit: str, key: str) -> Iterator[tuple[int, str, int, int]]:
        for (u, k, question, label, number), value in self.values.items():
            if u == unit and k == key and value:
                yield question, label, number, value


def totals(quiz, first: date, last: date, language: str, units: Iterable[str]) -> Totals:
    """The rollup rows of the days first..last (inclusive) in `language` ("" for every
    one), plus what is still pending: read in the caller's snapshot."""
    using = ConversionEvent.objects.db
    a, b = first.toordinal(), last.toordinal()
    units = tuple(units)
    sums: Counter = Counter()
    rows = (
        Rollup.objects.using(using)
        .filter(
            quiz=quiz,
            language=language,
            unit__in=units,
            day__gte=a,
            day__lte=b,
            lo__lt=a,
            hi__gte=a,
            nxt__gt=b,
        )
        .values_list("unit", "key", "question_id", "label", "number")
        .annotate(total=Sum("value"))
        .order_by()
    )
    by_hash: Counter = Counter()
    for unit, key, question, digest, number, value in rows:
        by_hash[(unit, key, question, digest, number)] += value
    texts = _label_texts(using, {k[3] for k in by_hash if k[3]})
    for (unit, key, question, digest, number), value in by_hash.items():
        sums[(unit, key, question, texts.get(digest, "") if digest else "", number)] += value
    for (lang, unit, key, day, lo, hi, nxt, question, label, number), value in pending_difference(
        quiz, using
    ).items():
        if lang == language and unit in units and lo < a <= hi and day <= b < nxt:
            sums[(unit, key, question, label, number)] += value
    return Totals(sums)


def _label_texts(using: str, hashes: set[str]) -> dict[str, str]:
    texts: dict[str, str] = {}
    hashes = sorted(hashes)
    for at in range(0, len(hashes), 500):
        texts.update(
            RollupLabel.objects.using(using)
            .filter(hash__in=hashes[at : at + 500])
            .values_list("hash", "text")
        )
    return texts


def state(label: str) -> dict:
    """A unit's state from its label (see _sig)."""
    return json.loads(label) if label else {}
