"""Hidden fields: declared URL parameters kept on the attempt, the lead and the events;
everything else ignored, and a value that does not fit dropped, counted, never stored."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from automations.delivery import delivery_run
from automations.models import Delivery
from automations.senders.webhook import webhook_payload
from leads.models import Lead
from quizzes.embedding import hidden_values
from quizzes.models import Attempt, HiddenField
from tests.automations.factories import ActionFactory, ConditionFactory, RuleFactory
from tests.visitor import HOT_RUN, answer_data, details_url, question, step_url
from tracking.models import ConversionEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def quiz(scorecard):
    HiddenField.objects.create(quiz=scorecard, name="plan", pattern="free|pro|enterprise")
    HiddenField.objects.create(quiz=scorecard, name="partner_id", pattern="[0-9]{1,10}")
    HiddenField.objects.create(quiz=scorecard, name="company")  # the default pattern
    scorecard.embed_origins = "http://localhost:*"
    scorecard.save()
    return scorecard


def start_with(client: Client, quiz, query: str) -> Attempt:
    """Open the quiz link with `query` (raw, as a browser sends it) and press Start."""
    page = client.get(f"{quiz.get_absolute_url()}?{query}")
    assert page.status_code == 200
    action = re.search(r'<form method="post" action="([^"]+)"', page.content.decode())[1]
    response = client.post(action.replace("&amp;", "&"), {"start_key": str(uuid.uuid4())})
    assert response.status_code == 302, response.content[:300]
    return Attempt.objects.latest("pk")


def finish(client: Client, attempt: Attempt) -> Lead:
    for text, labels, kwargs in HOT_RUN:
        q = question(attempt.quiz, text)
        client.post(step_url(attempt, q), answer_data(q, *labels, **kwargs))
    client.post(details_url(attempt), {"email": "ada@example.com"})
    return Lead.objects.get(attempt=attempt)


def stored_anywhere(text: str) -> bool:
    """Whether `text` is in any attempt, lead or event."""
    rows = [
        *Attempt.objects.values_list("hidden_fields", "first_touch", "embedded_on"),
        *Lead.objects.values_list("hidden_fields", "attribution"),
        *ConversionEvent.objects.values_list("properties", "first_touch", "last_touch"),
    ]
    return any(text in json.dumps(row, ensure_ascii=False) for row in rows)


def test_declared_fields_from_the_link_reach_the_attempt_the_lead_and_the_events(client, quiz):
    attempt = start_with(client, quiz, "plan=pro&partner_id=42&company=Acme%20Ltd&colour=red")
    assert attempt.hidden_fields == {"plan": "pro", "partner_id": "42", "company": "Acme Ltd"}
    lead = finish(client, attempt)
    assert lead.hidden_fields == attempt.hidden_fields
    for name in ("quiz_started", "quiz_completed", "lead_submitted"):
        event = ConversionEvent.objects.get(name=name)
        assert event.properties["hidden_fields"] == attempt.hidden_fields, name
    assert not stored_anywhere("colour")  # undeclared: ignored, not counted
    assert HiddenField.objects.filter(dropped_count__gt=0).count() == 0


def test_the_embedding_page_parameters_come_first(client, quiz):
    query = (
        "qf_embed=inline&qf_origin=http%3A%2F%2Flocalhost%3A9000"
        "&qf_page=http%3A%2F%2Flocalhost%3A9000%2Fblog%3Fplan%3Denterprise%26utm_source%3Dblog"
        "&plan=free&partner_id=7"
    )
    attempt = start_with(client, quiz, query)
    assert attempt.hidden_fields == {"plan": "enterprise", "partner_id": "7"}
    assert attempt.first_touch["utm_source"] == "blog"


@pytest.mark.parametrize(
    ("query", "marker"),
    [
        ("company=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "<script>"),
        ("company=" + "A" * 10_000, "A" * 201),
        ("company=Acme%00Ltd", "Acme"),
        ("company=Acme%FFLtd", "Acme"),
        ("company=Acme%E2%80%AELtd", "Acme"),  # a right-to-left override
        ("partner_id=42%20OR%201%3D1", "OR 1"),
        ("plan=pro%0Aevil", "evil"),
    ],
)
def test_a_hostile_value_is_dropped_counted_and_stored_nowhere(client, quiz, query, marker):
    attempt = start_with(client, quiz, query)
    assert attempt.hidden_fields == {}
    finish(client, attempt)
    assert not stored_anywhere(marker)
    name = query.split("=")[0]
    field = HiddenField.objects.get(quiz=quiz, name=name)
    assert field.dropped_count == 1 and field.last_dropped_at is not None


def test_a_hostile_value_on_the_embedding_page_is_dropped_and_counted_too(client, quiz):
    page = "http://localhost:9000/?company=%3Cimg%20src%3Dx%3E&plan=pro"
    query = "qf_embed=popup&qf_origin=http%3A%2F%2Flocalhost%3A9000&qf_page=" + (
        page.replace("%", "%25").replace("?", "%3F").replace("&", "%26").replace("=", "%3D")
    )
    attempt = start_with(client, quiz, query)
    assert attempt.hidden_fields == {"plan": "pro"}
    assert HiddenField.objects.get(quiz=quiz, name="company").dropped_count == 1
    assert not stored_anywhere("<img")


def test_each_run_counts_once_and_the_marketer_sees_the_count(client, admin_client, quiz):
    for _ in range(3):
        start_with(client, quiz, "plan=premium")
    field = HiddenField.objects.get(quiz=quiz, name="plan")
    assert field.dropped_count == 3
    page = admin_client.get(reverse("admin:quizzes_quiz_change", args=[quiz.pk]))
    assert "3 runs, last on" in page.content.decode()


def test_a_pattern_that_would_backtrack_is_checked_in_linear_time():
    # RE2: no catastrophic backtracking on a crafted value.
    kept = hidden_values([("code", "(a+)+$")], [{"code": ["a" * 199 + "!"]}])
    assert kept.kept == {} and kept.dropped == ["code"]


def test_names_quizfunnel_reads_itself_and_bad_patterns_are_refused(scorecard):
    for name, pattern in (("utm_source", "x"), ("qf_page", "x"), ("plan", "(a)\\1")):
        with pytest.raises(ValidationError):
            HiddenField(quiz=scorecard, name=name, pattern=pattern).full_clean()
    with pytest.raises(ValidationError):
        HiddenField(quiz=scorecard, name="Plan Name", pattern="x").full_clean()


def test_rules_webhooks_and_hubspot_see_the_hidden_fields(client, quiz, hubspot):
    rule = RuleFactory(name="Pro plan leads")
    ConditionFactory(rule=rule, property="hidden.plan", operator="=", value="pro")
    ActionFactory(rule=rule, kind="hubspot", hubspot_owner_id="77")
    finish(client, start_with(client, quiz, "plan=free"))
    assert not Delivery.objects.exists()  # the condition reads the hidden field
    lead = finish(client, start_with(client, quiz, "plan=pro&partner_id=42"))
    delivery = Delivery.objects.get()
    assert delivery.lead == lead
    payload = webhook_payload(delivery)
    assert payload["data"]["lead"]["hidden_fields"] == {"plan": "pro", "partner_id": "42"}
    assert payload["data"]["event"]["properties"]["hidden_fields"]["plan"] == "pro"
    assert delivery_run(delivery.pk) == "delivered"
    [task] = hubspot.tasks.values()
    assert "From the link: partner_id = 42, plan = pro" in task["properties"]["hs_task_body"]


def test_a_condition_on_an_undeclarable_name_is_refused(db):
    rule = RuleFactory(trigger="lead_submitted")
    condition = ConditionFactory.build(rule=rule, property="hidden.Bad Name", value="x")
    with pytest.raises(ValidationError):
        condition.clean()
