"""Custom events: declared by a marketer in admin, read by the plan, shown in the docs
and on the sales timeline."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from automations.privacy import person_erase
from tests.leads.factories import LeadFactory
from tracking import plan
from tracking.demo import demo_custom_events_create
from tracking.models import CustomEvent, ExternalEvent, Identity
from tracking.timeline import attempt_timeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(client):
    user = User.objects.create_user("mia", password="pw-123456-x", is_staff=True)
    user.groups.add(Group.objects.get(name="Marketers"))
    client.force_login(user)
    return client


def _declare(client, name, **extra):
    data = {
        "name": name,
        "description": "A trial started in the app.",
        "timeline_text": "Started a trial",
        "funnel_position": "",
        "properties-TOTAL_FORMS": "1",
        "properties-INITIAL_FORMS": "0",
        "properties-0-name": "plan",
        "properties-0-type": "string",
        "properties-0-required": "on",
        "properties-0-description": "Which plan.",
        **extra,
    }
    return client.post("/admin/tracking/customevent/add/", data)


def test_a_marketer_declares_a_custom_event_and_the_plan_checks_it(marketer):
    response = _declare(marketer, "trial_started")
    assert response.status_code == 302, response.content.decode()[:3000]
    specs = plan.declared()
    assert plan.validate_custom("trial_started", {"plan": "pro"}, specs) == {"plan": "pro"}
    with pytest.raises(plan.PlanError, match="required property “plan” is missing"):
        plan.validate_custom("trial_started", {}, specs)
    with pytest.raises(plan.PlanError, match="must be string"):
        plan.validate_custom("trial_started", {"plan": 3}, specs)


@pytest.mark.parametrize(
    ("name", "words"),
    [("lead_submitted", "is a built-in event"), ("Demo Booked", "lowercase letters")],
)
def test_a_custom_event_cannot_take_a_built_in_or_unreadable_name(marketer, name, words):
    response = _declare(marketer, name)
    assert response.status_code == 200
    assert words in response.content.decode()
    assert not CustomEvent.objects.exists()


def test_the_plan_document_generated_from_the_demos_database_is_the_committed_one(settings):
    demo_custom_events_create()
    written = (settings.BASE_DIR / "docs" / "tracking-plan.md").read_text()
    assert plan.as_markdown(tuple(plan.declared().values())) == written


def test_the_plan_command_prints_this_installations_custom_events(capsys):
    CustomEvent.objects.create(name="invoice_paid", description="An invoice was paid.")
    call_command("tracking_plan", "--declared")
    out = capsys.readouterr().out
    assert "## `invoice_paid`" in out and "An invoice was paid." in out


def test_the_seeded_demo_declares_demo_booked_and_deal_won():
    call_command("seed_demo", "--no-admin", verbosity=0)
    call_command("seed_demo", "--no-admin", verbosity=0)  # twice: nothing changes
    declared = plan.declared()
    assert sorted(declared) == ["deal_won", "demo_booked"]
    assert all(not spec.properties for spec in declared.values())


def _call(name, moment, **ids):
    return ExternalEvent.objects.create(
        key_id=1,
        message_id=str(uuid.uuid4()),
        type="track",
        name=name,
        occurred_at=moment,
        **ids,
    )


def test_the_persons_calls_join_the_sales_timeline_in_plain_words():
    demo_custom_events_create()
    lead = LeadFactory(email="ada@example.com")
    soon = lead.created_at + timedelta(hours=1)
    _call("demo_booked", soon, anonymous_id="anon-1")  # linked below, after the fact
    _call("deal_won", soon + timedelta(days=2), user_id="ada@example.com")
    _call("demo_booked", soon, user_id="someone-else")
    ExternalEvent.objects.create(
        key_id=1,
        message_id="p",
        type="page",
        name="Pricing",
        anonymous_id="anon-1",
        occurred_at=soon,
    )
    Identity.objects.create(kind="anonymous", value="anon-1", email="ada@example.com")
    texts = [e.text for e in attempt_timeline(attempt=lead.attempt)]
    assert texts.count("Booked a demo") == 1
    assert "Visited “Pricing”" in texts
    assert texts[-1] == "Won the deal"


def test_erasing_the_person_unlinks_and_redacts_what_other_systems_sent():
    lead = LeadFactory(email="ada@example.com", name="Ada Lovelace")
    _call("demo_booked", lead.created_at, user_id="ada@example.com")
    ExternalEvent.objects.create(
        key_id=1,
        message_id="i",
        type="identify",
        user_id="crm-1",
        occurred_at=lead.created_at,
        properties={"email": "ada@example.com", "phone": "+44 1"},
        context={"ip": "10.0.0.1"},
    )
    Identity.objects.create(kind="user", value="crm-1", email="ada@example.com")
    person_erase(email="ada@example.com")
    assert not Identity.objects.exists()
    for event in ExternalEvent.objects.all():
        assert event.erased_at is not None
        kept = (event.user_id + str(event.properties) + str(event.context)).lower()
        # (not "ada" alone: the pseudonym is hex, which may spell it)
        assert "ada@example.com" not in kept and "crm-1" not in kept and "10.0.0.1" not in kept
        assert "10.0.0.1" not in str(event.context)
