"""Many leads at once: one rate limit for every worker, HubSpot's 429 honoured, contacts
upserted in batches of up to 100, each lead delivered once."""

import json
import os
import re
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from automations import crm, ratelimit
from automations.delivery import delivery_run
from automations.models import Delivery, HubSpotConnection
from automations.receivers import on_event_recorded
from automations.senders import Failure
from tests.concurrency import on_postgres
from tests.fakes.hubspot import FakeHubSpot
from tests.leads.factories import LeadFactory
from tests.quizzes.factories import AttemptFactory
from tests.tracking.factories import ConversionEventFactory

pytestmark = pytest.mark.django_db
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def hot_leads(quiz, n, *, emails=None):
    """n hot leads of `quiz`, each with its lead_submitted and its deliveries written."""
    leads = []
    for i in range(n):
        attempt = AttemptFactory(quiz=quiz)
        lead = LeadFactory(
            attempt=attempt,
            email=(emails[i] if emails else f"batch{i}@example.com"),
            score_percent=90,
            score_points=27,
            tier_name="Hot",
        )
        event = ConversionEventFactory(
            name="lead_submitted",
            attempt=attempt,
            lead=lead,
            properties={"score": 27, "percent": 90, "tier": "Hot", "top_tier": True},
        )
        on_event_recorded(sender=None, event=event)
        leads.append(lead)
    return leads


def run_all():
    """What the workers do: run every due delivery (released companions come due too)."""
    statuses = {}
    for _ in range(5):
        due = list(
            Delivery.objects.filter(status__in=["pending", "retrying"]).values_list("pk", flat=True)
        )
        if not due:
            break
        for pk in sorted(due):
            Delivery.objects.filter(pk=pk, status="retrying").update(next_attempt_at=timezone.now())
            result = delivery_run(pk)
            if result:
                statuses[pk] = result
    return statuses


# The shared limit --------------------------------------------------------------------

_TAKER = """
import os, sys, time, django
django.setup()
from automations import ratelimit
name, n = sys.argv[1], int(sys.argv[2])
while time.time() < float(sys.argv[3]):
    time.sleep(0.005)
granted = sum(ratelimit.take(name, limit=30, window=10.0) == 0 for _ in range(n))
print(granted)
"""


@pytest.mark.parametrize("backend", ["file", "redis"])
def test_two_processes_share_one_limit(backend, tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "VAR_DIR": str(tmp_path)}
    env["SECRET_KEY"] = "test"
    if backend == "redis":
        if not os.environ.get("CACHE_URL", "").startswith("redis"):
            pytest.skip("needs Redis (CACHE_URL=redis://…)")
    else:
        env["CACHE_URL"] = ""
    name = f"test-shared-{os.getpid()}-{backend}"
    start = str(__import__("time").time() + 1.5)  # both start together
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _TAKER, name, "25", start],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    granted = [int(w.communicate(timeout=60)[0].strip()) for w in workers]
    # 50 asked, 30 allowed per 10 s: both processes counted against one window.
    assert sum(granted) == 30, granted
    assert all(g > 0 for g in granted)


def test_worker_threads_stay_under_hubspots_limit(settings):
    fake = FakeHubSpot("pat-threads", limit_per_10s=10)
    settings.HUBSPOT_BASE_URL, settings.HUBSPOT_TOKEN = fake.url, fake.token
    settings.HUBSPOT_RATE_LIMIT_PER_10S = 10
    fake.forget_waits()
    outcomes = []

    def worker():
        for _ in range(6):
            try:
                crm.call(None, "test", "/account-info/v3/details", method="GET")
                outcomes.append("sent")
            except Failure as failure:
                assert failure.rate_limited and failure.status is None  # waited, never sent
                outcomes.append("queued")

    threads = [threading.Thread(target=worker) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        fake.stop()
        fake.forget_waits()
    assert outcomes.count("sent") == 10 and outcomes.count("queued") == 2
    assert fake.rate_limited == 0  # HubSpot never had to say 429


# HubSpot's 429 -------------------------------------------------------------------------


def test_a_ten_secondly_429_waits_for_everyone_and_spends_no_attempt(scorecard, hubspot, hot_rule):
    hot_leads(scorecard, 1)
    delivery = Delivery.objects.get()
    hubspot.rate_limit_next("contacts/batch/upsert", "TEN_SECONDLY_ROLLING")
    before = timezone.now()
    assert delivery_run(delivery.pk) == "retrying"
    delivery.refresh_from_db()
    assert delivery.attempts == 0
    assert "TEN_SECONDLY_ROLLING" in delivery.last_error
    assert delivery.next_attempt_at >= before + timedelta(seconds=10)
    # Another worker's call waits too: it never reaches HubSpot.
    sent = len(hubspot.requests)
    with pytest.raises(Failure) as waited:
        crm.call(None, "other worker", "/account-info/v3/details", method="GET")
    assert waited.value.rate_limited and len(hubspot.requests) == sent


def test_the_daily_limit_waits_until_midnight_in_the_accounts_time_zone(
    scorecard, hubspot, hot_rule
):
    HubSpotConnection.objects.create(pk=1, time_zone="Europe/Berlin")
    hot_leads(scorecard, 1)
    delivery = Delivery.objects.get()
    hubspot.rate_limit_next("contacts/batch/upsert", "DAILY")
    assert delivery_run(delivery.pk) == "retrying"
    delivery.refresh_from_db()
    berlin = datetime.now(ZoneInfo("Europe/Berlin"))
    midnight = datetime.combine(
        berlin.date() + timedelta(days=1), datetime.min.time(), ZoneInfo("Europe/Berlin")
    )
    assert abs((delivery.next_attempt_at - midnight).total_seconds()) < 60
    assert delivery.attempts == 0 and "daily limit" in delivery.last_error


def test_429s_never_make_a_delivery_dead(scorecard, hubspot, hot_rule, settings):
    hot_leads(scorecard, 1)
    delivery = Delivery.objects.get()
    for _ in range(settings.AUTOMATIONS_MAX_ATTEMPTS + 2):
        hubspot.forget_waits()
        hubspot.rate_limit_next("contacts/batch/upsert", "TEN_SECONDLY_ROLLING")
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert delivery_run(delivery.pk) == "retrying"
    hubspot.forget_waits()
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert delivery_run(delivery.pk) == "delivered"
    delivery.refresh_from_db()
    assert delivery.attempts == 1  # the try that went through
    assert delivery.log.filter(status_code=429).count() == settings.AUTOMATIONS_MAX_ATTEMPTS + 2


# Batches ---------------------------------------------------------------------------------


def test_150_leads_are_two_upserts_and_each_delivered_once(scorecard, hubspot, hot_rule):
    leads = hot_leads(scorecard, 150)
    statuses = run_all()
    assert hubspot.count("contacts/batch/upsert") == 2
    sizes = [len(b["inputs"]) for p, b in hubspot.requests if p.endswith("batch/upsert")]
    assert sizes == [100, 50]
    assert len(hubspot.contacts) == 150 and len(hubspot.tasks) == 150
    assert Delivery.objects.filter(status="delivered").count() == 150
    assert set(statuses.values()) == {"delivered"}
    # One task per lead, on that lead's own contact.
    by_contact = {}
    for task in hubspot.tasks.values():
        contact_id = task["associations"][0]["to"]["id"]
        by_contact[contact_id] = by_contact.get(contact_id, 0) + 1
    assert sorted(by_contact) == sorted(c["id"] for c in hubspot.contacts.values())
    assert set(by_contact.values()) == {1}
    # Each delivery's log holds its own person only, never the batch's others.
    for delivery in Delivery.objects.filter(lead__in=leads[:3]):
        upsert = delivery.log.get(step__startswith="hubspot: upsert contact")
        assert (
            json.loads(upsert.request.split("\n", 1)[1])["inputs"][0]["id"] == delivery.lead.email
        )
        assert set(re.findall(r"[\w.]+@example\.com", upsert.request)) == {delivery.lead.email}
        assert delivery.attempts == 1


def test_a_contact_hubspot_refuses_in_a_207_fails_alone(scorecard, hubspot, hot_rule):
    hubspot.partial = True
    hubspot.refuse = {"batch2@example.com"}
    hot_leads(scorecard, 5)
    run_all()
    statuses = dict(Delivery.objects.values_list("lead__email", "status"))
    assert statuses.pop("batch2@example.com") == "dead"
    assert set(statuses.values()) == {"delivered"}
    bad = Delivery.objects.get(lead__email="batch2@example.com")
    assert "Email address batch2@example.com is invalid" in bad.last_error
    assert len(hubspot.tasks) == 4
    assert set(Delivery.objects.filter(status="delivered").values_list("attempts", flat=True)) == {
        1
    }


def test_a_batch_refused_whole_for_one_contact_sends_each_alone(scorecard, hubspot, hot_rule):
    hubspot.refuse = {"batch3@example.com"}  # a 400 for the whole batch, as HubSpot does
    hot_leads(scorecard, 5)
    run_all()
    statuses = dict(Delivery.objects.values_list("lead__email", "status"))
    assert statuses.pop("batch3@example.com") == "dead"
    assert set(statuses.values()) == {"delivered"}
    assert len(hubspot.tasks) == 4 and len(hubspot.contacts) == 4
    sizes = [len(b["inputs"]) for p, b in hubspot.requests if p.endswith("batch/upsert")]
    assert sizes == [5, 1, 1, 1, 1, 1]  # the batch, then each alone
    # The good ones spent no attempt on the batch that was not their fault.
    assert set(Delivery.objects.filter(status="delivered").values_list("attempts", flat=True)) == {
        1
    }


def test_two_leads_of_one_email_in_a_batch_make_one_input(scorecard, hubspot, hot_rule):
    hot_leads(scorecard, 3, emails=["same@example.com", "other@example.com", "same@example.com"])
    run_all()
    assert [len(b["inputs"]) for p, b in hubspot.requests if p.endswith("batch/upsert")] == [2]
    assert Delivery.objects.filter(status="delivered").count() == 3
    assert len(hubspot.tasks) == 3  # sales hears of each submission


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_companion_taken_back_mid_batch_is_written_by_its_new_worker_only(
    scorecard, hubspot, hot_rule
):
    hot_leads(scorecard, 3)
    first, second, _third = Delivery.objects.order_by("pk")
    hubspot.slow_next("contacts/batch/upsert", 1.0)
    done = {}

    def primary():
        try:
            done["first"] = delivery_run(first.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=primary)
    thread.start()
    # While the batch is in flight the sweeper hands `second` to another worker.
    while Delivery.objects.get(pk=second.pk).status != "sending":
        pass
    Delivery.objects.filter(pk=second.pk).update(
        status="pending", claim_token=None, next_attempt_at=timezone.now()
    )
    thread.join()
    second.refresh_from_db()
    assert "contact_id" not in second.remote  # the batch worker lost it: wrote nothing
    assert second.log.count() == 0
    assert run_all()  # the others finish
    assert Delivery.objects.filter(status="delivered").count() == 3
    assert len(hubspot.tasks) == 3


def test_the_rate_limit_setting_is_read(settings):
    assert django_settings.HUBSPOT_BATCH_SIZE == 100
    settings.HUBSPOT_RATE_LIMIT_PER_10S = 2
    name = "test-setting"
    ratelimit.reset(name)
    assert ratelimit.take(name, limit=2, window=10) == 0
    assert ratelimit.take(name, limit=2, window=10) == 0
    assert 9 < ratelimit.take(name, limit=2, window=10) <= 10
