"""The dashboard on a phone: every table reads within the screen (one block per row, each
figure with its label), none cut off at the card's edge."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from tests.browser.test_sales_workspace_in_chromium import hot_lead  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def test_the_dashboards_tables_fit_a_phone(phone, live_server, hot_lead):  # noqa: F811
    User.objects.create_superuser("mia", password="pw-mia-123456")
    phone.goto(f"{live_server.url}/admin/login/?next=/dashboard/?quiz={hot_lead.quiz_id}")
    phone.get_by_label("Username").fill("mia")
    phone.get_by_label("Password").fill("pw-mia-123456")
    phone.get_by_role("button", name="Log in").click()
    time = phone.locator("section.card", has=phone.get_by_role("heading", name="Time"))
    p90 = time.locator('td[data-label="90th percentile"]').first  # its label is ::before
    expect(p90).to_be_visible()
    wider = phone.evaluate(
        """() => [...document.querySelectorAll('section.card')]
            .filter(c => c.scrollWidth > c.clientWidth)
            .map(c => c.querySelector('h2')?.textContent + ': ' + c.scrollWidth)"""
    )
    assert wider == []  # the Time table was 428 px wide in its 358 px card
    box = p90.bounding_box()
    assert box["x"] + box["width"] <= 390
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
