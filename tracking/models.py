"""Conversion events: append-only, one row per tracked action.

Once-only events are unique in the database itself (conditional unique
constraints), not only by their deterministic ids.
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, connections, models
from django.db.models import Q
from django.utils import timezone

from leads.models import Lead
from quizzes.models import Attempt, Question, Quiz
from tracking import plan


class AppendOnlyError(RuntimeError):
    pass


# On a partitioned events table (tracking.partitions) a trigger skips an event whose id or
# once-only key exists, as ON CONFLICT DO NOTHING does; an INSERT without it (save(),
# bulk_create) then gets no row back, and says so as the unpartitioned table would.
SKIPPED_WORDS = (
    "duplicate key value violates unique constraint (tracking_eventkey): an event with "
    "this event_id or once-only key exists"
)


def refuse_skipped(rows: list, count: int) -> list:
    if len(rows) != count or any(row is None for row in rows):
        raise IntegrityError(SKIPPED_WORDS)
    return rows


def once_only_constraints(prefix: str, *, attempt: str, question: str, lead: str) -> list:
    """What makes once-only events once only: the events' own constraints, and the same
    on EventKey (which holds them when the events table is partitioned)."""
    return [
        models.UniqueConstraint(
            fields=[attempt, "name"],
            condition=Q(name__in=plan.ONCE_PER_ATTEMPT),
            name=f"{prefix}_once_per_attempt",
        ),
        models.UniqueConstraint(
            fields=[attempt, "name", question],
            condition=Q(name__in=plan.ONCE_PER_QUESTION),
            name=f"{prefix}_once_per_attempt_and_question",
        ),
        models.UniqueConstraint(
            fields=[lead],
            condition=Q(name="lead_submitted"),
            name=f"{prefix}_one_lead_submitted_per_lead",
        ),
    ]


class EventQuerySet(models.QuerySet):
    def _insert(self, objs, fields, returning_fields=None, raw=False, using=None, **kwargs):
        rows = super()._insert(objs, fields, returning_fields, raw, using, **kwargs)
        if returning_fields and kwargs.get("on_conflict") is None:
            refuse_skipped(rows, len(objs))
        return rows

    _insert.queryset_only = False

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


class AppendOnly(models.Model):
    """Rows written once and never changed or deleted through the ORM (erasure redacts
    with a queryset update, on purpose)."""

    append_only_words = "Events are append-only."

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError(self.append_only_words)
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(self.append_only_words)


class ConversionEvent(AppendOnly):
    append_only_words = "Conversion events are append-only."

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
        # Partitioned (tracking.partitions), the table cannot hold these: EventKey does.
        constraints = once_only_constraints(
            "event", attempt="attempt", question="question", lead="lead"
        )

    def __str__(self) -> str:
        return f"{self.name} {self.event_id}"

    def _do_insert(self, manager, using, fields, returning_fields, raw):
        rows = super()._do_insert(manager, using, fields, returning_fields, raw)
        return refuse_skipped(rows, 1) if returning_fields else rows


class EventKey(models.Model):
    """What makes an event unique, kept beside a partitioned events table.

    PostgreSQL enforces a unique index on a partitioned table only when it holds the
    partition key (occurred_at): an event's event_id and once-only keys could repeat
    across months. With TRACKING_EVENT_PARTITIONS a trigger writes each event's key here
    first (INSERT … ON CONFLICT DO NOTHING) and skips the event when the key exists, so
    every insert path (insert_new, bulk_create, COPY) stays exactly once; the events'
    foreign keys (deliveries, enrichments) point at `id` here. Empty otherwise
    (tracking.partitions).
    """

    id = models.BigIntegerField(primary_key=True, help_text="The event's id.")
    event_id = models.UUIDField(unique=True)
    name = models.CharField(max_length=40)
    attempt_id = models.BigIntegerField(null=True)
    question_id = models.BigIntegerField(null=True)
    lead_id = models.BigIntegerField(null=True)

    class Meta:
        constraints = once_only_constraints(
            "event_key", attempt="attempt_id", question="question_id", lead="lead_id"
        )

    def __str__(self) -> str:
        return f"key {self.name} {self.event_id}"


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
    # The API key (api.ApiKey, a plain id) of a call from another system; None: a browser.
    key_id = models.PositiveBigIntegerField("API key", null=True, blank=True)
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


class CustomEvent(models.Model):
    """An event another system sends (a booked demo, a won deal), declared by a marketer.

    tracking.plan reads these beside the built-in events: the Segment-compatible ingest
    accepts a `track` call only for a declared name, with properties that fit. The
    built-in events stay in code and are never sent from outside.
    """

    name = models.CharField(
        max_length=40,
        unique=True,
        help_text="As other systems send it: lowercase letters, digits and underscores "
        "(demo_booked).",
    )
    description = models.CharField(max_length=300, help_text="What happened, in a sentence.")
    timeline_text = models.CharField(
        "timeline sentence",
        max_length=100,
        blank=True,
        help_text="How the sales timeline tells it (“Booked a demo”); empty: from the name.",
    )
    funnel_position = models.PositiveSmallIntegerField(
        "step after the lead",
        null=True,
        blank=True,
        unique=True,
        help_text="Show it in the dashboard's funnel past the lead, at this step (1, 2 …); "
        "empty: not a funnel step.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["funnel_position", "name"]
        verbose_name = "custom event"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        problem = plan.custom_name_problem(self.name)
        if problem:
            raise ValidationError({"name": problem})


class CustomEventProperty(models.Model):
    event = models.ForeignKey(CustomEvent, on_delete=models.CASCADE, related_name="properties")
    name = models.CharField(max_length=60, help_text="As sent: letters, digits, underscores.")
    type = models.CharField(max_length=10, choices=[(t, t) for t in plan.TYPES])
    required = models.BooleanField(default=False)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = "property"
        verbose_name_plural = "properties"
        constraints = [
            models.UniqueConstraint(fields=["event", "name"], name="custom_event_property_once")
        ]

    def __str__(self) -> str:
        return f"{self.event.name}.{self.name}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if not plan.PROPERTY_NAME.fullmatch(self.name or ""):
            raise ValidationError(
                {"name": "Use letters, digits and underscores, starting with a letter."}
            )


class ExternalEventQuerySet(models.QuerySet):
    def insert_new(self, events: list[ExternalEvent]) -> list[ExternalEvent]:
        """Insert each call unless its source already sent its messageId; the inserted.

        INSERT … ON CONFLICT DO NOTHING RETURNING on the unique (key_id, message_id):
        a retried batch, or two copies of it at once, stores each call once.
        """
        if not events:
            return []
        connection = connections[self.db]
        meta = events[0]._meta
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        row = f"({', '.join(['%s'] * len(fields))})"
        inserted_keys = {}
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
                "RETURNING id, key_id, message_id"
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, values)
                inserted_keys.update({(r[1], r[2]): r[0] for r in cursor.fetchall()})
        inserted = []
        for event in events:
            pk = inserted_keys.pop((event.key_id, event.message_id), None)
            if pk is None:
                continue
            event.pk = pk
            event._state.adding = False
            event._state.db = self.db
            inserted.append(event)
        return inserted


class ExternalEvent(AppendOnly):
    """A call another system sent in Segment's format (track, page, identify), kept once.

    `key_id` is the API key (api.ApiKey) that sent it: Segment's source. A plain id,
    not a foreign key, since tracking never depends on api. Append-only like the
    conversion events; who the sender's ids belong to is kept in Identity, so a call
    made before the person was identified joins them once they are.
    """

    class Type(models.TextChoices):
        TRACK = "track", "Track"
        PAGE = "page", "Page"
        IDENTIFY = "identify", "Identify"

    key_id = models.PositiveBigIntegerField(help_text="The API key (write key) that sent it.")
    message_id = models.CharField(max_length=100)
    type = models.CharField(max_length=8, choices=Type.choices)
    # track: the plan's custom event; page: the page's name; identify: empty.
    name = models.CharField(max_length=200, blank=True)
    user_id = models.CharField(max_length=255, blank=True)
    anonymous_id = models.CharField(max_length=255, blank=True)
    properties = models.JSONField(default=dict, blank=True, help_text="Or an identify's traits.")
    context = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(help_text="Corrected for the sender's clock.")
    received_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="By the sender's clock.")
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ExternalEventQuerySet.as_manager()

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name = "event from another system"
        verbose_name_plural = "events from other systems"
        indexes = [
            models.Index(fields=["user_id", "occurred_at"], name="external_user_idx"),
            models.Index(fields=["anonymous_id", "occurred_at"], name="external_anonymous_idx"),
            models.Index(fields=["name", "occurred_at"], name="external_name_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["key_id", "message_id"], name="external_event_once_per_source"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.name} {self.message_id}"


class Identity(models.Model):
    """An id another system uses for a person (its userId or anonymousId), linked to their
    e-mail by an identify call. The e-mail is the person: every lead with it."""

    class Kind(models.TextChoices):
        USER = "user", "userId"
        ANONYMOUS = "anonymous", "anonymousId"

    kind = models.CharField(max_length=9, choices=Kind.choices)
    value = models.CharField(max_length=255)
    email = models.EmailField(max_length=254, db_index=True)
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="identity_once")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value} → {self.email}"


class PendingEvent(models.Model):
    """An event not yet in the rollups: a database trigger writes one for every event
    inserted, in the inserting statement's transaction (tracking.rollups)."""

    event_id = models.BigIntegerField(primary_key=True)

    def __str__(self) -> str:
        return f"pending {self.event_id}"


class RollupLabel(models.Model):
    """A rollup row's label (a source, a tier, a unit's state), kept once by its hash."""

    hash = models.CharField(max_length=32, primary_key=True)
    text = models.TextField()

    def __str__(self) -> str:
        return self.text


# What makes a rollup row one (the rest is its value): the upsert's conflict target too.
ROLLUP_KEYS = ["quiz", "language", "unit", "key", "day", "lo", "hi", "nxt"]
ROLLUP_KEYS += ["question_id", "label", "number"]


class Rollup(models.Model):
    """What the reports read: the sum, over every visitor, of what their events count
    for (tracking.rollups.contributions). Days are ordinals (date.toordinal()) in
    TIME_ZONE; a row counts for the days A..B when lo < A <= hi and day <= B < nxt."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="+", db_index=False)
    language = models.CharField(max_length=8, blank=True)  # "" is every language
    unit = models.CharField(max_length=1)  # "a" attempts, "v" visitors
    key = models.CharField(max_length=12)
    day = models.IntegerField()
    lo = models.IntegerField()
    hi = models.IntegerField()
    nxt = models.IntegerField()
    question_id = models.IntegerField(default=0)
    label = models.CharField(max_length=32, blank=True)  # RollupLabel.hash, or ""
    number = models.IntegerField(default=0)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=ROLLUP_KEYS, name="rollup_once")]

    def __str__(self) -> str:
        return f"{self.unit} {self.key} {self.day} = {self.value}"


class RollupState(models.Model):
    """One row: held (SELECT … FOR UPDATE) by whoever changes the rollups, and the time
    zone their days are in."""

    time_zone = models.CharField(max_length=64, blank=True)
    flushed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"rollups in {self.time_zone or '?'}"
