"""The rollups behind the reports: every event reaches them once, whatever wrote it, and
whatever changes events in place (erasure, a question deleted, another time zone)
leaves them equal to a rebuild from nothing. (That the reports equal a plain reference,
pending or rolled up, is tests/tracking/test_reports.py.)"""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db.models import Q
from django.test import Client, override_settings
from django.utils import timezone

from tests.visitor import HOT_RUN, answer, question, run, start, step_url, submit_lead
from tracking import reports, rollups, tasks
from tracking.erasure import events_erase
from tracking.models import ConversionEvent, PendingEvent, Rollup, RollupLabel

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    """The rollups as (quiz, language, unit, key, days…, question, label text, number) → value."""
    texts = dict(RollupLabel.objects.values_list("hash", "text"))

    keys = ("quiz_id", "language", "unit", "key", "day", "lo", "hi", "nxt", "question_id")
    return {
        (*[getattr(r, k) for k in keys], texts.get(r.label, ""), r.number): r.value
        for r in Rollup.objects.all()
    }


def rebuilt() -> dict:
    """What a rebuild from nothing gives (the rollups are put back as they were)."""
    rollups.rebuild()
    return snapshot()


def test_every_way_of_inserting_an_event_leaves_it_pending_until_flushed(client, scorecard):
    submit_lead(client, run(client, scorecard))  # the ORM's INSERT … ON CONFLICT
    attempt = ConversionEvent.objects.filter(name="quiz_started").get().attempt
    ConversionEvent.objects.bulk_create(  # a bulk insert (the bench's and tests' path)
        [
            ConversionEvent(
                event_id=uuid.uuid4(),
                name="answer_changed",
                quiz=scorecard,
                attempt=attempt,
                visitor_id=attempt.visitor_id,
                occurred_at=datetime.now(UTC),
            )
        ]
    )
    assert PendingEvent.objects.count() == ConversionEvent.objects.count() > 5
    assert tasks.flush_rollups() == ConversionEvent.objects.count()
    assert not PendingEvent.objects.exists()
    assert tasks.flush_rollups() == 0


def test_rolling_up_changes_no_figure_and_equals_a_rebuild(client, scorecard):
    for _ in range(2):
        submit_lead(client, run(client, scorecard))
    other = Client()
    attempt = start(other, scorecard)
    answer(other, attempt, "Do you advertise?", "Yes")
    day = datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1)
    before = [
        (s.key, s.count, s.base, s.left_here) for s in reports.funnel(scorecard, *day, "visitors")
    ]
    rollups.flush(batch=7)  # small batches: a visitor's events split across them
    assert [
        (s.key, s.count, s.base, s.left_here) for s in reports.funnel(scorecard, *day, "visitors")
    ] == before
    flushed = snapshot()
    assert flushed and flushed == rebuilt()
    # Rows that come to nothing are gone, not kept at 0.
    assert not Rollup.objects.filter(value=0).exists()


def test_erasing_a_person_keeps_the_rollups_equal_to_a_rebuild(client, scorecard):
    email = "ada@example.com"
    client.get(scorecard.get_absolute_url() + f"?utm_source={email}")  # a campaign holding it
    attempt = start(client, scorecard)
    for text, labels, kwargs in HOT_RUN:
        answer(client, attempt, text, *labels, **kwargs)
    submit_lead(client, attempt, email=email)
    rollups.flush()
    assert any(email in k[9] for k in snapshot()), "the source label holds the e-mail"

    theirs = Q(attempt=attempt) | Q(visitor_id=attempt.visitor_id)  # as automations.privacy
    events_erase(events=ConversionEvent.objects.filter(theirs), secrets=(email,))
    erased = snapshot()
    assert not any(email in k[9] for k in erased)
    assert erased == rebuilt()
    window = datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1)
    assert [r.leads for r in reports.sources(scorecard, *window)] == [1]


def test_deleting_a_question_keeps_the_rollups_equal_to_a_rebuild(client, scorecard):
    attempt = start(client, scorecard)
    answer(client, attempt, "Do you advertise?", "Yes")
    client.get(step_url(attempt, question(scorecard, "How do you tag links?")))
    rollups.flush()
    question(scorecard, "How do you tag links?").delete()  # its events keep no question
    assert snapshot() == rebuilt()
    window = datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1)
    funnel = reports.funnel(scorecard, *window)
    assert [(s.key, s.left_here) for s in funnel if s.key == "deleted"] == [("deleted", 1)]


def _event(quiz, name, at, visitor, attempt=None, **fields):
    return ConversionEvent(
        event_id=uuid.uuid4(),
        name=name,
        quiz=quiz,
        attempt=attempt,
        visitor_id=visitor,
        occurred_at=at,
        **fields,
    )


def test_days_are_the_time_zones_and_a_new_time_zone_rebuilds_them(scorecard):
    """A start at 23:30 UTC on 1 March is on 2 March in Berlin."""
    from quizzes.models import Attempt

    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    attempt = Attempt.objects.create(quiz=scorecard, visitor_id="night")
    ConversionEvent.objects.bulk_create([_event(scorecard, "quiz_started", late, "night", attempt)])
    rollups.flush()

    def started_on(day):
        """Attempts started on that day, in the current TIME_ZONE."""
        start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
        return reports.funnel(scorecard, start, start + timedelta(days=1)).started

    assert (started_on(date(2026, 3, 1)), started_on(date(2026, 3, 2))) == (1, 0)
    with override_settings(TIME_ZONE="Europe/Berlin"):
        rollups.flush()  # sees the new zone: every event is rolled up again in it
        assert (started_on(date(2026, 3, 1)), started_on(date(2026, 3, 2))) == (0, 1)
        assert snapshot() == rebuilt()


def test_a_visitor_back_a_year_later_counts_once_in_a_range_holding_both_days(scorecard):
    """The dashboard's longest range is 366 days: a visitor on its first and its last day
    is one visitor, and two in no range."""
    from quizzes.models import Attempt

    first = datetime(2025, 3, 1, 12, tzinfo=UTC)
    last = first + timedelta(days=365)
    rows = []
    for moment in (first, last):
        attempt = Attempt.objects.create(quiz=scorecard, visitor_id="loyal")
        rows.append(_event(scorecard, "quiz_started", moment, "loyal", attempt))
    ConversionEvent.objects.bulk_create(rows)
    rollups.flush()
    midnight = datetime(2025, 3, 1, tzinfo=UTC)

    def came(days, offset=0):
        start = midnight + timedelta(days=offset)
        return reports.funnel(scorecard, start, start + timedelta(days=days), "visitors").visitors

    assert came(366) == 1  # both days
    assert came(365) == 1 and came(365, offset=1) == 1  # one of them each
    assert came(364, offset=1) == 0  # neither


def test_the_command_rolls_up_and_rebuilds(client, scorecard):
    from io import StringIO

    from django.core.management import call_command

    submit_lead(client, run(client, scorecard))
    events = ConversionEvent.objects.count()
    out = StringIO()
    call_command("rollups", stdout=out)
    assert f"Rolled up {events:,} events" in out.getvalue() and "0 pending now" in out.getvalue()
    flushed = snapshot()
    call_command("rollups", "--rebuild", stdout=out)
    assert snapshot() == flushed


def test_a_backlog_too_big_to_add_up_is_said_not_waited_for(admin_client, client, scorecard):
    """After an upgrade (every old event pending) or a worker long down, the dashboard
    says it is catching up rather than adding up the backlog while the marketer waits."""
    submit_lead(client, run(client, scorecard))
    query = {"quiz": scorecard.pk}
    with override_settings(ROLLUP_TAIL_LIMIT=3):
        page = admin_client.get("/dashboard/", query)
        assert page.status_code == 503 and page["Retry-After"] == "60"
        assert "The reports are catching up: more than 3 events" in page.content.decode()
        assert admin_client.get("/dashboard/report/funnel.csv", query).status_code == 503
        rollups.flush()
        assert admin_client.get("/dashboard/", query).status_code == 200


def test_a_run_from_before_languages_and_a_view_in_one_count_one_visitor(scorecard):
    """Runs started before the language was recorded have none; the visitor's later view
    has one: every language together still counts them once (and the run in none)."""
    from quizzes.models import Attempt

    now = datetime.now(UTC)
    attempt = Attempt.objects.create(quiz=scorecard, visitor_id="old")
    ConversionEvent.objects.bulk_create(
        [
            _event(scorecard, "quiz_viewed", now, "old", properties={"language": "en"}),
            _event(scorecard, "quiz_started", now, "old", attempt, properties={}),
        ]
    )
    window = now - timedelta(days=1), now + timedelta(days=1)
    for flushed in (False, True):
        if flushed:
            rollups.flush()
        everyone = reports.funnel(scorecard, *window, "visitors")
        assert (everyone.visitors, everyone.started) == (1, 1)
        english = reports.funnel(scorecard, *window, "visitors", "en")
        assert (english.visitors, english.started) == (1, 0)
