"""schemathesis against the running app: whatever the schema allows (and what it does
not), no 5xx, and every response is what the schema says.

One live server (pytest-django's, a real HTTP server on 127.0.0.1) with the seeded demo,
leads and a delivery; a key with every scope. Examples are limited so that this stays
well under two minutes.
"""

import pytest
import schemathesis
from django.core.management import call_command
from django.test import Client
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from automations.delivery import delivery_run
from automations.models import Delivery
from leads.models import Lead
from leads.services import lead_add_note, lead_set_status
from tests.api.factories import make_key
from tests.quizzes.factories import ScorecardFactory
from tests.visitor import HOT_RUN, run, submit_lead

EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}
# "Schema-valid data is accepted" cannot hold for an id of a quiz or owner that does not
# exist, or a made-up cursor: those are schema-valid strings and numbers, refused with a
# 400 that names the field (tests/api/test_endpoints.py). Every other check runs: no 5xx,
# status codes, content types, headers and bodies as the schema says, invalid data
# refused, requests without the key refused.
LENIENT = [positive_data_acceptance]


def _seed() -> None:
    """The demo (quiz and automations), and hot leads of a second quiz: events, leads
    with history and notes, deliveries (to the fake HubSpot: delivered)."""
    call_command("seed_demo", "--no-admin", verbosity=0)
    quiz = ScorecardFactory()
    for i in range(3):
        client = Client()
        client.get(f"/q/{quiz.slug}/?utm_source=newsletter&utm_campaign=spring")
        attempt = run(client, quiz, steps=HOT_RUN)
        submit_lead(client, attempt, email=f"person{i}@example.com")
    lead = Lead.objects.first()
    lead_set_status(lead=lead, status="contacted", via="test")
    lead_add_note(lead=lead, text="Called.", author=None)
    for delivery in Delivery.objects.all():
        delivery_run(delivery.pk)
    assert Delivery.objects.filter(status="delivered").exists()


@pytest.mark.django_db(transaction=True)
def test_every_api_operation_keeps_to_its_schema(live_server, hubspot, hot_rule):
    _seed()
    _, raw = make_key(name="schemathesis")
    headers = {"Authorization": f"Bearer {raw}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    # The Segment-compatible /v1/* operations are left out: their bodies are free-form
    # (any custom event's properties, any context), so generated calls are rejected one by
    # one with a 200 and say nothing; tests/api/test_schema.py checks their answers against
    # the schema, and test_segment.py every limit.
    operations = [
        result.ok() for result in schema.include(path_regex="^/api/").get_all_operations()
    ]
    assert len(operations) >= 9
    ran = 0
    for operation in operations:
        for mode, examples in EXAMPLES.items():

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            def check(case):
                case.call_and_validate(
                    base_url=live_server.url, headers=headers, excluded_checks=LENIENT
                )

            check()
            ran += 1
    assert ran == 2 * len(operations)
