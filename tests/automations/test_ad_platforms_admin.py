"""Meta and GA4 actions in admin: their fields only, what is missing or wrong said in
words, and secrets never shown back."""

import pytest

from automations.models import Action, Rule
from tests.automations.factories import ActionFactory, RuleFactory
from tests.fakes.ga4 import API_SECRET, MEASUREMENT_ID
from tests.fakes.meta import PIXEL, TOKEN

pytestmark = pytest.mark.django_db


def post_rule(client, **action):
    data = {
        "name": "Leads to the ad platforms",
        "enabled": "on",
        "trigger": "lead_submitted",
        "conditions-TOTAL_FORMS": "0",
        "conditions-INITIAL_FORMS": "0",
        "actions-TOTAL_FORMS": "1",
        "actions-INITIAL_FORMS": "0",
        "actions-0-order": "0",
        "actions-0-webhook_secret": "whsec_c2VjcmV0c2VjcmV0c2VjcmV0",
        "actions-0-task_subject": "Call {name}",
        "actions-0-task_due_hours": "1",
        "actions-0-meta_event_name": "Lead",
        "actions-0-ga4_currency": "EUR",
        "actions-0-only_with_consent": "on",
    }
    data.update({f"actions-0-{k}": v for k, v in action.items()})
    return client.post("/admin/automations/rule/add/", data)


def page_of(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_a_meta_action_is_saved_with_its_pixel_and_token(admin_client):
    response = post_rule(
        admin_client, kind="meta", meta_pixel_id=f" {PIXEL} ", meta_access_token=TOKEN
    )
    assert response.status_code == 302
    action = Action.objects.get()
    assert (action.meta_pixel_id, action.meta_access_token) == (PIXEL, TOKEN)
    assert action.only_with_consent


def test_a_meta_action_without_pixel_or_token_says_what_is_missing(admin_client):
    page = page_of(post_rule(admin_client, kind="meta", meta_event_name=""))
    assert "A Meta action needs the pixel (dataset) id." in page
    assert "A Meta action needs its Conversions API access token." in page
    assert "A Meta action needs an event name" in page
    assert not Rule.objects.exists()


@pytest.mark.parametrize("pixel", ["abc123", "act_1234567890", "12345"])
def test_a_bad_pixel_id_is_refused_in_words(admin_client, pixel):
    page = page_of(
        post_rule(admin_client, kind="meta", meta_pixel_id=pixel, meta_access_token=TOKEN)
    )
    assert f"“{pixel}” is not a pixel id: it is a number of 15 or 16 digits" in page
    assert not Rule.objects.exists()


def test_a_bad_event_name_or_test_code_is_refused_in_words(admin_client):
    page = page_of(
        post_rule(
            admin_client,
            kind="meta",
            meta_pixel_id=PIXEL,
            meta_access_token=TOKEN,
            meta_event_name="Lead<script>",
            meta_test_event_code="TEST 1",
        )
    )
    assert "Use letters, digits, spaces, - and _ only" in page
    assert "A test event code is letters and digits." in page


def test_a_ga4_action_is_saved_with_its_ids_and_values(admin_client):
    response = post_rule(
        admin_client,
        kind="ga4",
        ga4_measurement_id="g-test12345",
        ga4_api_secret=API_SECRET,
        ga4_tier_values="Hot=100, Warm=30",
        ga4_currency="usd",
    )
    assert response.status_code == 302
    action = Action.objects.get()
    assert action.ga4_measurement_id == MEASUREMENT_ID and action.ga4_currency == "USD"
    assert action.tier_values() == {"hot": 100.0, "warm": 30.0}


def test_a_ga4_action_without_its_ids_says_what_is_missing(admin_client):
    page = page_of(post_rule(admin_client, kind="ga4", ga4_currency=""))
    assert "A GA4 action needs the web stream&#x27;s measurement id (G-…)." in page
    assert "A GA4 action needs a Measurement Protocol API secret." in page
    assert "A GA4 action needs the currency of its values" in page


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("ga4_measurement_id", "UA-12345-1", "is not a measurement id: it starts with G-"),
        ("ga4_currency", "EU1", "Three letters, such as EUR, USD or GBP."),
        (
            "ga4_tier_values",
            "Hot:100",
            "Write it as Hot=100, Warm=30 (“Hot:100” is not Tier=value)",
        ),
        ("ga4_tier_values", "Hot=lots", "Write it as Hot=100, Warm=30"),
        ("ga4_tier_values", "Hot=nan", "Write it as Hot=100, Warm=30"),
        ("phone_country", "G1", "Two letters, such as GB, DE or US."),
    ],
)
def test_a_bad_ga4_setting_is_refused_in_words(admin_client, field, value, words):
    fields = {
        "kind": "ga4",
        "ga4_measurement_id": MEASUREMENT_ID,
        "ga4_api_secret": API_SECRET,
        field: value,
    }
    page = page_of(post_rule(admin_client, **fields))
    assert words in page.replace("&#x27;", "'")
    assert not Rule.objects.exists()


def test_secrets_are_never_shown_back_and_an_empty_field_keeps_them(admin_client):
    rule = RuleFactory()
    action = ActionFactory(
        rule=rule, kind="meta", meta_pixel_id=PIXEL, meta_access_token="EAAsecret-token-9876"
    )
    url = f"/admin/automations/rule/{rule.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert "EAAsecret-token-9876" not in page
    assert "Saved (ends in …9876)" in page
    assert 'type="password" name="actions-0-meta_access_token"' in page

    response = admin_client.post(
        url,
        {
            "name": rule.name,
            "enabled": "on",
            "trigger": "lead_submitted",
            "conditions-TOTAL_FORMS": "0",
            "conditions-INITIAL_FORMS": "0",
            "actions-TOTAL_FORMS": "1",
            "actions-INITIAL_FORMS": "1",
            "actions-0-id": str(action.pk),
            "actions-0-rule": str(rule.pk),
            "actions-0-kind": "meta",
            "actions-0-order": "0",
            "actions-0-webhook_secret": action.webhook_secret,
            "actions-0-task_subject": action.task_subject,
            "actions-0-task_due_hours": "1",
            "actions-0-meta_pixel_id": PIXEL,
            "actions-0-meta_access_token": "",
            "actions-0-meta_event_name": "Lead",
            "actions-0-ga4_currency": "EUR",
            "actions-0-only_with_consent": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    action.refresh_from_db()
    assert action.meta_access_token == "EAAsecret-token-9876"


def test_a_ga4_action_shows_its_fields_and_hides_metas(admin_client):
    rule = RuleFactory()
    ActionFactory(
        rule=rule,
        kind="ga4",
        ga4_measurement_id=MEASUREMENT_ID,
        ga4_api_secret=API_SECRET,
        meta_access_token="EAAleftover-from-meta",  # the action was a Meta one before
    )
    page = admin_client.get(f"/admin/automations/rule/{rule.pk}/change/").content.decode()
    assert 'type="text" name="actions-0-ga4_measurement_id"' in page
    assert 'type="hidden" name="actions-0-meta_pixel_id"' in page
    assert 'type="hidden" name="actions-0-meta_access_token"' in page
    assert "EAAleftover-from-meta" not in page and API_SECRET not in page
