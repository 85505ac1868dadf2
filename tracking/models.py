"""Conversion events: append-only, one row per tracked action.

Once-only events are unique in the database itself (conditional unique
constraints), not only by their deterministic ids.
"""

from __future__ import annotations

import uuid

from django.db import connections, models
from django.db.models import Q
from django.utils import timezone

from leads.models import Lead
from quizzes.models import Attempt, Question, Quiz
from tracking import plan


class AppendOnlyError(RuntimeError):
    pass


class EventQuerySet(models.QuerySet):
    def insert_once(self, event: ConversionEvent, *, relaxed_commit: bool = False) -> bool:
        """Insert the event unless one with its id (or its once-only key) exists.

        Returns whether it inserted; see insert_new.
        """
        return bool(self.insert_new([event], relaxed_commit=relaxed_commit))

    def insert_new(
        self, events: list[ConversionEvent], *, relaxed_commit: bool = False
    ) -> list[ConversionEvent]:
        """Insert each event unless one with its id (or its once-only key) exists.

        INSERT … ON CONFLICT DO NOTHING RETURNING, on PostgreSQL and SQLite
        alike: no read before, no savepoint, and no error for the request that
        lost a race. Returns the events actually inserted, with their primary
        keys (bulk_create(ignore_conflicts=True) sets none, so nothing could
        point at them), in the order given.
        """
        if not events:
            return []
        connection = connections[self.db]
        meta = events[0]._meta
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        row = f"({', '.join(['%s'] * len(fields))})"
        returning = "id, event_id"
        if relaxed_commit and connection.vendor == "postgresql":
            # In the same statement, so it costs no round trip: this transaction
            # commits without waiting for the disk flush (a view; plan.VIEW_COMMIT_NOTE).
            returning += ", set_config('synchronous_commit', 'off', true)"
        by_id = {}
        size = max(1, connection.ops.bulk_batch_size(fields, events))
        for start in range(0, len(events), size):
            chunk = events[start : start + size]
            values = [
                f.get_db_prep_save(f.pre_save(event, True), connection)
                for event in chunk
                for f in fields
            ]
            sql = (
                f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) "
                f"VALUES {', '.join([row] * len(chunk))} ON CONFLICT DO NOTHING "
                f"RETURNING {returning}"
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, values)
                # SQLite returns the uuid as its hex text, PostgreSQL as a UUID.
                by_id.update({uuid.UUID(str(r[1])): r[0] for r in cursor.fetchall()})
        inserted = []
        for event in events:
            pk = by_id.pop(uuid.UUID(str(event.event_id)), None)
            if pk is None:
                continue
            event.pk = pk
            event._state.adding = False
            event._state.db = self.db
            inserted.append(event)
        return inserted


class ConversionEvent(models.Model):
    Source = plan.Source  # defined once, in the plan

    class Device(models.TextChoices):
        MOBILE = "mobile", "Mobile"
        TABLET = "tablet", "Tablet"
        DESKTOP = "desktop", "Desktop"
        BOT = "bot", "Bot"
        UNKNOWN = "unknown", "Unknown"

    event_id = models.UUIDField(unique=True, editable=False)
    name = models.CharField(max_length=40, choices=[(n, n) for n in plan.PLAN])
    # No index of their own for quiz, attempt and lead: the indexes in Meta start
    # with them, and every index is one more write on each event.
    quiz = models.ForeignKey(Quiz, on_delete=models.PROTECT, related_name="events", db_index=False)
    attempt = models.ForeignKey(
        Attempt,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    # Not indexed either: only deleting a question looks events up by it alone.
    question = models.ForeignKey(
        Question,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    lead = models.ForeignKey(
        Lead, on_delete=models.PROTECT, null=True, blank=True, related_name="events", db_index=False
    )
    visitor_id = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=6, choices=plan.Source.choices, default=plan.Source.SERVER)
    properties = models.JSONField(default=dict, blank=True)

    # First touch: the visitor's first landing; last touch: their latest campaign visit.
    first_touch = models.JSONField(default=dict, blank=True)
    last_touch = models.JSONField(default=dict, blank=True)
    ft_source = models.CharField("first-touch source", max_length=100, blank=True)
    ft_medium = models.CharField("first-touch medium", max_length=100, blank=True)
    ft_campaign = models.CharField("first-touch campaign", max_length=100, blank=True)
    ft_referrer = models.CharField("first-touch referrer", max_length=100, blank=True)
    lt_source = models.CharField("last-touch source", max_length=100, blank=True)

    device = models.CharField(max_length=8, choices=Device.choices, default=Device.UNKNOWN)
    is_bot = models.BooleanField(default=False)
    is_preview = models.BooleanField(default=False)
    # The one change an event ever gets: its person was erased (tracking.services.events_erase).
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            # Covering (PostgreSQL): the reports' scans never visit the table itself.
            # attempt_id joins each event to its attempt's start (reports count whole
            # attempts), id orders events that tie in time.
            models.Index(
                fields=["quiz", "name", "occurred_at"],
                include=[
                    "is_bot",
                    "is_preview",
                    "visitor_id",
                    "question_id",
                    "ft_source",
                    "ft_medium",
                    "ft_campaign",
                    "ft_referrer",
                    "lt_source",
                    "attempt_id",
                    "id",
                ],
                name="event_report_idx",
            ),
            models.Index(fields=["attempt", "name"], name="event_attempt_idx"),
            models.Index(fields=["visitor_id", "occurred_at"], name="event_visitor_idx"),
            # Most events have no lead: they need no entry here.
            models.Index(fields=["lead"], name="event_lead_idx", condition=Q(lead__isnull=False)),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["attempt", "name"],
                condition=Q(name__in=plan.ONCE_PER_ATTEMPT),
                name="event_once_per_attempt",
            ),
            models.UniqueConstraint(
                fields=["attempt", "name", "question"],
                condition=Q(name__in=plan.ONCE_PER_QUESTION),
                name="event_once_per_attempt_and_question",
            ),
            models.UniqueConstraint(
                fields=["lead"],
                condition=Q(name="lead_submitted"),
                name="event_one_lead_submitted_per_lead",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.event_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Conversion events are append-only.")
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Conversion events are append-only.")


class EventEnrichment(models.Model):
    """What the browser added to a server event (time on screen, read depth).

    Kept beside the event, so the event itself stays as recorded and is
    counted once.
    """

    client_event_id = models.UUIDField(unique=True)
    event = models.ForeignKey(ConversionEvent, on_delete=models.PROTECT, related_name="enrichments")
    properties = models.JSONField(default=dict)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.event.name} + {sorted(self.properties)}"


class RejectedEvent(models.Model):
    """A client payload the endpoint refused, kept with the reason for inspection."""

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    visitor_id = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=500)
    payload = models.JSONField(null=True, blank=True)
    raw = models.TextField(blank=True, max_length=10000, help_text="The body when it was not JSON.")

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return self.reason


class ReconciliationRun(models.Model):
    ran_at = models.DateTimeField(default=timezone.now)
    since = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField()
    summary = models.JSONField(default=dict)

    class Meta:
        ordering = ["-ran_at"]
        get_latest_by = "ran_at"

    def __str__(self) -> str:
        return f"{self.ran_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'MISMATCH'}"
