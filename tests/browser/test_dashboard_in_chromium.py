"""The dashboard on a phone: every table reads within the screen (one block per row, each
figure with its label), none cut off at the card's edge."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from tests.browser.test_sales_workspace_in_chromium import hot_lead  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def _log_in(page, live_server, quiz_id: int) -> None:
    User.objects.create_superuser("mia", password="pw-mia-123456")
    page.goto(f"{live_server.url}/admin/login/?next=/dashboard/?quiz={quiz_id}")
    page.get_by_label("Username").fill("mia")
    page.get_by_label("Password").fill("pw-mia-123456")
    page.get_by_role("button", name="Log in").click()


def test_the_dashboards_tables_fit_a_phone(phone, live_server, hot_lead):  # noqa: F811
    _log_in(phone, live_server, hot_lead.quiz_id)
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


def test_the_count_radio_buttons_have_their_normal_size(phone, live_server, hot_lead):  # noqa: F811
    _log_in(phone, live_server, hot_lead.quiz_id)
    count = phone.locator("form.filters fieldset.unit")
    funnel = phone.locator("section.card", has=phone.get_by_role("heading", name="Funnel"))
    for size, unit in (((390, 844), "visitors"), ((1280, 900), "attempts")):
        phone.set_viewport_size({"width": size[0], "height": size[1]})
        for radio in count.get_by_role("radio").all():
            box = radio.bounding_box()
            # The browser's own 13 px, as the admin's: they were stretched to 64 x 43 px.
            assert box["width"] <= 16 and box["height"] <= 16
        for label in count.locator("label").all():
            assert label.bounding_box()["height"] <= 40  # "Unique visitors" on one line
        count.screenshot(path=f"/tmp/dashboard-count-{size[0]}.png")
        count.get_by_text(f"Unique {unit}").click()  # the label is the target
        expect(funnel).to_contain_text(f"In {unit}:")
