"""Checks for tracking: the rate limits (`manage.py check --deploy`), the events' retention
and partitions."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import connection


@register(Tags.caches, deploy=True)
def rate_limits_are_shared(app_configs, **kwargs):
    """POST /t/events limits each visitor's rate in the cache: a per-process cache
    lets each web worker grant the full rate again."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith("LocMemCache") or backend.endswith("DummyCache"):
        return [
            Warning(
                "The cache is per process, so each web worker keeps its own rate limits "
                "for POST /t/events.",
                hint="Set CACHE_URL (for example redis://host:6379/1) so that all web "
                "processes share them.",
                id="tracking.W001",
            )
        ]
    return []


# The dashboard's ranges reach MAX_RANGE_DAYS (366) days back, and the reports' rollups
# keep a range's counts exact only when events leave after every range that could still
# hold them. Months older than the first day of (this month − 13) always ended more than
# 366 days ago (13 months are at least 393 days); with 12, on the first of a month they
# ended 365 days ago.
MINIMUM_RETENTION_MONTHS = 13


@register()
def events_retention_and_partitions(app_configs, **kwargs):
    from tracking.forms import MAX_RANGE_DAYS as LONGEST_RANGE_DAYS

    months = settings.TRACKING_EVENT_RETENTION_MONTHS
    messages = []
    if months < 0 or 0 < months < MINIMUM_RETENTION_MONTHS:
        messages.append(
            Error(
                f"TRACKING_EVENT_RETENTION_MONTHS={months}: events must be kept at least "
                f"{MINIMUM_RETENTION_MONTHS} months (or 0, for ever).",
                hint=f"The dashboard's ranges reach {LONGEST_RANGE_DAYS} days back, and the "
                "reports' rollups keep exact counts only when events leave after any range "
                f"that could hold them: with {MINIMUM_RETENTION_MONTHS} months, the oldest "
                f"month dropped ends more than {LONGEST_RANGE_DAYS} days ago.",
                id="tracking.E001",
            )
        )
    sqlite = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
    if settings.TRACKING_EVENT_PARTITIONS and sqlite:
        messages.append(
            Warning(
                "TRACKING_EVENT_PARTITIONS does nothing on SQLite: the events table stays "
                "one table.",
                hint="Partitioning is PostgreSQL's (DATABASE_URL=postgres://…).",
                id="tracking.W004",
            )
        )
    if months > 0 and (sqlite or not settings.TRACKING_EVENT_PARTITIONS):
        why = "the database is SQLite" if sqlite else "TRACKING_EVENT_PARTITIONS is off"
        messages.append(
            Warning(
                f"TRACKING_EVENT_RETENTION_MONTHS={months} drops nothing: retention drops "
                f"monthly partitions of the events table, and {why}.",
                hint="On PostgreSQL set TRACKING_EVENT_PARTITIONS=true and run "
                "`manage.py partition_events`; on SQLite events are kept.",
                id="tracking.W002",
            )
        )
    return messages


@register(Tags.database)
def events_are_partitioned_when_wanted(app_configs, databases=None, **kwargs):
    """TRACKING_EVENT_PARTITIONS on an existing table: the migration does not convert a
    table that holds events; the command does, online."""
    if not settings.TRACKING_EVENT_PARTITIONS or "default" not in (databases or ()):
        return []
    from tracking import partitions

    if not partitions.is_postgresql() or partitions.is_partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [partitions.EVENTS])
        if not cursor.fetchone()[0]:
            return []  # not migrated yet: the migration makes it partitioned
    return [
        Warning(
            "TRACKING_EVENT_PARTITIONS is on, but the events table is not partitioned yet.",
            hint="Run `manage.py partition_events` (online: the table stays open to writes; "
            "see the README's Production section).",
            id="tracking.W003",
        )
    ]
