"""The funnel past the lead (lead → demo booked → deal won) equals a plain reference, on
random event logs with random calls from other systems, by tier and by first-touch source."""

import uuid
from collections import defaultdict
from datetime import timedelta

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quizzes.models import Attempt
from tests.leads.factories import LeadFactory
from tests.quizzes.factories import ScorecardFactory
from tests.tracking.test_reports import WINDOW, _spam, _store, attempt_logs, selected
from tests.visitor import HOT_RUN, run, submit_lead
from tracking import reports
from tracking.demo import demo_custom_events_create
from tracking.models import ConversionEvent, ExternalEvent, Identity

pytestmark = pytest.mark.django_db

PEOPLE = ["ada@example.com", "bob@example.com", "cy@example.com", "di@example.com"]
STEPS = ["demo_booked", "deal_won"]


@st.composite
def external_calls(draw):
    """Calls another system sends about a person: by their e-mail as userId, or by an id
    of its own that an identify call links (before or after the call), or not at all."""
    person = draw(st.sampled_from(PEOPLE))
    how = draw(st.sampled_from(["email", "linked user", "linked anonymous", "unknown"]))
    minutes = draw(st.integers(0, 10 * 60))
    name = draw(st.sampled_from(STEPS))
    return {"person": person, "how": how, "minutes": minutes, "name": name}


def _store_all(quiz, logs, people, calls):
    _store(quiz, logs)
    for log, person in zip(logs, people, strict=False):
        for e in log["events"]:
            if e["name"] == "lead_submitted":
                attempt = Attempt.objects.get(pk=e["attempt"])
                lead = LeadFactory(attempt=attempt, quiz=quiz, email=person, tier_name=e["tier"])
                # Tests only: the events of a generated log get their lead afterwards.
                ConversionEvent.objects.filter(attempt=attempt, name="lead_submitted").update(
                    lead=lead
                )
                e["person"] = person
    rows, links = [], []
    for n, call in enumerate(calls):
        user_id = anonymous_id = ""
        if call["how"] == "email":
            user_id = call["person"]
        elif call["how"] == "linked user":
            user_id = f"crm-{call['person']}"
            links.append(Identity(kind="user", value=user_id, email=call["person"]))
        elif call["how"] == "linked anonymous":
            anonymous_id = f"anon-{call['person']}"
            links.append(Identity(kind="anonymous", value=anonymous_id, email=call["person"]))
        else:
            user_id = f"stranger-{n}"
        rows.append(
            ExternalEvent(
                key_id=1,
                message_id=str(uuid.uuid4()),
                type="track",
                name=call["name"],
                user_id=user_id,
                anonymous_id=anonymous_id,
                occurred_at=WINDOW[0] - timedelta(hours=2) + timedelta(minutes=call["minutes"]),
            )
        )
    ExternalEvent.objects.bulk_create(rows)
    seen = set()
    Identity.objects.bulk_create(
        [i for i in links if (i.kind, i.value) not in seen and not seen.add((i.kind, i.value))]
    )


def reference_past_lead(logs, calls):
    """{group: (leads, [reached step 1, reached step 2])} for all, each tier and source."""
    at = defaultdict(list)  # person -> [(name, time)]
    for call in calls:
        if call["how"] != "unknown":
            t = WINDOW[0] - timedelta(hours=2) + timedelta(minutes=call["minutes"])
            at[call["person"]].append((call["name"], t))
    table = defaultdict(lambda: [0, [0] * len(STEPS)])
    for log in selected(logs):
        for e in log["events"]:
            if e["name"] != "lead_submitted" or _spam(e):
                continue
            depth = 0
            for name in STEPS:
                if not any(n == name and t >= e["t"] for n, t in at[e["person"]]):
                    break
                depth += 1
            for group in (("all",), ("tier", e["tier"]), ("source", log["ft"][0])):
                table[group][0] += 1
                for i in range(depth):
                    table[group][1][i] += 1
    return {k: (v[0], v[1]) for k, v in table.items()}


def _got(result):
    got = {("all",): (result.total.leads, result.total.reached)}
    got.update({("tier", r.label): (r.leads, r.reached) for r in result.by_tier})
    got.update({("source", r.label): (r.leads, r.reached) for r in result.by_source})
    return got


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(attempt_logs(), max_size=10),
    st.lists(st.sampled_from(PEOPLE), min_size=10, max_size=10),
    st.lists(external_calls(), max_size=12),
)
def test_the_funnel_past_the_lead_equals_the_reference(logs, people, calls):
    demo_custom_events_create()
    quiz = ScorecardFactory()
    try:
        _store_all(quiz, logs, people, calls)
        result = reports.past_lead(quiz, *WINDOW)
        assert [name for name, _ in result.steps] == STEPS
        expected = reference_past_lead(logs, calls)
        if not expected:
            assert result.total.leads == 0 and not result.by_tier and not result.by_source
        else:
            assert _got(result) == expected
        for row in [result.total, *result.by_tier, *result.by_source]:
            before = row.leads
            for n, of_before, of_leads in row.steps():
                assert n <= before  # a step never exceeds the one before it
                assert of_before is None or 0 <= of_before <= 100
                assert of_leads == reports.rate(n, row.leads)
                before = n
        assert sum(r.leads for r in result.by_tier) == result.total.leads
        assert sum(r.leads for r in result.by_source) == result.total.leads
    finally:
        from leads.models import Lead

        ConversionEvent.objects.filter(quiz=quiz).update(lead=None)
        Lead.objects.filter(quiz=quiz).delete()
        ConversionEvent.objects.filter(quiz=quiz).delete()  # tests only: append-only
        Attempt.objects.filter(quiz=quiz).delete()
        ExternalEvent.objects.all().delete()
        Identity.objects.all().delete()


def test_no_funnel_past_the_lead_until_a_custom_event_is_a_step(scorecard):
    from datetime import UTC, datetime

    assert reports.past_lead(scorecard, datetime(2026, 1, 1, tzinfo=UTC), WINDOW[1]) is None


def test_the_dashboard_shows_which_tiers_and_sources_book_demos(admin_client, scorecard):
    demo_custom_events_create()
    visitor = Client()
    attempt = run(visitor, scorecard, HOT_RUN)
    submit_lead(visitor, attempt, email="ada@example.com")
    ExternalEvent.objects.create(
        key_id=1,
        message_id="m1",
        type="track",
        name="demo_booked",
        user_id="ada@example.com",
        occurred_at=attempt.lead.created_at + timedelta(minutes=5),
    )
    response = admin_client.get("/dashboard/", {"quiz": scorecard.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert "After the lead: booked a demo → won the deal" in html
    assert "Unit: leads (submissions)" in html
    past = response.context["past_lead"]
    assert (past.total.leads, past.total.reached) == (1, [1, 0])
    assert [(r.label, r.leads, r.reached) for r in past.by_tier] == [("Hot", 1, [1, 0])]
