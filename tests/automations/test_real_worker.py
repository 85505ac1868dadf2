"""Deliveries through a real Celery worker on Redis and PostgreSQL.

Run in CI's second pass (DATABASE_URL on PostgreSQL, CELERY_BROKER_URL on Redis).
"""

import os
import signal
import time
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings
from django.db import connection

from automations.delivery import deliveries_sweep
from automations.models import Delivery
from config.celery import app as celery_app
from tests.fakes.celery_worker import worker_start, worker_stop
from tests.visitor import HOT_RUN, run, submit_lead

pytestmark = [
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"]
        or not settings.CELERY_BROKER_URL.startswith("redis://"),
        reason="needs PostgreSQL and Redis (DATABASE_URL and CELERY_BROKER_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]


def _redis_url() -> str:
    parts = urlsplit(settings.CELERY_BROKER_URL)
    return f"redis://{parts.netloc}/9"  # a database of its own, emptied per test


def _use_broker(url: str) -> None:
    os.environ["CELERY_BROKER_URL"] = url  # Celery prefers the environment to its conf
    celery_app.conf.broker_url = url
    celery_app._pool = None  # the connection pools were made for the old URL
    celery_app.amqp._producer_pool = None


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait(condition, seconds=30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def broker(settings):
    url = _redis_url()
    redis.Redis.from_url(url).flushdb()
    settings.AUTOMATIONS_QUEUE = True
    settings.AUTOMATIONS_CLAIM_TIMEOUT = 2
    old = os.environ.get("CELERY_BROKER_URL", "")
    _use_broker(url)
    yield url
    _use_broker(old)


@pytest.fixture
def worker(broker, hubspot):
    """Start (and restart) a real worker process; killed at the end."""
    processes = []

    def start():
        process = worker_start(
            DATABASE_URL=_database_url(),
            CELERY_BROKER_URL=broker,
            HUBSPOT_BASE_URL=hubspot.url,
            HUBSPOT_TOKEN=hubspot.token,
            AUTOMATIONS_ALLOW_PRIVATE_URLS="true",
            AUTOMATIONS_BACKOFF_BASE="0.2",
            AUTOMATIONS_CLAIM_TIMEOUT="2",
            AUTOMATIONS_HUBSPOT_SEARCH_SETTLE="1",
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        worker_stop(process)


def test_a_hot_lead_reaches_hubspot_through_a_real_worker(
    client, scorecard, hubspot, hot_rule, worker
):
    worker()
    attempt = run(client, scorecard, steps=HOT_RUN)
    submit_lead(client, attempt)
    assert _wait(lambda: len(hubspot.tasks) == 1)
    assert _wait(lambda: Delivery.objects.get().status == "delivered")
    time.sleep(1)
    assert len(hubspot.tasks) == 1 and hubspot.count("contacts/batch/upsert") == 1


def test_the_broker_down_does_not_stop_the_visitor_and_the_lead_goes_out_once_it_returns(
    client, scorecard, hubspot, hot_rule, worker, broker
):
    _use_broker("redis://127.0.0.1:1/0")  # nothing listens there
    attempt = run(client, scorecard, steps=HOT_RUN)
    response = submit_lead(client, attempt)
    assert response.status_code == 302  # the visitor sees the result, broker or not
    time.sleep(1)
    assert Delivery.objects.get().status == "pending"

    _use_broker(broker)  # the broker is back
    worker()
    deliveries_sweep()  # what beat runs every few seconds
    assert _wait(lambda: Delivery.objects.get().status == "delivered")
    deliveries_sweep()
    time.sleep(1)
    assert len(hubspot.tasks) == 1


def test_a_worker_killed_in_the_middle_of_a_delivery_leaves_exactly_one_task(
    client, scorecard, hubspot, hot_rule, worker
):
    hubspot.slow_next("/crm/v3/objects/tasks", 3.0)  # HubSpot makes the task, slowly
    first = worker()
    attempt = run(client, scorecard, steps=HOT_RUN)
    submit_lead(client, attempt)
    assert _wait(lambda: any(p == "/crm/v3/objects/tasks" for p, _ in hubspot.requests))
    worker_stop(first, signal.SIGKILL)  # killed while waiting for HubSpot's answer
    assert Delivery.objects.get().status == "sending"
    assert _wait(lambda: len(hubspot.tasks) == 1)  # HubSpot finished it regardless

    worker()
    time.sleep(2.5)  # past the claim timeout
    deliveries_sweep()
    assert _wait(lambda: Delivery.objects.get().status == "delivered")
    assert len(hubspot.tasks) == 1
    assert hubspot.count("contacts/batch/upsert") == 1


def test_an_erased_persons_contact_is_deleted_at_hubspot_by_a_real_worker_despite_a_5xx(
    client, scorecard, hubspot, hot_rule, worker
):
    from automations.models import Erasure
    from automations.privacy import person_erase

    worker()
    attempt = run(client, scorecard, steps=HOT_RUN)
    submit_lead(client, attempt)
    assert _wait(lambda: Delivery.objects.get().status == "delivered")
    hubspot.answer_next("gdpr-delete", 503)  # the first try fails; the task retries
    erasure = person_erase(email="ada@example.com")
    assert _wait(lambda: Erasure.objects.get(pk=erasure.pk).crm_status == "done")
    assert hubspot.count("gdpr-delete") == 2 and hubspot.gdpr_deleted == ["ada@example.com"]
    assert "ada@example.com" not in hubspot.contacts
    assert Erasure.objects.get(pk=erasure.pk).crm_email == ""
