"""A lead is never dropped by a guess: a person who typed an e-mail and left the
honeypot empty reaches sales and automations whatever their User-Agent says; a
browser that looks automated is marked, and the dashboard counts the same leads
as the inbox."""

import csv
import io

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from automations.models import Delivery
from leads.models import Lead
from tests.visitor import run, submit_lead
from tracking.models import ConversionEvent

pytestmark = pytest.mark.django_db

HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/126.0.6478.126 Safari/537.36"
)
CUBOT = (
    "Mozilla/5.0 (Linux; Android 13; CUBOT KINGKONG 7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
)


def _staff(group: str) -> Client:
    user = User.objects.create_user(group.lower(), password="pw-staff-123456")
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


def _lead_from(quiz, agent: str, **fields) -> Lead:
    visitor = Client(headers={"User-Agent": agent})
    attempt = run(visitor, quiz)
    submit_lead(visitor, attempt, **fields)
    return Lead.objects.get(attempt=attempt)


def test_a_person_whose_browser_looks_automated_reaches_sales_and_automations(scorecard, hot_rule):
    lead = _lead_from(scorecard, HEADLESS)
    assert lead.looks_automated and not lead.is_spam
    assert Lead.objects.for_sales().filter(pk=lead.pk).exists()
    assert Delivery.objects.filter(lead=lead).count() == 1  # the hot-lead rule matched
    submitted = ConversionEvent.objects.get(name="lead_submitted")
    assert not submitted.is_bot
    # Its other events keep the guess as a mark (the dashboard still counts the run whole).
    assert ConversionEvent.objects.get(name="quiz_started").is_bot

    inbox = _staff("Sales").get("/sales/").content.decode()
    assert lead.email in inbox
    assert ">looks automated</span>" in inbox


def test_a_phone_with_bot_in_its_name_is_an_ordinary_lead(scorecard, hot_rule):
    lead = _lead_from(scorecard, CUBOT)
    assert not lead.looks_automated
    assert not ConversionEvent.objects.filter(is_bot=True).exists()
    assert Delivery.objects.filter(lead=lead).count() == 1
    assert ">looks automated</span>" not in _staff("Sales").get("/sales/").content.decode()


def test_a_filled_honeypot_still_keeps_a_lead_from_sales_and_rules(scorecard, hot_rule):
    lead = _lead_from(scorecard, CUBOT, website="http://spam.example")
    assert lead.is_spam
    assert ConversionEvent.objects.get(name="lead_submitted").is_bot
    assert not Delivery.objects.exists()


def test_the_dashboard_counts_the_leads_the_inbox_shows(scorecard, admin_client):
    _lead_from(scorecard, CUBOT, email="ada@example.com")
    _lead_from(scorecard, HEADLESS, email="bob@example.com")
    _lead_from(scorecard, CUBOT, email="spam@example.com", website="http://spam.example")
    assert Lead.objects.count() == 3

    inbox = _staff("Sales").get("/sales/").content.decode()
    assert "2 people" in inbox and "spam@example.com" not in inbox
    response = _staff("Marketers").get("/dashboard/report/funnel.csv", {"quiz": scorecard.pk})
    rows = {row[0]: row for row in csv.reader(io.StringIO(response.content.decode()))}
    assert rows["Lead submitted"][1] == "2"
    # The automated-looking person's run counts whole, so no step exceeds its base.
    assert (rows["Started"][1], rows["Completed"][1]) == ("3", "3")


def test_the_dashboard_says_how_many_runs_it_left_out_as_a_bots(scorecard):
    # A headless browser that never gives an e-mail: left out, and the page says so.
    run(Client(headers={"User-Agent": HEADLESS}), scorecard)
    _lead_from(scorecard, HEADLESS, email="ada@example.com")  # a person: counted, not left out
    page = _staff("Marketers").get("/dashboard/", {"quiz": scorecard.pk}).content.decode()
    assert "Left out as bots: <strong>1</strong> attempt (runs, not leads)" in page
    assert "started <strong>1</strong> attempt" in page


def test_the_dashboards_bot_note_counts_runs_and_the_spam_note_counts_leads(scorecard):
    run(Client(headers={"User-Agent": HEADLESS}), scorecard)  # no e-mail: a bot's run
    _lead_from(scorecard, HEADLESS, email="s1@example.com", website="http://spam.example")
    _lead_from(scorecard, CUBOT, email="s2@example.com", website="http://spam.example")
    _lead_from(scorecard, HEADLESS, email="ada@example.com")  # a person: counted
    marketer = _staff("Marketers")
    page = marketer.get("/dashboard/", {"quiz": scorecard.pk}).content.decode()
    bots = page.split('data-note="bots">')[1].split("</span>")[0]
    # The automated-looking runs without a person's lead, the spam one among them (its
    # lead is not what makes it a bot's: the run is counted, never the lead).
    assert "<strong>2</strong> attempts (runs, not leads) whose browser looked automated" in bots
    assert "never ended with a person's lead" in bots
    assert "counted apart" in bots
    assert "started <strong>2</strong> attempts" in page  # Cubot's spam run and Ada's

    crm = marketer.get("/automations/reconciliation/", {"quiz": scorecard.pk})
    spam = crm.content.decode().split('data-note="spam">')[1].split("</span>")[0]
    # Both spam leads, whatever their browser looked like: leads, not runs.
    assert "Spam: <strong>2</strong> leads submitted in the range with the honeypot" in spam
    assert "whatever the browser looked like" in spam
