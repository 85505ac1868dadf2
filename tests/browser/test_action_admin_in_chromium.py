"""A marketer adds an action in admin: the fields follow the kind chosen."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_a_new_action_shows_the_fields_of_the_kind_chosen(phone, live_server, transactional_db):
    User.objects.create_superuser("marketer", "m@example.com", "pass-for-tests")
    page = phone
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/admin/login/?next=/admin/automations/rule/add/")
    page.fill("#id_username", "marketer")
    page.fill("#id_password", "pass-for-tests")
    page.click("input[type=submit]")
    page.click("#actions-group .add-row a")
    form = page.locator("#actions-0")
    url, subject = (
        form.locator(".fieldBox.field-webhook_url"),
        form.locator(".fieldBox.field-task_subject"),
    )

    form.locator("select[name='actions-0-kind']").select_option("hubspot")
    expect(url).to_be_hidden()
    expect(subject).to_be_visible()

    form.locator("select[name='actions-0-kind']").select_option("webhook")
    expect(url).to_be_visible()
    expect(subject).to_be_hidden()

    form.locator("select[name='actions-0-kind']").select_option("email")
    expect(url).to_be_hidden()
    expect(subject).to_be_hidden()
