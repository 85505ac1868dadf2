"""The marketer's dashboard, its CSV downloads, reconciliation and the plan document."""

import csv
import io
import re

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from leads.models import Lead
from tests.visitor import HOT_RUN, answer, question, run, start, step_url, submit_lead
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


def _visitor(quiz, steps=None, *, intro=True, lead=False):
    """A new visitor (a cookie of their own) who reads each question, then answers it;
    a step without answer labels is seen and left."""
    visitor = Client()
    if intro:
        visitor.get(reverse("quizzes:intro", args=[quiz.slug]))
    if steps is None:
        return
    attempt = start(visitor, quiz)
    for text, labels, kwargs in steps:
        visitor.get(step_url(attempt, question(quiz, text)))
        if labels is None:
            return
        answer(visitor, attempt, text, *labels, **kwargs)
    if lead:
        submit_lead(visitor, attempt)


def _four_visitors(quiz):
    _visitor(quiz, HOT_RUN, lead=True)
    _visitor(quiz, [HOT_RUN[0], ("How do you tag links?", None, {})])  # closes the tab on Q2
    _visitor(quiz)  # reads the intro only
    _visitor(quiz, [("Do you advertise?", ("No",), {}), *HOT_RUN[2:]], intro=False)  # no lead


def _figures(page):
    """{step: {figure: first text of its cell}} from the funnel table."""
    table = {}
    for step, row in re.findall(r'<tr data-step="(\w+)">(.*?)</tr>', page, re.S):
        cells = re.findall(
            r'data-figure="(\w+)">(?:<div.*?</div>)?\s*(.*?)(?:<br>|</td>)', row, re.S
        )
        table[step] = {name: " ".join(text.split()) for name, text in cells}
    return table


def test_the_funnel_shows_what_visitors_did(marketer, scorecard):
    _four_visitors(scorecard)
    page = marketer.get(DASHBOARD, {"quiz": scorecard.pk}).content.decode()
    assert "<strong>4</strong> visitors came to the quiz" in page
    assert "started <strong>3</strong> attempts" in page
    assert "% of attempts started" in page
    figures = _figures(page)
    steps = [step for step in figures if step.startswith("question_")]
    q1, q2, q3, q4, q5 = steps

    def row(step):
        f = figures[step]
        return f["count"], f["base"], f["from_previous"], f["from_start"], f["left_here"]

    assert row("quiz_started") == ("3", "–", "–", "100.0 %", "0")
    assert row(q1) == ("3", "3", "100.0 %", "100.0 %", "0")
    assert row(q2) == ("1", "2", "50.0 %", "33.3 %", "1")  # one answered, one left here
    assert figures[q2]["other_path"] == "0"
    for q in (q3, q4, q5):
        assert row(q) == ("2", "2", "100.0 %", "66.7 %", "0")
    assert row("quiz_completed") == ("2", "3", "66.7 %", "66.7 %", "–")
    assert row("lead_submitted") == ("1", "2", "50.0 %", "33.3 %", "–")
    assert figures["left"]["left_here"] == "<strong>1</strong>"

    visitors = _figures(
        marketer.get(DASHBOARD, {"quiz": scorecard.pk, "unit": "visitors"}).content.decode()
    )
    assert visitors["came"]["count"] == "4"
    assert (visitors["quiz_started"]["count"], visitors["quiz_started"]["from_start"]) == (
        "3",
        "75.0 %",
    )
    assert visitors["lead_submitted"]["from_start"] == "25.0 %"


def test_every_figure_says_what_it_counts_and_against_what(marketer, scorecard):
    _four_visitors(scorecard)
    page = marketer.get(DASHBOARD, {"quiz": scorecard.pk}).content.decode()
    for words in (
        "attempts that answered it",
        "attempts shown it",
        "attempts started, not completed",
        "Left here",
        "Took another path",
        "visitors who submitted a lead",
        "% of visitors converted",
        "per submission",
    ):
        assert words in page, words
    visitors = marketer.get(DASHBOARD, {"quiz": scorecard.pk, "unit": "visitors"})
    assert "% of visitors who came" in visitors.content.decode()

    def header(table, unit="attempts"):
        query = {"quiz": scorecard.pk, "unit": unit}
        response = marketer.get(f"/dashboard/report/{table}.csv", query)
        return list(csv.reader(io.StringIO(response.content.decode())))

    funnel = header("funnel")
    assert funnel[0][:7] == [
        "Step",
        "Count — attempts",
        "Count is",
        "Out of — attempts",
        "Out of is",
        "% of out of",
        "% of attempts started",
    ]
    assert funnel[0][7].startswith("Left here — attempts")
    assert funnel[0][8].startswith("Took another path — attempts")
    q1 = ["Q1. Do you advertise?", "3", "attempts that answered it", "3", "attempts shown it"]
    assert funnel[2][:7] == [*q1, "100.0", "100.0"]
    assert header("funnel", "visitors")[0][6] == "% of visitors who came"
    sources = header("sources")
    assert sources[0][4:8] == [
        "Visitors (viewed the intro or started)",
        "Converted — visitors who submitted a lead",
        "% of visitors converted",
        "Submissions — leads (a visitor may submit more than once)",
    ]
    assert header("timing")[0][1].startswith("Measured — attempts")
    assert header("attribution")[0][1] == "Leads by first touch — submissions"


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
    assert "Events, leads and the CRM reconcile." in out
    assert "[ok ] every lead has one lead_submitted with the same score and tier: 1 checked" in out
    assert ReconciliationRun.objects.get().ok
    assert "Events, leads and the CRM reconcile" in marketer.get(DASHBOARD).content.decode()


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

    from tracking.demo import demo_specs

    written = (settings.BASE_DIR / "docs" / "tracking-plan.md").read_text()
    assert written == as_markdown(demo_specs()), "Run: manage.py tracking_plan"


def test_the_dashboard_filters_by_the_language_the_quiz_was_taken_in(marketer, scorecard):
    scorecard.languages = ["de"]
    scorecard.save(update_fields=["languages"])
    for language, runs in (("de", 2), ("en", 1)):
        for _ in range(runs):
            visitor = Client(HTTP_ACCEPT_LANGUAGE=language)
            visitor.get(reverse("quizzes:intro", args=[scorecard.slug]))
            submit_lead(visitor, run(visitor, scorecard))

    def started(query):
        page = marketer.get(f"{DASHBOARD}?quiz={scorecard.pk}{query}").content.decode()
        found = re.search(r"and started <strong>(\d+)</strong> attempt", page)
        return int(found.group(1)), page

    assert started("")[0] == 3
    german, page = started("&language=de")
    assert german == 2
    assert '<option value="de" selected>Deutsch</option>' in page
    assert started("&language=en")[0] == 1
    assert marketer.get(f"{DASHBOARD}?quiz={scorecard.pk}&language=xx").status_code == 400
