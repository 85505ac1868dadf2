"""A salesperson opens a lead in Chromium: its timeline and automations load in the page."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from playwright.sync_api import Page, expect

from leads.models import Lead
from tests import visitor
from tests.automations.factories import ActionFactory, ConditionFactory, RuleFactory
from tests.quizzes.factories import ScorecardFactory

pytestmark = pytest.mark.browser
PASSWORD = "pw-sam-123456"


@pytest.fixture
def hot_lead(live_server, transactional_db) -> Lead:
    """A real run through the site (from a newsletter), with a rule that e-mails hot leads."""
    rule = RuleFactory(name="Hot leads to sales")
    ConditionFactory(rule=rule, property="percent", operator=">", value="80")
    ActionFactory(rule=rule, kind="email")
    quiz = ScorecardFactory()
    client = Client()
    client.get(quiz.get_absolute_url() + "?utm_source=newsletter&utm_medium=email")
    attempt = visitor.run(client, quiz)
    assert visitor.submit_lead(client, attempt).status_code == 302
    client.get(visitor.result_url(attempt))
    return Lead.objects.get(attempt=attempt)


@pytest.fixture
def seller(transactional_db) -> User:
    # The live server's database is flushed between tests, groups and all: make Sales again.
    sales, _ = Group.objects.get_or_create(name="Sales")
    sales.permissions.add(*Permission.objects.filter(codename__in=["view_lead", "change_lead"]))
    user = User.objects.create_user("sam", password=PASSWORD, is_staff=True)
    user.groups.add(sales)
    return user


def _log_in(page: Page, url: str, user: User) -> None:
    page.goto(url)
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_lead_page_loads_its_timeline_and_deliveries(phone, live_server, hot_lead, seller):
    errors = []
    phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _log_in(phone, f"{live_server.url}/sales/leads/{hot_lead.pk}/", seller)
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Ada")

    timeline = phone.locator("#timeline")
    expect(timeline).to_contain_text("Started the quiz from newsletter / email")
    expect(timeline).to_contain_text("Answered “How confident are you?”: 8 of 10 — 8 pts")
    expect(timeline).to_contain_text("Sent the form: 95 %, Hot")
    expect(timeline.get_by_role("link")).to_have_count(0)  # the fallback link was replaced

    deliveries = phone.locator("#deliveries")
    expect(deliveries).to_contain_text("Hot leads to sales")
    expect(deliveries.get_by_role("link", name="Show this lead's automations")).to_have_count(0)
    assert not [e for e in errors if "htmx" in e.lower() or "target" in e.lower()], errors


def test_the_inbox_fits_a_phone(phone, live_server, hot_lead, seller):
    _log_in(phone, f"{live_server.url}/sales/", seller)
    expect(phone.locator("#inbox")).to_contain_text("Ada")
    card = phone.locator("#inbox .card")
    # No sideways scrolling in the list (its table was 1,056 px wide in a 390 px page).
    assert card.evaluate("e => e.scrollWidth <= e.clientWidth"), card.evaluate(
        "e => [e.scrollWidth, e.clientWidth]"
    )
    assert phone.locator("#inbox table").bounding_box()["width"] <= 390
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
