"""Reports on a read replica (REPORTS_DATABASE_URL), and no session state left behind, so
PgBouncer in transaction mode can hand each transaction to any server connection."""

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from core.db import REPORTS
from tests.test_settings import _setting
from tests.visitor import HOT_RUN, answer, question, run, start, step_url, submit_lead

DASHBOARD = "/dashboard/"
EVENTS = "tracking_conversionevent"
on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="session settings are PostgreSQL's"
)


@pytest.fixture(scope="module", autouse=True)
def _replica_alias(django_db_setup, django_db_blocker):
    """For this module only, a second alias on the test database, as TEST: {"MIRROR":
    "default"} makes it: a connection of its own that sees what the test committed."""
    connections.settings[REPORTS] = {
        **connections["default"].settings_dict,
        "TEST": {**connections["default"].settings_dict["TEST"], "MIRROR": "default"},
    }
    yield
    with django_db_blocker.unblock():
        connections[REPORTS].close()
    del connections[REPORTS]
    del connections.settings[REPORTS]


@pytest.fixture
def replica():
    return connections[REPORTS]


replica_test = pytest.mark.django_db(transaction=True, databases=["default", REPORTS])


@pytest.fixture
def marketer(client):
    user = User.objects.create_user("mia", password="pw-mia-123456")
    # get_or_create: a test that commits (transaction=True) empties the tables after it.
    user.groups.add(Group.objects.get_or_create(name="Marketers")[0])
    client.force_login(user)
    return client


def _event_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if EVENTS in q["sql"]]


@replica_test
def test_the_dashboards_reports_read_the_replica_and_the_visitors_steps_do_not(
    replica, marketer, client, scorecard
):
    attempt = run(client, scorecard)
    submit_lead(client, attempt)
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(replica) as reports,
    ):
        page = marketer.get(DASHBOARD, {"quiz": scorecard.pk})
        csv = marketer.get(f"/dashboard/report/sources.csv?quiz={scorecard.pk}")
    assert page.status_code == 200 and csv.status_code == 200
    assert "<strong>1</strong> visitor came to the quiz" in page.content.decode()
    assert len(_event_queries(reports)) >= 5  # funnel, timing, sources, attribution, bots
    assert _event_queries(primary) == []
    # The session and the user are read where they were written.
    assert any("django_session" in q["sql"] for q in primary.captured_queries)

    visitor_attempt = start(client, scorecard)
    with CaptureQueriesContext(replica) as reports:
        client.get(step_url(visitor_attempt, question(scorecard, "Do you advertise?")))
        for text, labels, kwargs in HOT_RUN:
            answer(client, visitor_attempt, text, *labels, **kwargs)
        submit_lead(client, visitor_attempt)
    assert reports.captured_queries == []


def test_reports_database_url_adds_a_replica_alias_that_mirrors_default_under_test():
    databases = _setting(
        "DATABASES",
        DATABASE_URL="postgres://app@primary:5432/quizfunnel",
        REPORTS_DATABASE_URL="postgres://reader@replica:5432/quizfunnel",
    )
    assert "'reports': {" in databases and "'HOST': 'replica'" in databases
    assert "'MIRROR': 'default'" in databases


def _session(conn, name: str) -> str:
    with conn.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


@on_postgres
@replica_test
def test_no_request_leaves_session_settings_behind(replica, marketer, client, scorecard):
    """Every SET is LOCAL to its transaction: after a view's relaxed commit and a report's
    work_mem, the next transaction on the same server connection sees the defaults."""
    before = {
        name: _session(conn, name)
        for conn in (connections["default"], replica)
        for name in ("synchronous_commit", "work_mem", "jit")
    }
    attempt = start(client, scorecard)
    client.get(step_url(attempt, question(scorecard, "Do you advertise?")))  # a view
    assert marketer.get(DASHBOARD, {"quiz": scorecard.pk}).status_code == 200
    after = {
        name: _session(conn, name)
        for conn in (connections["default"], replica)
        for name in ("synchronous_commit", "work_mem", "jit")
    }
    assert after == before
    assert before["synchronous_commit"] == "on"
