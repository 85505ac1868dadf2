"""Actions in admin: only the fields of their kind, the placeholders listed, webhook URLs
that can never work refused on save with the reason."""

import pytest
from django.core.exceptions import ValidationError

from automations.destinations import address_refusal
from tests.automations.factories import ActionFactory, RuleFactory

pytestmark = pytest.mark.django_db


def _inline_html(admin_client, rule):
    return admin_client.get(f"/admin/automations/rule/{rule.pk}/change/").content.decode()


def test_a_hubspot_action_shows_no_webhook_url_or_secret(admin_client):
    rule = RuleFactory()
    ActionFactory(rule=rule, kind="hubspot")
    page = _inline_html(admin_client, rule)
    assert 'type="hidden" name="actions-0-webhook_url"' in page
    assert 'type="hidden" name="actions-0-webhook_secret"' in page
    assert 'type="text" name="actions-0-task_subject"' in page


def test_a_webhook_action_shows_its_url_and_masked_secret_but_no_task_fields(admin_client):
    rule = RuleFactory()
    action = ActionFactory(rule=rule, kind="webhook", webhook_url="https://hooks.example.com/in")
    page = _inline_html(admin_client, rule)
    assert 'type="url" name="actions-0-webhook_url"' in page
    # Masked, with its last four characters; shown in full on request for the receiver.
    assert 'type="password" name="actions-0-webhook_secret"' in page
    assert f"Saved (ends in …{action.webhook_secret[-4:]})" in page
    assert f"<summary>Show it</summary><code>{action.webhook_secret}</code>" in page
    assert 'type="hidden" name="actions-0-task_subject"' in page


def test_the_task_subject_lists_the_placeholders_it_can_use(admin_client):
    rule = RuleFactory()
    ActionFactory(rule=rule, kind="hubspot")
    page = _inline_html(admin_client, rule)
    for placeholder in ("name", "email", "company", "tier", "percent", "score", "quiz"):
        assert "{" + placeholder + "}" in page


def test_a_subject_with_an_unknown_placeholder_is_refused_with_the_ones_there_are():
    action = ActionFactory.build(rule=RuleFactory(), kind="hubspot", task_subject="Call {nmae}")
    with pytest.raises(ValidationError) as error:
        action.full_clean()
    [message] = error.value.message_dict["task_subject"]
    assert "'nmae'" in message and "{percent}" in message


def _post_webhook(client, url):
    return client.post(
        "/admin/automations/rule/add/",
        {
            "name": "Leads to our CRM",
            "enabled": "on",
            "trigger": "lead_submitted",
            "conditions-TOTAL_FORMS": "0",
            "conditions-INITIAL_FORMS": "0",
            "actions-TOTAL_FORMS": "1",
            "actions-INITIAL_FORMS": "0",
            "actions-0-kind": "webhook",
            "actions-0-order": "0",
            "actions-0-webhook_url": url,
            "actions-0-webhook_secret": "whsec_c2VjcmV0c2VjcmV0c2VjcmV0",
            "actions-0-task_subject": "Call {name}",
            "actions-0-task_due_hours": "1",
        },
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8000/hook", "127.0.0.1 is not a public internet address"),
        ("http://localhost/hook", "localhost resolves to a private address"),
        ("http://100.100.100.200/latest/meta-data", "100.100.100.200 is not a public"),
        ("http://10.0.0.5/hook", "10.0.0.5 is not a public internet address"),
        ("http://[2002:7f00:1::]/hook", "is a 6to4 address"),
        ("http://[64:ff9b::a9fe:a9fe]/hook", "is a NAT64 address"),
        ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook", "is a Teredo address"),
        ("http://[::ffff:192.168.1.1]/hook", "192.168.1.1 is not a public internet address"),
        ("http://[fd00::1]/hook", "fd00::1 is not a public internet address"),
    ],
)
def test_a_private_webhook_url_is_refused_on_save_with_the_reason(
    admin_client, settings, url, reason
):
    settings.AUTOMATIONS_ALLOW_PRIVATE_URLS = False
    from automations.models import Rule

    response = _post_webhook(admin_client, url)
    assert response.status_code == 200
    page = response.content.decode()
    assert reason in page and "AUTOMATIONS_ALLOW_PRIVATE_URLS" in page
    assert not Rule.objects.exists()


def test_a_private_webhook_url_is_saved_where_private_urls_are_allowed(admin_client, settings):
    settings.AUTOMATIONS_ALLOW_PRIVATE_URLS = True
    assert _post_webhook(admin_client, "http://127.0.0.1:8000/hook").status_code == 302


def test_a_webhook_url_with_a_user_and_password_is_refused_on_save(admin_client, settings):
    settings.AUTOMATIONS_ALLOW_PRIVATE_URLS = True  # refused all the same
    response = _post_webhook(admin_client, "https://user:pw@hooks.example.com/in")
    assert response.status_code == 200
    assert "cannot carry a user name or password" in response.content.decode()


@pytest.mark.parametrize(
    "address",
    [
        "100.64.0.1",  # carrier-grade NAT
        "192.0.0.1",  # IETF protocol assignments
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "2002:808:808::",  # 6to4 of a public address: refused as a carrier all the same
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b:1::1",
        "::127.0.0.1",  # IPv4-compatible
        "::ffff:169.254.169.254",
        "fe80::1%eth0",
        "::1",
        "224.0.0.1",
        "0.0.0.0",
    ],
)
def test_addresses_that_are_not_global_are_refused(address):
    assert address_refusal(address) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert address_refusal(address) is None
