"""The events table partitioned by month (PostgreSQL): converted online with every row and
id kept, exactly once across months, the months made ahead, and old months dropped only
when nothing still needs them."""

import threading
import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import IntegrityError, NotSupportedError, connection, transaction
from django.urls import reverse

from automations.models import Delivery, DeliveryAttempt
from leads.models import Lead
from tests.automations.factories import ActionFactory
from tests.leads.factories import LeadFactory
from tests.quizzes.factories import AttemptFactory, QuestionFactory
from tests.tracking.factories import ConversionEventFactory
from tracking import partitions
from tracking.erasure import events_erase
from tracking.models import ConversionEvent, EventEnrichment, EventKey, PendingEvent
from tracking.reconcile import reconcile
from tracking.retention import drop_old_events
from tracking.tasks import event_partitions_ahead

ON_SQLITE = "sqlite" in settings.DATABASES["default"]["ENGINE"]
on_postgres = pytest.mark.skipif(
    ON_SQLITE, reason="partitioning is PostgreSQL's (run with DATABASE_URL=postgres://…)"
)
THIS_MONTH = partitions.month_start(datetime.now(UTC))


def month(offset: int) -> datetime:
    """A moment inside the month `offset` months from this one."""
    return partitions.add_months(THIS_MONTH, offset) + timedelta(days=3, hours=5)


def event(**kwargs) -> ConversionEvent:
    kwargs.setdefault("attempt", AttemptFactory())
    return ConversionEventFactory.build(**kwargs)


def sql(query: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def fresh_partitions() -> None:
    """Partitioned as a new install is: months from this one, nothing before."""
    if partitions.is_partitioned():
        partitions.unpartition()
    partitions.convert(out=lambda line: None)


@pytest.fixture(scope="module")
def partitioned(django_db_setup, django_db_blocker):
    """The test database's events table partitioned for these tests; as it was after."""
    with django_db_blocker.unblock():
        was = partitions.is_partitioned()
        fresh_partitions()
        yield
        if not was:
            partitions.unpartition()


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_converting_a_populated_table_keeps_every_row_id_index_and_trigger(
    partitioned, monkeypatch
):
    partitions.unpartition()
    attempt = AttemptFactory()
    # Fourteen months of events, as an install that has run for a while has them.
    old = [
        event(attempt=attempt, name="question_viewed", occurred_at=month(-k), question=None)
        for k in range(14)
    ]
    ConversionEvent.objects.bulk_create(old)
    started = ConversionEvent.objects.insert_new([event(attempt=attempt)])[0]
    action = ActionFactory()
    delivery = Delivery.objects.create(action=action, event=started, status="delivered")
    EventEnrichment.objects.create(
        client_event_id=uuid.uuid4(), event=started, properties={}, occurred_at=month(0)
    )
    before = set(ConversionEvent.objects.values_list("id", "event_id", "occurred_at"))
    pending = set(PendingEvent.objects.values_list("event_id", flat=True))
    report_index = sql("SELECT to_regclass('event_report_idx')::oid")[0][0]
    # Unpartitioned, retention keeps everything and says why.
    assert "not partitioned" in drop_old_events(months=13).refused

    # A run that stops at its last step (a lock it never got, a kill) leaves one table that
    # takes writes, their keys written beside it; running it again finishes.
    def interrupted(*args):
        raise partitions.PartitionError("interrupted")

    monkeypatch.setattr(partitions, "_swap", interrupted)
    with pytest.raises(CommandError, match="interrupted"):
        call_command("partition_events", stdout=StringIO())
    monkeypatch.undo()
    assert not partitions.is_partitioned()
    [meanwhile] = ConversionEvent.objects.insert_new([event(name="quiz_viewed")])
    before.add((meanwhile.pk, meanwhile.event_id, meanwhile.occurred_at))
    pending.add(meanwhile.pk)

    out = StringIO()
    call_command("partition_events", stdout=out)

    assert partitions.is_partitioned()
    assert set(ConversionEvent.objects.values_list("id", "event_id", "occurred_at")) == before
    assert set(PendingEvent.objects.values_list("event_id", flat=True)) == pending
    assert EventKey.objects.count() == len(before)
    names = [p.name for p in partitions.partitions()]
    oldest, default = names[0], names[-1]
    assert oldest.startswith("tracking_conversionevent_before_")
    assert default == partitions.DEFAULT
    assert {partitions.month_name(month(k)) for k in (1, 2, 3)} <= set(names)
    # The old table became the partition: its indexes adopted, not built again.
    assert sql(f"SELECT to_regclass('{oldest}_event_report_idx')::oid")[0][0] == report_index
    parent_indexes = {
        name
        for (name,) in sql(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'tracking_conversionevent'"
        )
    }
    assert parent_indexes == {
        "tracking_conversionevent_pkey",
        "event_report_idx",
        "event_attempt_idx",
        "event_visitor_idx",
        "event_lead_idx",
        "event_event_id_idx",
    }
    triggers = {
        name
        for (name,) in sql(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'tracking_conversionevent'::regclass"
            " AND NOT tgisinternal"
        )
    }
    assert triggers == {
        "tracking_event_key",
        "tracking_event_key_update",
        "tracking_event_keeps_time",
        "tracking_event_pending",
    }
    # Deliveries and enrichments now reference the key table, checked.
    references = sql(
        "SELECT conrelid::regclass::text, confrelid::regclass::text, convalidated "
        "FROM pg_constraint WHERE contype = 'f' AND confrelid = 'tracking_eventkey'::regclass"
    )
    assert sorted(references) == [
        ("automations_delivery", "tracking_eventkey", True),
        ("tracking_eventenrichment", "tracking_eventkey", True),
    ]
    assert Delivery.objects.get().event == started == delivery.event

    # Writes go on: a new event gets the next id and its pending row; an old one's copy
    # (its key was written beside the old table) is refused.
    [new] = ConversionEvent.objects.insert_new([event(attempt=attempt, name="quiz_completed")])
    assert new.pk > max(i for i, _, _ in before)
    assert PendingEvent.objects.filter(event_id=new.pk).exists()
    copy = event(attempt=attempt, name="question_viewed", event_id=old[5].event_id)
    assert ConversionEvent.objects.insert_new([copy]) == []

    again = StringIO()
    call_command("partition_events", stdout=again)
    assert "already partitioned" in again.getvalue()

    # The way back keeps every row too; then as a new install, for the tests below.
    partitions.unpartition()
    assert ConversionEvent.objects.count() == len(before) + 1
    assert ConversionEvent.objects.insert_new([copy]) == []  # the table's own constraint
    for model in (DeliveryAttempt, Delivery, EventEnrichment, PendingEvent):
        model.objects.all().delete()
    sql("DELETE FROM tracking_conversionevent")
    fresh_partitions()


@on_postgres
@pytest.mark.django_db
def test_each_event_is_stored_once_across_months_by_every_insert_path(partitioned):
    attempt, lead = AttemptFactory(), LeadFactory()
    first = event(attempt=attempt, name="quiz_started", occurred_at=month(0))
    assert ConversionEvent.objects.insert_new([first])
    # Its id again, in another month's partition: a per-partition index would miss it.
    assert (
        ConversionEvent.objects.insert_new([event(event_id=first.event_id, occurred_at=month(2))])
        == []
    )
    # Its once-only key again under a new id; a second answer to the same question.
    assert ConversionEvent.objects.insert_new([event(attempt=attempt, occurred_at=month(1))]) == []
    question = QuestionFactory(quiz=attempt.quiz)
    answers = [
        event(attempt=attempt, name="question_answered", question=question, occurred_at=month(k))
        for k in (0, 1)
    ]
    assert len(ConversionEvent.objects.insert_new(answers)) == 1
    leads = [
        event(attempt=AttemptFactory(), name="lead_submitted", lead=lead, occurred_at=month(k))
        for k in (0, 3)
    ]
    assert len(ConversionEvent.objects.insert_new(leads)) == 1

    # Without ON CONFLICT (save, bulk_create) a duplicate is an error, as it was, and
    # bulk_create keeps none of its batch.
    with pytest.raises(IntegrityError), transaction.atomic():
        event(event_id=first.event_id, occurred_at=month(1)).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        ConversionEvent.objects.bulk_create(
            [event(name="quiz_viewed"), event(event_id=first.event_id, occurred_at=month(2))]
        )
    # COPY (bench/ingest.py's path) skips the duplicate and stores the new one.
    count = ConversionEvent.objects.count()
    rows = [event(event_id=first.event_id, occurred_at=month(1)), event(name="quiz_viewed")]
    fields = [f for f in ConversionEvent._meta.concrete_fields if not f.primary_key]
    with connection.cursor() as cursor:
        columns = ", ".join(f.column for f in fields)
        with cursor.cursor.copy(f"COPY tracking_conversionevent ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    [f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields]
                )
    assert ConversionEvent.objects.count() == count + 1
    assert EventKey.objects.count() == ConversionEvent.objects.count()
    assert PendingEvent.objects.count() == ConversionEvent.objects.count()


@on_postgres
@pytest.mark.django_db
def test_erasure_changes_an_event_and_its_key_but_never_its_month(partitioned):
    lead = LeadFactory()
    [submitted] = ConversionEvent.objects.insert_new(
        [event(name="lead_submitted", lead=lead, properties={"lead_id": lead.pk})]
    )
    events_erase(events=ConversionEvent.objects.filter(pk=submitted.pk), secrets=())
    assert ConversionEvent.objects.get(pk=submitted.pk).lead is None
    assert EventKey.objects.get(pk=submitted.pk).lead_id is None
    with pytest.raises(IntegrityError, match="keeps its occurred_at"), transaction.atomic():
        ConversionEvent.objects.filter(pk=submitted.pk).update(occurred_at=month(2))


@on_postgres
@pytest.mark.django_db
def test_the_admin_lists_and_shows_events_of_every_month(partitioned, admin_client):
    events = ConversionEvent.objects.insert_new([event(occurred_at=month(k)) for k in (-2, 0, 2)])
    page = admin_client.get(reverse("admin:tracking_conversionevent_changelist"))
    assert page.status_code == 200
    links = [reverse("admin:tracking_conversionevent_change", args=[e.pk]) for e in events]
    assert all(link in page.content.decode() for link in links)
    assert admin_client.get(links[0]).status_code == 200


@on_postgres
@pytest.mark.django_db
def test_a_migration_adding_a_unique_constraint_to_events_skips_the_partitioned_table(
    partitioned,
):
    from django.db.migrations import AddConstraint
    from django.db.migrations.state import ProjectState
    from django.db.models import Q, UniqueConstraint

    adding = AddConstraint(
        "conversionevent",
        UniqueConstraint(fields=["attempt", "name"], condition=Q(name="cta_clicked"), name="x"),
    )
    before = ProjectState.from_apps(apps)
    after = before.clone()
    wrapped = partitions.UnlessPartitioned(adding)
    wrapped.state_forwards("tracking", after)
    assert "x" in {
        c.name for c in after.models["tracking", "conversionevent"].options["constraints"]
    }
    with connection.schema_editor(atomic=False) as editor:
        wrapped.database_forwards("tracking", editor, before, after)
    assert sql("SELECT to_regclass('x')") == [(None,)]
    unwrapped = pytest.raises(NotSupportedError, match="must include all partitioning columns")
    with unwrapped, transaction.atomic(), connection.schema_editor(atomic=False) as editor:
        adding.database_forwards("tracking", editor, before, after)


def _insert_in_own_connection(events, *, hold: threading.Event, release: threading.Event):
    try:
        with transaction.atomic():
            ConversionEvent.objects.insert_new(events)
            hold.set()
            release.wait(10)
            if events[0].properties.get("roll_back"):
                raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    finally:
        connection.close()


@on_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first_commits", [True, False])
def test_of_two_connections_inserting_one_event_at_once_one_stores_it(partitioned, first_commits):
    original = event(occurred_at=month(0), properties={"roll_back": not first_commits})
    racer = event(event_id=original.event_id, attempt=original.attempt, occurred_at=month(1))
    hold, release, result = threading.Event(), threading.Event(), {}
    first = threading.Thread(
        target=_insert_in_own_connection,
        args=([original],),
        kwargs={"hold": hold, "release": release},
    )
    first.start()
    assert hold.wait(10)

    def second():
        try:
            result["stored"] = ConversionEvent.objects.insert_new([racer])
        finally:
            connection.close()

    waiting = threading.Thread(target=second)
    waiting.start()
    waiting.join(0.5)
    assert waiting.is_alive()  # it waits for the first transaction's key
    release.set()
    first.join(10)
    waiting.join(10)
    stored = ConversionEvent.objects.filter(event_id=original.event_id)
    assert stored.count() == 1
    assert (result["stored"] == []) is first_commits
    assert stored.get().occurred_at == (original if first_commits else racer).occurred_at


@on_postgres
@pytest.mark.django_db
def test_the_daily_task_makes_the_months_ahead_and_moves_early_arrivals_into_theirs(partitioned):
    last = partitions.month_name(month(3))
    sql(f"DROP TABLE {last}")
    # Dated beyond the months ahead: the default partition keeps it meanwhile.
    [early] = ConversionEvent.objects.insert_new([event(occurred_at=month(5))])
    assert sql(f"SELECT count(*) FROM {partitions.DEFAULT}") == [(1,)]

    assert event_partitions_ahead() == [last]
    assert partitions.months_ahead(months=5) == [
        partitions.month_name(month(4)),
        partitions.month_name(month(5)),
    ]

    assert sql(f"SELECT count(*) FROM {partitions.DEFAULT}") == [(0,)]
    assert sql(f"SELECT id FROM {partitions.month_name(month(5))}") == [(early.pk,)]
    assert PendingEvent.objects.filter(event_id=early.pk).exists()
    assert ConversionEvent.objects.insert_new([event(event_id=early.event_id)]) == []
    assert event_partitions_ahead() == []


@on_postgres
@pytest.mark.django_db
def test_retention_drops_only_wholly_old_months_and_keeps_those_still_needed(partitioned, settings):
    made = partitions.months_back(month(-20))
    assert made[0] == partitions.month_name(month(-20)) and len(made) == 20
    lead = LeadFactory(created_at=month(-20))
    [gone] = ConversionEvent.objects.insert_new(
        [event(name="lead_submitted", lead=lead, occurred_at=month(-20))]
    )
    unrolled, undelivered, recent = (
        ConversionEvent.objects.insert_new([event(occurred_at=month(k))])[0]
        for k in (-15, -14, -13)
    )
    action = ActionFactory()
    sent = Delivery.objects.create(action=action, event=gone, status="delivered")
    Delivery.objects.create(
        action=ActionFactory(rule=action.rule), event=gone, after=sent, status="dead"
    )
    DeliveryAttempt.objects.create(delivery=sent, step="send")
    EventEnrichment.objects.create(
        client_event_id=uuid.uuid4(), event=gone, properties={}, occurred_at=gone.occurred_at
    )
    Delivery.objects.create(action=action, event=undelivered, status="held")
    PendingEvent.objects.exclude(event_id=unrolled.pk).delete()  # the rollups caught up

    dry = drop_old_events(months=13, dry_run=True)
    assert [str(m).split(":")[0] for m in dry.months if m.events] == [
        f"would drop {month(-20):%Y-%m}",
        f"kept {month(-15):%Y-%m} (1 events)",
        f"kept {month(-14):%Y-%m} (1 events)",
    ]
    assert ConversionEvent.objects.filter(pk=gone.pk).exists()

    settings.TRACKING_EVENT_RETENTION_MONTHS = 13
    out = StringIO()
    # For real, the pending events are rolled up first (the rollups keep their counts):
    # only the month whose delivery is held stays.
    with pytest.raises(CommandError, match="1 month"):
        call_command("drop_old_events", stdout=out)
    report = out.getvalue()
    assert f"dropped {month(-20):%Y-%m}: 1 events" in report
    assert f"dropped {month(-16):%Y-%m}: 0 events" in report
    assert f"dropped {month(-15):%Y-%m}: 1 events" in report
    assert (
        f"kept {month(-14):%Y-%m} (1 events): deliveries of its events are not finished (1 held)"
        in report
    )
    assert "Dropped 2 events in 6 months." in report
    assert not PendingEvent.objects.exists()

    remaining = [p.label for p in partitions.partitions()]
    assert remaining[:2] == [f"{month(k):%Y-%m}" for k in (-14, -13)]
    assert set(ConversionEvent.objects.values_list("pk", flat=True)) == {
        undelivered.pk,
        recent.pk,
    }
    assert not EventKey.objects.filter(pk=gone.pk).exists()
    assert not Delivery.objects.filter(event_id=gone.pk).exists()
    assert not DeliveryAttempt.objects.exists() and not EventEnrichment.objects.exists()
    # Its lead stays; reconciliation checks only what retention keeps.
    assert Lead.objects.filter(pk=lead.pk).exists()
    assert reconcile()[0].ok

    Delivery.objects.update(status="delivered")
    assert drop_old_events().dropped_events == 1
    assert set(ConversionEvent.objects.values_list("pk", flat=True)) == {recent.pk}


@pytest.mark.skipif(not ON_SQLITE, reason="on PostgreSQL the tests above partition for real")
@pytest.mark.django_db
def test_on_sqlite_partitions_and_retention_do_nothing_and_say_so():
    with pytest.raises(CommandError, match="PostgreSQL's: on SQLite"):
        call_command("partition_events", stdout=StringIO())
    assert "on SQLite nothing is dropped" in drop_old_events(months=13).refused


def test_beat_makes_the_months_ahead_and_drops_old_months_daily(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["event-partitions-ahead"] == {
        "task": "tracking.tasks.event_partitions_ahead",
        "schedule": 86400.0,
    }
    assert schedule["drop-old-events"] == {
        "task": "tracking.tasks.drop_old_events",
        "schedule": 86400.0,
    }


@on_postgres
@pytest.mark.django_db
def test_the_dashboards_keep_their_counts_when_old_months_leave(partitioned, settings):
    from tracking import reports

    partitions.months_back(month(-20))
    old = month(-18)
    attempt = AttemptFactory()
    quiz = attempt.quiz
    ConversionEvent.objects.insert_new(
        [
            event(name="quiz_started", quiz=quiz, attempt=attempt, occurred_at=old),
            event(name="quiz_completed", quiz=quiz, attempt=attempt, occurred_at=old),
        ]
    )
    first = old.replace(day=1, hour=0)
    window = first, partitions.add_months(first, 1)

    def counts():
        funnel = reports.funnel(quiz, *window, "visitors")
        return funnel.visitors, funnel.started, funnel.steps[-2].count

    assert counts() == (1, 1, 1)
    settings.TRACKING_EVENT_RETENTION_MONTHS = 13
    assert drop_old_events().dropped_events == 2
    assert not ConversionEvent.objects.filter(attempt=attempt).exists()
    assert counts() == (1, 1, 1)  # from the rollups, which the drop flushed first
