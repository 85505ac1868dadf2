"""Exactly once at the ad platforms when a call outlives its worker's claim: Meta keeps
one conversion of the two sends (same event_id); GA4, which cannot deduplicate, is not
sent the lead a second time."""

import time

import pytest

from automations.delivery import deliveries_sweep, delivery_run
from automations.models import Delivery
from tests.automations.test_ad_platforms import browser, hot_lead
from tests.automations.test_exactly_once import in_thread

pytestmark = pytest.mark.django_db(transaction=True)


def outlive_the_claim(fake, path: str, kind: str, settings):
    """A first worker sends and waits on a drip-fed answer; meanwhile its claim goes
    stale and a second worker runs the delivery. Returns (first thread, its result,
    the second run's status)."""
    settings.AUTOMATIONS_HTTP_TIMEOUT = 30
    settings.AUTOMATIONS_CLAIM_TIMEOUT = 0.5
    fake.drip_next(path, seconds=3.0)
    delivery = Delivery.objects.get(action__kind=kind)
    first, first_result = in_thread(lambda: delivery_run(delivery.pk))
    assert fake.drip_started.wait(10)
    while Delivery.objects.get(pk=delivery.pk).status == "sending":
        time.sleep(0.05)
        deliveries_sweep()
    second = delivery_run(delivery.pk)
    first.join(30)
    assert not first.is_alive()
    return first_result, second


def test_meta_counts_one_conversion_when_a_stale_worker_and_its_successor_both_send(
    scorecard, meta, meta_rule, settings
):
    hot_lead(browser(), scorecard)
    first_result, second = outlive_the_claim(meta, "/events", "meta", settings)
    assert second == "delivered"
    assert first_result["value"] is None  # it found its claim gone and wrote nothing
    assert meta.received == 2 and len(meta.conversions) == 1
    delivery = Delivery.objects.get()
    assert delivery.status == "delivered"
    assert [a.step for a in delivery.log.all()] == ["meta: send event"]


def test_ga4_is_not_sent_the_lead_again_when_a_stale_workers_call_may_have_arrived(
    scorecard, ga4, ga4_rule, settings
):
    hot_lead(browser(), scorecard)
    first_result, second = outlive_the_claim(ga4, "/mp/collect", "ga4", settings)
    assert second == "dead"
    assert first_result["value"] is None
    assert len(ga4.collected) == 1  # once, not twice
    delivery = Delivery.objects.get()
    assert "GA4 cannot deduplicate events" in delivery.last_error
    assert delivery.log.count() == 0  # the stale worker's call is not logged as ours
