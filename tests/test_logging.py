"""The log says what happened: one line for an expected refusal, nothing for an idle sweep."""

import io
import logging

import pytest
from celery.app.trace import LOG_SUCCESS
from django.contrib.auth.models import User

from automations.models import Action
from automations.tasks import sweep_deliveries
from config.logging import OneLineForRefusals
from tests.automations.factories import ActionFactory, RuleFactory
from tests.visitor import run, submit_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def console():
    """What the configured console handler writes, as a string."""
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, OneLineForRefusals) for f in h.filters)
    )
    written = io.StringIO()
    previous = handler.setStream(written)
    yield written
    handler.setStream(previous)


def test_a_refusal_and_a_missing_page_are_one_line_each_without_a_traceback(client, console):
    User.objects.create_user("sam", password="pw-sam-123456", is_staff=True)
    client.login(username="sam", password="pw-sam-123456")
    assert client.get("/dashboard/").status_code == 403
    assert client.get("/q/no-such-quiz/").status_code == 404
    lines = console.getvalue().splitlines()
    assert lines == ["Forbidden (Permission denied): /dashboard/", "Not Found: /q/no-such-quiz/"]


def test_an_error_keeps_its_traceback(console):
    log = logging.getLogger("django.request")
    try:
        raise RuntimeError("a bug")
    except RuntimeError as error:
        log.error("Internal Server Error: /x", exc_info=error, extra={"status_code": 500})
    assert "Traceback" in console.getvalue() and "RuntimeError: a bug" in console.getvalue()


def test_an_idle_sweep_logs_nothing_and_a_sweep_with_work_one_line(client, scorecard, caplog):
    caplog.set_level(logging.INFO)
    assert sweep_deliveries() == 0
    assert caplog.records == []

    rule = RuleFactory()
    ActionFactory(rule=rule, kind=Action.Kind.EMAIL)
    submit_lead(client, run(client, scorecard))  # writes a pending delivery
    caplog.clear()
    assert sweep_deliveries() == 1
    assert [r.getMessage() for r in caplog.records] == ["Sweeper queued 1 delivery left pending."]


def _celery_success(task: str) -> logging.LogRecord:
    args = {"id": "1", "name": task, "return_value": "0", "runtime": 0.01, "args": "", "kwargs": ""}
    return logging.LogRecord("celery.app.trace", logging.INFO, "", 0, LOG_SUCCESS, (args,), None)


def test_celery_says_nothing_of_the_sweeps_but_still_tells_of_each_delivery():
    trace = logging.getLogger("celery.app.trace")
    assert not trace.filter(_celery_success("automations.tasks.sweep_deliveries"))
    assert trace.filter(_celery_success("automations.tasks.deliver"))
