"""The events table range-partitioned by month on PostgreSQL (TRACKING_EVENT_PARTITIONS).

Once converted, `tracking_conversionevent` is a partitioned table (RANGE on occurred_at,
PRIMARY KEY (id, occurred_at)) with the same columns, indexes, triggers and foreign keys:

  tracking_conversionevent_before_YYYY_MM  the table as it was (an existing install),
                                           attached whole: every event before that month
  tracking_conversionevent_YYYY_MM         one per calendar month in UTC, made
                                           AHEAD_MONTHS ahead by a daily task
  tracking_conversionevent_default         anything outside them (future-dated rows;
                                           moved into their month when it is made)

PostgreSQL cannot enforce a unique index on a partitioned table that lacks the partition
key, so event_id and the once-only keys live in `tracking_eventkey` (tracking.models
.EventKey, not partitioned), written by a BEFORE INSERT trigger that skips the event when
its key exists: INSERT … ON CONFLICT DO NOTHING RETURNING (insert_new), bulk_create and COPY
keep their exactly-once meaning, a lost race included. Deliveries and enrichments
reference `tracking_eventkey(id)` (a partitioned table cannot be referenced by id alone).

`convert()` (manage.py partition_events) turns an existing table into this without copying
it and with its writes going on: the key table is filled beside it, the indexes the parent
needs are built concurrently and a CHECK constraint is validated first, so that the one
step under an exclusive lock (rename, create the parent, ATTACH) is instant. The migration
does the same on a new, empty database when the setting is on. SQLite: nothing of this.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import OperationalError, connections, migrations, transaction

EVENTS = "tracking_conversionevent"
KEYS = "tracking_eventkey"
DEFAULT = f"{EVENTS}_default"
SEQUENCE = f"{EVENTS}_id_seq"
# Built beside the table before it converts: they become the old partition's share of
# the parent's primary key and event_id index, so ATTACH builds nothing under the lock.
PREP_PK = f"{EVENTS}_prep_pk"
PREP_EVENT_ID = f"{EVENTS}_prep_event_id"
EVENT_ID_INDEX = "event_event_id_idx"
# What makes an event unique on the unpartitioned table; the key table holds it once
# partitioned (the event_id constraint is Django's `unique=True`).
UNIQUE_ON_EVENTS = (
    f"{EVENTS}_event_id_key",
    "event_once_per_attempt",
    "event_once_per_attempt_and_question",
    "event_one_lead_submitted_per_lead",
)
AHEAD_MONTHS = 3
# A CHECK constraint bounds the old table before it becomes a partition; new rows must
# pass it meanwhile, so its bound is at least this far ahead.
BOUND_MARGIN = timedelta(days=7)
LOCK_TIMEOUT = "2s"
SHORT_LOCK_TIMEOUT = "200ms"
LOCK_TRIES = 10
BACKFILL_BATCH = 100_000

KEY_COLUMNS = "id, event_id, name, attempt_id, question_id, lead_id"
NEW_KEY = "NEW.id, NEW.event_id, NEW.name, NEW.attempt_id, NEW.question_id, NEW.lead_id"
OLD_KEY = "OLD.id, OLD.event_id, OLD.name, OLD.attempt_id, OLD.question_id, OLD.lead_id"

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION tracking_event_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The key first: when an event with this id or once-only key exists (or is being
  -- inserted by another transaction that then commits), this event is skipped, as
  -- ON CONFLICT DO NOTHING skips a row.
  INSERT INTO {KEYS} ({KEY_COLUMNS}) VALUES ({NEW_KEY}) ON CONFLICT DO NOTHING;
  IF FOUND THEN
    RETURN NEW;
  END IF;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION tracking_event_key_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {KEYS} ({KEY_COLUMNS}) VALUES ({NEW_KEY}) ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION tracking_event_key_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE {KEYS} SET (id, event_id, name, attempt_id, question_id, lead_id) = ({NEW_KEY})
  WHERE id = OLD.id;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION tracking_event_keeps_time() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'an event keeps its occurred_at: events are append-only, and the '
    'partitioned table would move it to another month'
    USING ERRCODE = 'check_violation';
END $$;
"""
DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS tracking_event_key();
DROP FUNCTION IF EXISTS tracking_event_key_copy();
DROP FUNCTION IF EXISTS tracking_event_key_update();
DROP FUNCTION IF EXISTS tracking_event_keeps_time();
"""
KEY_CHANGED = f"({OLD_KEY}) IS DISTINCT FROM ({NEW_KEY})"
# While the table converts: keys written for every new row (AFTER: only rows that were
# inserted), and kept in step when erasure or a deleted question changes an event.
PREP_TRIGGERS = f"""
CREATE OR REPLACE TRIGGER tracking_event_key_copy AFTER INSERT ON {EVENTS}
  FOR EACH ROW EXECUTE FUNCTION tracking_event_key_copy();
CREATE OR REPLACE TRIGGER tracking_event_key_update AFTER UPDATE ON {EVENTS}
  FOR EACH ROW WHEN ({KEY_CHANGED}) EXECUTE FUNCTION tracking_event_key_update();
"""
PARENT_TRIGGERS = f"""
CREATE TRIGGER tracking_event_key BEFORE INSERT ON {EVENTS}
  FOR EACH ROW EXECUTE FUNCTION tracking_event_key();
CREATE TRIGGER tracking_event_key_update AFTER UPDATE ON {EVENTS}
  FOR EACH ROW WHEN ({KEY_CHANGED}) EXECUTE FUNCTION tracking_event_key_update();
CREATE TRIGGER tracking_event_keeps_time BEFORE UPDATE OF occurred_at ON {EVENTS}
  FOR EACH ROW WHEN (OLD.occurred_at IS DISTINCT FROM NEW.occurred_at)
  EXECUTE FUNCTION tracking_event_keeps_time();
"""
PREP_TRIGGER_NAMES = {"tracking_event_key_copy", "tracking_event_key_update"}
PARENT_TRIGGER_NAMES = {
    "tracking_event_key",
    "tracking_event_key_update",
    "tracking_event_keeps_time",
}


class PartitionError(RuntimeError):
    """The table cannot be converted as it is; the message says why and what to do."""


@dataclass(frozen=True)
class Partition:
    name: str
    lo: datetime | None  # None: from the beginning (MINVALUE)
    hi: datetime | None  # None: the default partition
    default: bool = False

    @property
    def label(self) -> str:
        if self.default:
            return "default"
        if self.lo is None:
            return f"before {self.hi:%Y-%m}"
        return f"{self.lo:%Y-%m}"


# Months --------------------------------------------------------------------------------


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


def month_name(moment: datetime) -> str:
    return f"{EVENTS}_{moment:%Y_%m}"


# State ---------------------------------------------------------------------------------


def _conn(using: str):
    return connections[using]


def is_postgresql(using: str = "default") -> bool:
    return _conn(using).vendor == "postgresql"


def is_partitioned(using: str = "default") -> bool:
    if not is_postgresql(using):
        return False
    with _conn(using).cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [EVENTS])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


_BOUND = re.compile(r"FOR VALUES FROM \((.+)\) TO \((.+)\)")


def _timestamp(text: str) -> datetime | None:
    if text == "MINVALUE":
        return None
    value = text.strip("'")
    if re.search(r"[+-]\d\d$", value):
        value += ":00"
    return datetime.fromisoformat(value).astimezone(UTC)


def partitions(using: str = "default") -> list[Partition]:
    """The events table's partitions, oldest first, the default one last."""
    with _conn(using).cursor() as cursor:
        # Bounds are printed in the session's time zone, with its offset: read as such.
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [EVENTS],
        )
        rows = cursor.fetchall()
    found = []
    for name, bound in rows:
        if bound == "DEFAULT":
            found.append(Partition(name, None, None, default=True))
            continue
        lo, hi = _BOUND.fullmatch(bound).groups()
        found.append(Partition(name, _timestamp(lo), _timestamp(hi)))
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(found, key=lambda p: (p.default, p.lo or epoch))


def _fetch(cursor, sql: str, params=()) -> list[tuple]:
    cursor.execute(sql, params)
    return cursor.fetchall()


def _one(cursor, sql: str, params=()):
    cursor.execute(sql, params)
    return cursor.fetchone()[0]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(moment: datetime) -> str:
    return f"'{moment.astimezone(UTC).isoformat()}'"


def _with_lock_timeout(using: str, step: Callable, *, tries: int = LOCK_TRIES):
    """Run step(cursor) in a transaction that waits at most LOCK_TIMEOUT for each lock,
    again after a pause when it did not get one: a long report or a worker holding a row
    never makes visitors queue behind a waiting ALTER TABLE."""
    for attempt in range(1, tries + 1):
        try:
            with transaction.atomic(using=using), _conn(using).cursor() as cursor:
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT])
                return step(cursor)
        except OperationalError as error:
            code = getattr(error.__cause__, "sqlstate", None)
            if code not in ("55P03", "40P01") or attempt == tries:
                raise
            time.sleep(min(attempt, 5))
    return None


def _incoming_foreign_keys(cursor, table: str) -> list[tuple[str, str, str]]:
    """(table, constraint, column) of the foreign keys that reference `table`."""
    return _fetch(
        cursor,
        "SELECT c.conrelid::regclass::text, c.conname, a.attname FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.contype = 'f' AND c.confrelid = to_regclass(%s) AND c.conparentid = 0 "
        "ORDER BY 1, 2",
        [table],
    )


def _outgoing_foreign_keys(cursor, table: str) -> list[tuple[str, str]]:
    return _fetch(
        cursor,
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid = to_regclass(%s) AND conparentid = 0 ORDER BY 1",
        [table],
    )


def _indexes(cursor, table: str) -> list[tuple[str, bool, bool, bool, str]]:
    """(name, unique, primary, valid, definition) of the table's own indexes."""
    return _fetch(
        cursor,
        "SELECT c.relname, i.indisunique, i.indisprimary, i.indisvalid, "
        "pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = to_regclass(%s) ORDER BY 1",
        [table],
    )


_INDEX_BODY = re.compile(r"^CREATE (?:UNIQUE )?INDEX \S+ ON (?:ONLY )?\S+ (USING .*)$")


def _index_body(definition: str) -> str:
    return _INDEX_BODY.fullmatch(definition).group(1)


def _triggers(cursor, table: str) -> dict[str, str]:
    """The table's own triggers: name → definition (CREATE TRIGGER …)."""
    return dict(
        _fetch(
            cursor,
            "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger "
            "WHERE tgrelid = to_regclass(%s) AND NOT tgisinternal AND tgparentid = 0",
            [table],
        )
    )


def _check_bound(cursor) -> tuple[str, datetime, bool] | None:
    """The CHECK constraint an interrupted conversion left: (name, bound, validated)."""
    rows = _fetch(
        cursor,
        "SELECT conname, convalidated FROM pg_constraint WHERE contype = 'c' "
        "AND conrelid = to_regclass(%s) AND conname LIKE %s",
        [EVENTS, f"{EVENTS}_before_%"],
    )
    if not rows:
        return None
    name, valid = rows[0]
    year, month = name.rsplit("_", 2)[-2:]
    return name, datetime(int(year), int(month), 1, tzinfo=UTC), valid


def _sequence_value(cursor) -> tuple[int, bool] | None:
    sequence = _one(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [EVENTS])
    if not sequence:
        return None
    cursor.execute(f"SELECT last_value, is_called FROM {sequence}")
    return cursor.fetchone()


# Converting ----------------------------------------------------------------------------


def _require_postgresql(using: str) -> None:
    connection = _conn(using)
    if connection.vendor != "postgresql":
        raise PartitionError(
            "Partitioning is PostgreSQL's: on SQLite the events table stays as it is."
        )
    if connection.pg_version < 140000:
        raise PartitionError(
            "Partitioning the events table needs PostgreSQL 14 or later (BEFORE triggers "
            "on partitioned tables, CREATE OR REPLACE TRIGGER)."
        )


def convert(*, using: str = "default", out: Callable[[str], None] = print) -> dict:
    """Turn the events table into a partitioned one (idempotent); returns seconds by step.

    Run outside a transaction: every step but the last leaves the table open to writes
    (the key table's backfill, CREATE INDEX CONCURRENTLY, VALIDATE CONSTRAINT); the last
    takes an exclusive lock for the renames, the new parent and ATTACH, which build and
    scan nothing. An interrupted run is finished by running it again.
    """
    _require_postgresql(using)
    connection = _conn(using)
    if connection.in_atomic_block:
        raise PartitionError("partition_events runs outside a transaction (it commits each step).")
    seconds = {}
    if is_partitioned(using):
        out("The events table is already partitioned.")
        made = months_ahead(using=using)
        if made:
            out(f"Made the months ahead: {', '.join(made)}.")
        return seconds
    started = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal started
        now = time.perf_counter()
        seconds[step] = now - started
        started = now

    with connection.cursor() as cursor:
        _refuse_unknown_unique_indexes(cursor)
        cursor.execute(FUNCTIONS)

    # 1. Keys for every new row from now on, then for the rows already there.
    _with_lock_timeout(using, lambda cursor: cursor.execute(PREP_TRIGGERS))
    with connection.cursor() as cursor:
        low, high = _fetch(cursor, f"SELECT min(id), max(id) FROM {EVENTS}")[0]
        copied = 0
        if low is not None:
            out(f"Writing the key table for events {low}–{high} …")
            for start in range(low - 1, high, BACKFILL_BATCH):
                cursor.execute(
                    f"INSERT INTO {KEYS} ({KEY_COLUMNS}) SELECT {KEY_COLUMNS} FROM {EVENTS} "
                    f"WHERE id > %s AND id <= %s ON CONFLICT DO NOTHING",
                    [start, start + BACKFILL_BATCH],
                )
                copied += cursor.rowcount
        # Exact without the lock: a key is written by its event's own statement, so one
        # snapshot sees both or neither.
        events, keys = _fetch(
            cursor, f"SELECT (SELECT count(*) FROM {EVENTS}), (SELECT count(*) FROM {KEYS})"
        )[0]
        if events != keys:
            raise PartitionError(
                f"The key table holds {keys:,} keys for {events:,} events: run "
                "partition_events --undo, then partition_events again."
            )
        out(f"Key table: {copied:,} keys written, {keys:,} in all.")
    lap("keys")

    # 2. The indexes the parent's primary key and event_id index need on this table.
    with connection.cursor() as cursor:
        present = {name: valid for name, _, _, valid, _ in _indexes(cursor, EVENTS)}
        for name, sql in (
            (PREP_PK, f"CREATE UNIQUE INDEX CONCURRENTLY {PREP_PK} ON {EVENTS} (id, occurred_at)"),
            (PREP_EVENT_ID, f"CREATE INDEX CONCURRENTLY {PREP_EVENT_ID} ON {EVENTS} (event_id)"),
        ):
            if present.get(name) is False:  # an interrupted build leaves an invalid index
                cursor.execute(f"DROP INDEX CONCURRENTLY {name}")
            if not present.get(name):
                out(f"Building {name} …")
                cursor.execute(sql)
    lap("indexes")

    # 3. Every row before the bound, proved once with writes going on, so that ATTACH
    # need not scan under its lock.
    bound = add_months(month_start(datetime.now(UTC) + BOUND_MARGIN), 1)
    check = f"{EVENTS}_before_{bound:%Y_%m}"

    def add_check(cursor):
        found = _check_bound(cursor)
        if found and found[1] < bound:  # from a run long ago: too close now
            cursor.execute(f"ALTER TABLE {EVENTS} DROP CONSTRAINT {found[0]}")
            found = None
        if found is None:
            cursor.execute(
                f"ALTER TABLE {EVENTS} ADD CONSTRAINT {check} "
                f"CHECK (occurred_at < {_literal(bound)}) NOT VALID"
            )
            return check, bound, False
        return found

    check, bound, valid = _with_lock_timeout(using, add_check)
    if not valid:
        out(f"Checking that every event is before {bound:%Y-%m-%d} …")
        with connection.cursor() as cursor:
            try:
                cursor.execute(f"ALTER TABLE {EVENTS} VALIDATE CONSTRAINT {check}")
            except Exception:
                cursor.execute(f"ALTER TABLE {EVENTS} DROP CONSTRAINT {check}")
                raise PartitionError(
                    f"Some events are dated {bound:%Y-%m-%d} or later (occurred_at in the "
                    "future): the old table cannot become the partition before that month."
                ) from None
    lap("check")

    # 4. Under the lock: the renames, the parent, ATTACH, months ahead, triggers.
    try:
        summary = _with_lock_timeout(using, lambda cursor: _swap(cursor, bound, check))
    except Exception:
        _with_lock_timeout(
            using,
            lambda cursor: cursor.execute(
                f"ALTER TABLE IF EXISTS {EVENTS} DROP CONSTRAINT IF EXISTS {check}"
            ),
        )
        raise
    lap("locked")
    out(summary)

    # 5. The foreign keys to the key table, proved with writes going on.
    with connection.cursor() as cursor:
        for table, name, _ in _incoming_foreign_keys(cursor, KEYS):
            cursor.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {_q(name)}")
        cursor.execute(f"ANALYZE {EVENTS}")
    lap("validate")
    return seconds


def _refuse_unknown_unique_indexes(cursor) -> None:
    for name, unique, primary, _, definition in _indexes(cursor, EVENTS):
        if unique and not primary and name not in UNIQUE_ON_EVENTS and name != PREP_PK:
            raise PartitionError(
                f"The events table has a unique index {name} that a partitioned table "
                f"cannot enforce ({definition}); add it to tracking_eventkey and the key "
                "trigger (tracking/partitions.py) first."
            )


def _swap(cursor, bound: datetime | None, check: str | None) -> str:
    """The step under the lock. With no events, the old table is dropped and the months
    start with this one; else it becomes the partition of everything before `bound`."""
    dependents = _incoming_foreign_keys(cursor, EVENTS)
    tables = [EVENTS, KEYS, *sorted({t for t, _, _ in dependents})]
    cursor.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
    empty = not _fetch(cursor, f"SELECT 1 FROM {EVENTS} LIMIT 1")
    if not empty and (bound is None or check is None):
        raise PartitionError("The table holds events: convert it with manage.py partition_events.")
    before = f"{EVENTS}_before_{bound:%Y_%m}" if not empty else f"{EVENTS}_unpartitioned"
    outgoing = _outgoing_foreign_keys(cursor, EVENTS)
    indexes = _indexes(cursor, EVENTS)
    sequence = _sequence_value(cursor) or (1, False)

    # The events' references, the triggers, and the constraints the key table now holds.
    for table, name, _ in dependents:
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {_q(name)}")
    triggers = _triggers(cursor, EVENTS)
    for trigger in triggers:
        cursor.execute(f"DROP TRIGGER {_q(trigger)} ON {EVENTS}")
    # Every other trigger (the rollups' pending rows …) moves to the parent as it was.
    carried = [sql for name, sql in sorted(triggers.items()) if name not in PREP_TRIGGER_NAMES]
    cursor.execute(f"ALTER TABLE {EVENTS} ALTER COLUMN id DROP IDENTITY IF EXISTS")
    cursor.execute(f"ALTER TABLE {EVENTS} ALTER COLUMN id DROP DEFAULT")
    cursor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")
    constraints = {
        name
        for (name,) in _fetch(
            cursor, "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(%s)", [EVENTS]
        )
    }
    for name, _, primary, _, _ in indexes:
        if primary or name in UNIQUE_ON_EVENTS:
            if name in constraints:
                cursor.execute(f"ALTER TABLE {EVENTS} DROP CONSTRAINT {_q(name)}")
            else:
                cursor.execute(f"DROP INDEX {_q(name)}")
    kept = [
        (name, _index_body(definition))
        for name, unique, primary, _, definition in indexes
        if not (primary or unique or name == PREP_EVENT_ID)
    ]
    cursor.execute(f"ALTER TABLE {EVENTS} RENAME TO {before}")
    for name, _ in kept:
        cursor.execute(f"ALTER INDEX {_q(name)} RENAME TO {_q(f'{before}_{name}'[:63])}")

    # The parent: the same columns, and every index and foreign key, before any partition
    # (instant); ATTACH then adopts the old table's equivalents instead of building them.
    cursor.execute(
        f"CREATE TABLE {EVENTS} (LIKE {before} INCLUDING DEFAULTS INCLUDING STORAGE "
        "INCLUDING COMPRESSION) PARTITION BY RANGE (occurred_at)"
    )
    cursor.execute(f"CREATE SEQUENCE {SEQUENCE} AS bigint OWNED BY {EVENTS}.id")
    cursor.execute("SELECT setval(%s, %s, %s)", [SEQUENCE, *sequence])
    cursor.execute(f"ALTER TABLE {EVENTS} ALTER COLUMN id SET DEFAULT nextval('{SEQUENCE}')")
    cursor.execute(
        f"ALTER TABLE {EVENTS} ADD CONSTRAINT {EVENTS}_pkey PRIMARY KEY (id, occurred_at)"
    )
    cursor.execute(f"CREATE INDEX {EVENT_ID_INDEX} ON {EVENTS} (event_id)")
    for name, body in kept:
        cursor.execute(f"CREATE INDEX {_q(name)} ON {EVENTS} {body}")
    for name, definition in outgoing:
        cursor.execute(f"ALTER TABLE {EVENTS} ADD CONSTRAINT {_q(name)} {definition}")
    if empty:
        cursor.execute(f"DROP TABLE {before}")
        first = month_start(datetime.now(UTC))
        old = ""
    else:
        cursor.execute(f"ALTER TABLE {before} ADD PRIMARY KEY USING INDEX {PREP_PK}")
        cursor.execute(f"ALTER INDEX {PREP_PK} RENAME TO {before}_pkey")
        cursor.execute(f"ALTER INDEX {PREP_EVENT_ID} RENAME TO {before}_event_id_idx")
        cursor.execute(
            f"ALTER TABLE {EVENTS} ATTACH PARTITION {before} "
            f"FOR VALUES FROM (MINVALUE) TO ({_literal(bound)})"
        )
        cursor.execute(f"ALTER TABLE {before} DROP CONSTRAINT {check}")
        first = bound
        old = f"{before} (everything before {bound:%Y-%m}), "
    made = _make_months(cursor, first, _ahead_target())
    cursor.execute(f"CREATE TABLE {DEFAULT} PARTITION OF {EVENTS} DEFAULT")
    for definition in carried:
        cursor.execute(definition)
    cursor.execute(PARENT_TRIGGERS)
    for table, name, column in dependents:
        cursor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {_q(name)} FOREIGN KEY ({column}) "
            f"REFERENCES {KEYS} (id) DEFERRABLE INITIALLY DEFERRED NOT VALID"
        )
    return f"Partitioned: {old}{', '.join(made)} and {DEFAULT}."


def convert_empty(*, using: str = "default") -> str:
    """A new database (the migration, in its transaction): the same parent and triggers,
    months from this one on."""
    _require_postgresql(using)
    with _conn(using).cursor() as cursor:
        cursor.execute(FUNCTIONS)
        summary = _swap(cursor, None, None)
        for table, name, _ in _incoming_foreign_keys(cursor, KEYS):
            cursor.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {_q(name)}")
    return summary


def _ahead_target() -> datetime:
    """The first month not yet needed: partitions reach to the end of AHEAD_MONTHS ahead."""
    return add_months(month_start(datetime.now(UTC)), AHEAD_MONTHS + 1)


def _make_months(cursor, first: datetime, until: datetime) -> list[str]:
    made = []
    month = first
    while month < until:
        nxt = add_months(month, 1)
        cursor.execute(
            f"CREATE TABLE {month_name(month)} PARTITION OF {EVENTS} "
            f"FOR VALUES FROM ({_literal(month)}) TO ({_literal(nxt)})"
        )
        made.append(month_name(month))
        month = nxt
    return made


# Months ahead (a daily task) and months back --------------------------------------------


def months_ahead(*, using: str = "default", months: int = AHEAD_MONTHS) -> list[str]:
    """Make the monthly partitions up to the end of `months` months ahead; the ones made.

    A month the default partition already holds events of is made from them (moved,
    with their ids, keys and pending rows unchanged). Nothing when not partitioned."""
    if not is_partitioned(using):
        return []
    until = add_months(month_start(datetime.now(UTC)), months + 1)
    monthly = [p for p in partitions(using) if not p.default]
    month = max((p.hi for p in monthly), default=month_start(datetime.now(UTC)))
    made = []
    while month < until:
        made.append(_make_month(using, month))
        month = add_months(month, 1)
    return made


def months_back(first: datetime, *, using: str = "default") -> list[str]:
    """Make the months from `first` to the oldest one there is (events imported with an
    older time land in the default partition otherwise); the ones made."""
    if not is_partitioned(using):
        raise PartitionError("The events table is not partitioned: run partition_events.")
    monthly = [p for p in partitions(using) if not p.default]
    if any(p.lo is None for p in monthly):
        raise PartitionError(
            "The table's earliest partition holds everything before its month "
            f"({monthly[0].label}): there are no earlier months to make."
        )
    oldest = min((p.lo for p in monthly), default=month_start(datetime.now(UTC)))
    made = []
    month = month_start(first)
    while month < oldest:
        made.append(_make_month(using, month))
        month = add_months(month, 1)
    return made


def _make_month(using: str, month: datetime) -> str:
    """Made beside the parent and attached: ATTACH takes no lock that stops the parent's
    reads and writes (CREATE TABLE … PARTITION OF would), only the default partition's."""
    name, nxt = month_name(month), add_months(month, 1)
    within = f"occurred_at >= {_literal(month)} AND occurred_at < {_literal(nxt)}"

    def make(cursor):
        cursor.execute(
            f"CREATE TABLE {name} (LIKE {EVENTS} INCLUDING DEFAULTS INCLUDING STORAGE "
            "INCLUDING COMPRESSION)"
        )
        cursor.execute(f"LOCK TABLE {DEFAULT} IN SHARE ROW EXCLUSIVE MODE")
        # Early arrivals move straight between the tables, past the parent's triggers:
        # they keep their ids, keys and pending rows.
        cursor.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE {within} RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved"
        )
        cursor.execute(
            f"ALTER TABLE {EVENTS} ATTACH PARTITION {name} "
            f"FOR VALUES FROM ({_literal(month)}) TO ({_literal(nxt)})"
        )

    _with_lock_timeout(using, make)
    return name


def lock_parent_briefly(cursor, *, tries: int = 20) -> None:
    """The parent's exclusive lock (to drop a partition), waited for SHORT_LOCK_TIMEOUT at a
    time: while it waits, visitors' inserts queue behind it, so never for long; what the
    transaction did before is kept between tries (a savepoint)."""
    for attempt in range(1, tries + 1):
        try:
            with transaction.atomic(using=cursor.db.alias):
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [SHORT_LOCK_TIMEOUT])
                cursor.execute(f"LOCK TABLE {EVENTS} IN ACCESS EXCLUSIVE MODE")
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT])
                return
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) != "55P03" or attempt == tries:
                raise
            time.sleep(min(0.2 * attempt, 2))


# Back to one table ------------------------------------------------------------------------


def _abandon(using: str) -> str:
    """What a conversion that did not finish left on the one table, removed."""

    def clean(cursor):
        found = []
        for trigger in PREP_TRIGGER_NAMES & set(_triggers(cursor, EVENTS)):
            cursor.execute(f"DROP TRIGGER {trigger} ON {EVENTS}")
            found.append(trigger)
        check = _check_bound(cursor)
        if check:
            cursor.execute(f"ALTER TABLE {EVENTS} DROP CONSTRAINT {check[0]}")
            found.append(check[0])
        for name, *_ in _indexes(cursor, EVENTS):
            if name in (PREP_PK, PREP_EVENT_ID):
                cursor.execute(f"DROP INDEX {name}")
                found.append(name)
        cursor.execute(f"DELETE FROM {KEYS}")
        return found

    found = _with_lock_timeout(using, clean)
    if found:
        left = ", ".join(found)
        return f"The events table is not partitioned; removed what a conversion left: {left}."
    return "The events table is not partitioned."


def unpartition(*, using: str = "default") -> str:
    """One table again, as the migrations made it (copies every row: for going back, the
    migration's reverse and the tests). Runs in a transaction of its own, or the caller's."""
    _require_postgresql(using)
    if not is_partitioned(using):
        return _abandon(using)
    from tracking.models import ConversionEvent

    connection = _conn(using)
    plain = f"{EVENTS}_plain"
    with transaction.atomic(using=using), connection.cursor() as cursor:
        dependents = _incoming_foreign_keys(cursor, KEYS)
        tables = [EVENTS, KEYS, *sorted({t for t, _, _ in dependents})]
        cursor.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
        outgoing = _outgoing_foreign_keys(cursor, EVENTS)
        kept = [
            (name, _index_body(definition))
            for name, unique, primary, _, definition in _indexes(cursor, EVENTS)
            if not (primary or unique or name == EVENT_ID_INDEX)
        ]
        sequence = _sequence_value(cursor) or (1, False)
        carried = [
            sql
            for name, sql in sorted(_triggers(cursor, EVENTS).items())
            if name not in PARENT_TRIGGER_NAMES
        ]
        for table, name, _ in dependents:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {_q(name)}")
        cursor.execute(
            f"CREATE TABLE {plain} (LIKE {EVENTS} INCLUDING STORAGE INCLUDING COMPRESSION)"
        )
        cursor.execute(f"INSERT INTO {plain} SELECT * FROM {EVENTS}")
        rows = cursor.rowcount
        cursor.execute(f"DROP TABLE {EVENTS}")
        cursor.execute(f"ALTER TABLE {plain} RENAME TO {EVENTS}")
        cursor.execute(f"ALTER TABLE {EVENTS} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, %s)", [EVENTS, *sequence]
        )
        cursor.execute(f"ALTER TABLE {EVENTS} ADD CONSTRAINT {EVENTS}_pkey PRIMARY KEY (id)")
        cursor.execute(
            f"ALTER TABLE {EVENTS} ADD CONSTRAINT {EVENTS}_event_id_key UNIQUE (event_id)"
        )
        for name, body in kept:
            cursor.execute(f"CREATE INDEX {_q(name)} ON {EVENTS} {body}")
        for name, definition in outgoing:
            cursor.execute(f"ALTER TABLE {EVENTS} ADD CONSTRAINT {_q(name)} {definition}")
        with connection.schema_editor(atomic=False) as editor:
            for constraint in ConversionEvent._meta.constraints:
                editor.add_constraint(ConversionEvent, constraint)
        for definition in carried:
            cursor.execute(definition)
        for table, name, column in dependents:
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {_q(name)} FOREIGN KEY ({column}) "
                f"REFERENCES {EVENTS} (id) DEFERRABLE INITIALLY DEFERRED"
            )
        cursor.execute(f"DELETE FROM {KEYS}")
    return f"One table again: {rows:,} events."


# Migrations ---------------------------------------------------------------------------


class UnlessPartitioned(migrations.operations.base.Operation):
    """A migration operation on the events table that a partitioned one cannot take: a
    unique constraint without occurred_at (EventKey carries the same one there, changed
    by the same migration). Its state always changes; the database only when one table.

        UnlessPartitioned(migrations.AddConstraint(model_name="conversionevent", …))
    """

    reversible = True

    def __init__(self, operation):
        self.operation = operation

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.operation], {})

    def state_forwards(self, app_label, state):
        self.operation.state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not is_partitioned(schema_editor.connection.alias):
            self.operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not is_partitioned(schema_editor.connection.alias):
            self.operation.database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return f"{self.operation.describe()} (unless the events table is partitioned)"
