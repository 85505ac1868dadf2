"""The marketer's dashboard, its CSV downloads, reconciliation and the plan document."""

import csv
import io

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError

from leads.models import Lead
from tests.visitor import run, submit_lead
from tracking.models import ConversionEvent, ReconciliationRun
from tracking.plan import as_markdown

pytestmark = pytest.mark.django_db
DASHBOARD = "/dashboard/"


@pytest.fixture
def marketer(client):
    user = User.objects.create_user("mia", password="pw-mia-123456")
    user.groups.add(Group.objects.get(name="Marketers"))
    client.force_login(user)
    return client


def _lead(client, quiz, **fields):
    attempt = run(client, quiz)
    submit_lead(client, attempt, **fields)
    return attempt


def test_only_marketers_and_superusers_see_the_dashboard(client, admin_client, scorecard):
    assert client.get(DASHBOARD)["Location"].startswith("/admin/login/")
    seller = User.objects.create_user("sam", password="pw-sam-123456")
    seller.groups.add(Group.objects.get(name="Sales"))
    client.force_login(seller)
    assert client.get(DASHBOARD).status_code == 403
    assert admin_client.get(DASHBOARD).status_code == 200


def test_the_funnel_shows_what_visitors_did(marketer, scorecard):
    _lead(marketer, scorecard)
    page = marketer.get(DASHBOARD, {"quiz": scorecard.pk}).content.decode()
    assert "Conversion dashboard" in page
    assert "Lead submitted" in page and "Q2. How do you tag links?" in page
    assert "Started" in page


def test_htmx_filters_swap_only_the_report(marketer, scorecard):
    response = marketer.get(DASHBOARD, {"quiz": scorecard.pk}, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="report">')
    assert "<html" not in page


def test_a_backwards_date_range_is_a_clear_400(marketer, scorecard):
    response = marketer.get(
        DASHBOARD, {"quiz": scorecard.pk, "start": "2026-11-20", "end": "2026-11-01"}
    )
    assert response.status_code == 400
    assert "“From” must be on or before “To”." in response.content.decode()


def test_each_table_downloads_as_csv(marketer, scorecard):
    _lead(marketer, scorecard)
    for table in ("funnel", "timing", "sources", "attribution"):
        response = marketer.get(f"/dashboard/report/{table}.csv", {"quiz": scorecard.pk})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert len(rows) > 1
    funnel = list(
        csv.reader(
            io.StringIO(
                marketer.get(
                    "/dashboard/report/funnel.csv", {"quiz": scorecard.pk}
                ).content.decode()
            )
        )
    )
    assert funnel[-1][:2] == ["Lead submitted", "1"]
    assert marketer.get("/dashboard/report/secrets.csv").status_code == 404


def test_reconciliation_passes_prints_and_shows_on_the_dashboard(marketer, scorecard, capsys):
    _lead(marketer, scorecard)
    call_command("reconcile_events")
    out = capsys.readouterr().out
    assert "Events and leads reconcile." in out
    assert "[ok ] every lead has one lead_submitted with the same score and tier: 1 checked" in out
    assert ReconciliationRun.objects.get().ok
    assert "Events and leads reconcile" in marketer.get(DASHBOARD).content.decode()


def test_reconciliation_fails_on_a_lead_whose_event_disagrees(marketer, scorecard, capsys):
    _lead(marketer, scorecard)
    Lead.objects.update(score_percent=12)  # e.g. someone edited the lead in the database
    with pytest.raises(CommandError) as failure:
        call_command("reconcile_events", "--since", "2020-01-01")
    assert failure.value.returncode == 1
    assert "event says (38, 95, 'Hot'), the lead (38, 12, 'Hot')" in capsys.readouterr().out
    assert "do NOT reconcile" in marketer.get(DASHBOARD).content.decode()


def test_reconciliation_fails_on_a_lead_without_its_event(scorecard, client, capsys):
    attempt = _lead(client, scorecard)
    ConversionEvent.objects.filter(name="lead_submitted").delete()  # a broken import, say
    with pytest.raises(CommandError):
        call_command("reconcile_events")
    assert f"lead {attempt.lead.pk} has 0 lead_submitted events" in capsys.readouterr().out


def test_a_bad_since_date_is_a_clear_error():
    with pytest.raises(CommandError, match="is not a date"):
        call_command("reconcile_events", "--since", "last week")


def test_the_tracking_plan_document_is_current():
    from django.conf import settings

    written = (settings.BASE_DIR / "docs" / "tracking-plan.md").read_text()
    assert written == as_markdown(), "Run: manage.py tracking_plan"
