"""The ad-platform actions in a real browser: the admin shows each kind's fields, and the
result page hands a browser pixel the lead event's id for Meta to deduplicate."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import expect

from tests.visitor import result_url, run, submit_lead
from tracking.models import ConversionEvent

pytestmark = pytest.mark.browser


def test_meta_and_ga4_actions_show_their_own_fields(phone, live_server, transactional_db):
    User.objects.create_superuser("marketer", "m@example.com", "pass-for-tests")
    page = phone
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/admin/login/?next=/admin/automations/rule/add/")
    page.fill("#id_username", "marketer")
    page.fill("#id_password", "pass-for-tests")
    page.click("input[type=submit]")
    page.click("#actions-group .add-row a")
    form = page.locator("#actions-0")
    pixel = form.locator(".fieldBox.field-meta_pixel_id")
    measurement = form.locator(".fieldBox.field-ga4_measurement_id")
    consent = form.locator(".fieldBox.field-only_with_consent")

    form.locator("select[name='actions-0-kind']").select_option("meta")
    expect(pixel).to_be_visible()
    expect(measurement).to_be_hidden()
    expect(consent).to_be_visible()

    form.locator("select[name='actions-0-kind']").select_option("ga4")
    expect(pixel).to_be_hidden()
    expect(measurement).to_be_visible()
    expect(consent).to_be_visible()


def test_the_result_page_announces_the_lead_event_id_to_a_pixel(
    phone, live_server, scorecard, transactional_db
):
    client = Client()
    attempt = run(client, scorecard)
    submit_lead(client, attempt)
    event = ConversionEvent.objects.get(name="lead_submitted")
    page = phone
    page.add_init_script(
        "document.addEventListener('quizfunnel:lead', e => {"
        " (window.leads = window.leads || []).push(e.detail.eventId); });"
    )
    page.goto(live_server.url + result_url(attempt))
    page.wait_for_function("window.leads && window.leads.length > 0")
    assert page.evaluate("window.leads") == [str(event.event_id)]
