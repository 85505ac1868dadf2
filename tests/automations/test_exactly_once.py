"""Exactly once when a call outlives its claim: a deadline for the whole exchange, and
claims fenced by a token, against a fake HubSpot that drip-feeds its answer."""

import threading
import time

import pytest
from django.db import connection

from automations.delivery import deliveries_sweep, delivery_run
from automations.models import Delivery
from tests.visitor import HOT_RUN, run, submit_lead

pytestmark = pytest.mark.django_db(transaction=True)


def hot_lead(client, quiz):
    attempt = run(client, quiz, steps=HOT_RUN)
    submit_lead(client, attempt)
    return attempt.lead


def in_thread(call):
    """Run `call` as a second worker would, in its own thread and database connection."""
    result = {}

    def target():
        try:
            result["value"] = call()
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, result


def test_the_http_timeout_bounds_the_whole_answer_not_each_read(
    client, scorecard, hubspot, hot_rule, settings
):
    # Each byte comes well within the timeout; the whole answer takes far longer.
    settings.AUTOMATIONS_HTTP_TIMEOUT = 0.5
    hubspot.drip_next("contacts/batch/upsert", seconds=4.0)
    hot_lead(client, scorecard)
    delivery = Delivery.objects.get()
    assert delivery_run(delivery.pk) == "retrying"
    [attempt] = delivery.log.all()
    assert attempt.error == "timed out after 0.5 s (connect to last byte)"
    [drip] = hubspot.drips
    assert not drip["finished"] and drip["sent"] < drip["total"]  # we hung up mid-answer


def test_a_call_that_outlives_its_claim_leaves_one_task_and_its_stale_write_is_rejected(
    client, scorecard, hubspot, hot_rule, settings
):
    # A call can outlive its claim when the worker stalls (a paused VM, a long GC) or the
    # claim timeout is set too short; start-up refuses the latter, the test forces it.
    settings.AUTOMATIONS_HTTP_TIMEOUT = 30
    settings.AUTOMATIONS_CLAIM_TIMEOUT = 0.5
    hubspot.drip_next("contacts/batch/upsert", seconds=4.0)
    hot_lead(client, scorecard)
    delivery = Delivery.objects.get()

    first, first_result = in_thread(lambda: delivery_run(delivery.pk))
    assert hubspot.drip_started.wait(10)  # the first worker is reading HubSpot's answer
    # Meanwhile the sweeper finds its claim stale and a second runner takes the delivery.
    while Delivery.objects.get().status == "sending":
        time.sleep(0.05)
        deliveries_sweep()
    assert Delivery.objects.get().status == "retrying"
    assert delivery_run(delivery.pk) == "delivered"
    done = Delivery.objects.get()
    [task_id] = hubspot.tasks

    first.join(30)
    assert not first.is_alive()
    assert hubspot.drips[0]["sent"] == hubspot.drips[0]["total"]  # it got the whole answer...
    assert first_result["value"] is None  # ...and then found its claim gone and stopped
    assert len(hubspot.tasks) == 1 and hubspot.count("/crm/v3/objects/tasks") == 1
    after = Delivery.objects.get()
    assert after.status == "delivered" and after.remote == done.remote
    assert after.remote["task_id"] == task_id
    # Only the second runner's calls are logged; the first one wrote nothing.
    assert [a.step for a in after.log.all()] == ["hubspot: upsert contact", "hubspot: create task"]
    assert after.attempts == 1
