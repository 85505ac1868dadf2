"""Deliveries through a real Celery worker on Redis and PostgreSQL.

Run in CI's second pass (DATABASE_URL on PostgreSQL, CELERY_BROKER_URL on Redis).
"""

import os
import signal
import time
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client

from automations.delivery import deliveries_sweep
from automations.models import Delivery
from automations.senders.email import message_id
from config.celery import app as celery_app
from leads.models import AssignmentCursor, Lead
from tests.automations.factories import ActionFactory, ConditionFactory, RuleFactory
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
    # The database CELERY_BROKER_URL names, emptied per test: give each checkout its own
    # (parallel runs that shared one would take each other's tasks).
    parts = urlsplit(settings.CELERY_BROKER_URL)
    return f"redis://{parts.netloc}{parts.path or '/0'}"


def _use_broker(url: str) -> None:
    os.environ["CELERY_BROKER_URL"] = url  # Celery prefers the environment to its conf
    celery_app.conf.broker_url = url
    celery_app._pool = None  # the connection pools were made for the old URL
    celery_app.amqp._producer_pool = None


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


CLAIM_TIMEOUT = 4


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
    settings.AUTOMATIONS_CLAIM_TIMEOUT = CLAIM_TIMEOUT
    old = os.environ.get("CELERY_BROKER_URL", "")
    _use_broker(url)
    yield url
    _use_broker(old)


@pytest.fixture
def worker(broker, hubspot, smtp):
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
            # A short claim, and calls short enough for it (start-up checks the two).
            AUTOMATIONS_HTTP_TIMEOUT="1",
            AUTOMATIONS_CLAIM_MARGIN="1",
            AUTOMATIONS_CLAIM_TIMEOUT=str(CLAIM_TIMEOUT),
            HUBSPOT_RATE_LIMIT_MAX_WAIT="0",  # a full window requeues at once
            AUTOMATIONS_HUBSPOT_SEARCH_SETTLE="1",
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp.port),
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
    # The sweeper resumes the delivery once its claim is older than the claim timeout.
    assert _wait(lambda: deliveries_sweep() >= 0 and Delivery.objects.get().status == "delivered")
    assert len(hubspot.tasks) == 1
    assert hubspot.count("contacts/batch/upsert") == 1


def test_a_worker_killed_during_assignment_delays_the_chain_and_every_hot_lead_is_emailed_once(
    scorecard, worker, smtp
):
    received = smtp.received
    sales, _ = Group.objects.get_or_create(name="Sales")  # a flushed database has no groups
    for name in ("ann", "bob"):
        User.objects.create_user(name, email=f"{name}@example.com").groups.add(sales)
    rule = RuleFactory(name="Hot tier → assign, then e-mail the owner")
    ConditionFactory(rule=rule, property="tier", operator="=", value="Hot")
    ActionFactory(rule=rule, kind="assign", order=0)
    ActionFactory(rule=rule, kind="email", order=1)
    AssignmentCursor.objects.create(pk=1)

    # Another session holds the round robin's lock, so the worker stops mid-assignment.
    holder = psycopg.connect(_database_url())
    holder.execute("SELECT * FROM leads_assignmentcursor WHERE id = 1 FOR UPDATE")
    first = worker()
    emails = [f"lead{i}@example.com" for i in range(3)]
    for email in emails:
        client = Client()
        submit_lead(client, run(client, scorecard, steps=HOT_RUN), email=email, name=email[:5])
    assert Delivery.objects.filter(action__kind="assign").count() == 3

    def blocked_in_assignment():
        waiting = holder.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]
        return waiting > 0 and Delivery.objects.filter(status="sending").exists()

    assert _wait(blocked_in_assignment)
    worker_stop(first, signal.SIGKILL)  # killed in the middle of an assignment
    holder.close()
    assert not received
    assert Delivery.objects.filter(action__kind="email", status="waiting").count() == 3

    worker()

    def all_emailed():
        deliveries_sweep()  # what beat runs every few seconds
        return Delivery.objects.filter(action__kind="email", status="delivered").count() == 3

    assert _wait(all_emailed, seconds=60)
    deliveries_sweep()
    time.sleep(1.5)  # room for a duplicate to show, if there were one
    assert sorted(m["To"] for _, m in received) == sorted(
        Lead.objects.get(email=e).owner.email for e in emails
    )
    assert len(received) == 3
    assert sorted({m["Message-ID"] for _, m in received}) == sorted(
        message_id(d) for d in Delivery.objects.filter(action__kind="email")
    )
    for email in emails:
        lead = Lead.objects.get(email=email)
        assert lead.owner is not None
        assert sum(email in str(m.get_payload()) for _, m in received) == 1
    assert not Delivery.objects.exclude(status="delivered").exists()
    for delivery in Delivery.objects.filter(action__kind="email"):
        assert delivery.attempts == 1 == delivery.log.count()  # waiting spent no attempt


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
