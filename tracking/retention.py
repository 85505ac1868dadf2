"""Events older than TRACKING_EVENT_RETENTION_MONTHS leave, a month at a time.

On a partitioned events table (tracking.partitions) a month's partition is dropped once it
is wholly older than the first day of (this month − N months), UTC: one DROP TABLE, no
row-by-row delete and nothing left to vacuum. The reports keep their counts: they read
the rollups (tracking.rollups), which keep what the events counted for.

A month stays, and the log and `manage.py drop_old_events` say why, while any of its
events is not yet in the rollups (a PendingEvent) or another app still needs it (the
events_dropping signal: automations refuses while a delivery of them is not finished).
What points at its events goes with them: enrichments, finished deliveries (through the
signal), their keys.

Unpartitioned (PostgreSQL without TRACKING_EVENT_PARTITIONS, or SQLite), nothing is
deleted and the refusal says why: deleting old rows one by one from a table this size
needs an index on occurred_at nothing else uses, and leaves the table as large as
before until it is vacuumed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import OperationalError

from tracking import partitions, rollups
from tracking.models import ConversionEvent, EventEnrichment, EventKey, PendingEvent
from tracking.signals import events_dropping

log = logging.getLogger(__name__)


@dataclass
class Month:
    partition: partitions.Partition
    events: int = 0
    dropped: bool = False
    reasons: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        label = self.partition.label
        if self.reasons:
            return f"kept {label} ({self.events:,} events): " + "; ".join(self.reasons)
        verb = "dropped" if self.dropped else "would drop"
        return f"{verb} {label}: {self.events:,} events ({self.partition.name})"


@dataclass
class Outcome:
    cutoff: datetime | None
    months: list[Month] = field(default_factory=list)
    refused: str = ""

    @property
    def dropped_events(self) -> int:
        return sum(m.events for m in self.months if m.dropped)

    def lines(self) -> list[str]:
        if self.refused:
            return [self.refused]
        head = f"Retention: events before {self.cutoff:%Y-%m-%d} (UTC) leave"
        if not self.months:
            return [f"{head}; no month is wholly older."]
        return [f"{head}:", *(f"  {m}" for m in self.months)]


def cutoff_for(months: int, now: datetime | None = None) -> datetime:
    """The first day of (this month − months), UTC: a month before it is wholly older."""
    return partitions.add_months(partitions.month_start(now or datetime.now(UTC)), -months)


def kept_since() -> datetime | None:
    """Since when every event is surely still there (None: all of them): the cutoff, once
    retention drops months (reconciliation checks only what is younger)."""
    months = settings.TRACKING_EVENT_RETENTION_MONTHS
    if months <= 0 or not partitions.is_partitioned():
        return None
    return cutoff_for(months)


def events_of(partition: partitions.Partition):
    """Exactly the partition's events: no other partition holds a time in its range (the
    default one holds none of another's), and the range prunes every other."""
    events = ConversionEvent.objects.filter(occurred_at__lt=partition.hi)
    if partition.lo is not None:
        events = events.filter(occurred_at__gte=partition.lo)
    return events


def _reasons(partition: partitions.Partition, *, delete: bool) -> list[str]:
    events = events_of(partition)
    reasons = []
    pending = PendingEvent.objects.filter(event_id__in=events.values("id")).count()
    if pending:
        reasons.append(
            f"{pending:,} of its events are not yet in the rollups (PendingEvent): the "
            "month goes at a run after they are"
        )
    for _, more in events_dropping.send(sender=ConversionEvent, events=events, delete=False):
        reasons.extend(more or [])
    if reasons or not delete:
        return reasons
    for _, more in events_dropping.send(sender=ConversionEvent, events=events, delete=True):
        reasons.extend(more or [])
    return reasons


def drop_old_events(*, months: int | None = None, dry_run: bool = False) -> Outcome:
    """Drop the months wholly older than the cutoff (see the module); what happened."""
    months = settings.TRACKING_EVENT_RETENTION_MONTHS if months is None else months
    if not months:
        return Outcome(None, refused="Retention is off (TRACKING_EVENT_RETENTION_MONTHS=0).")
    cutoff = cutoff_for(months)
    refused = ""
    if not partitions.is_postgresql():
        refused = (
            "Events are kept: retention drops monthly partitions of the events table, "
            "which needs PostgreSQL (TRACKING_EVENT_PARTITIONS); on SQLite nothing is dropped."
        )
    elif not partitions.is_partitioned():
        refused = (
            "Events are kept: the events table is not partitioned. Retention drops "
            "whole months; set TRACKING_EVENT_PARTITIONS=true and run "
            "`manage.py partition_events`, and old months leave at the next run."
        )
    if refused:
        log.warning(refused)
        return Outcome(cutoff, refused=refused)
    outcome = Outcome(cutoff)
    if not dry_run:
        rollups.flush()  # what is pending goes into the rollups first, which keep the counts
    for partition in partitions.partitions():
        if partition.default or partition.hi > cutoff:
            continue
        month = Month(partition)
        outcome.months.append(month)
        month.events = events_of(partition).count()
        if dry_run:
            month.reasons = _reasons(partition, delete=False)
            continue
        try:
            _drop(month)
        except _Kept:
            pass
        except OperationalError as error:
            busy = getattr(error.__cause__, "sqlstate", None) in ("55P03", "40P01")
            words = "the table stayed busy" if busy else "it could not be dropped"
            month.reasons = [f"{words} ({error}); the next run tries again"]
    for line in outcome.lines():
        (log.warning if any(m.reasons for m in outcome.months) else log.info)(line)
    return outcome


class _Kept(Exception):
    pass


def _drop(month: Month) -> None:
    partition = month.partition

    def drop(cursor):
        # No event of this month changes while it goes (an erasure waits, then finds none).
        cursor.execute(f"LOCK TABLE {partition.name} IN SHARE ROW EXCLUSIVE MODE")
        month.reasons = _reasons(partition, delete=True)
        if month.reasons:
            raise _Kept
        events = events_of(partition)
        month.events = events.count()
        EventEnrichment.objects.filter(event__in=events.values("id")).delete()
        EventKey.objects.filter(id__in=events.values("id")).delete()
        # Checked now, not at commit: nothing references the keys that went, and no check
        # of this transaction is left pending on the table.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        partitions.lock_parent_briefly(cursor)
        cursor.execute(f"DROP TABLE {partition.name}")
        month.dropped = True

    partitions._with_lock_timeout("default", drop)
