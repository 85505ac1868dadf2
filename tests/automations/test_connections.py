"""The Connections page: a marketer connects HubSpot without touching the server."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection as db

from automations import crm
from automations.crypto import encrypt
from automations.delivery import delivery_run
from automations.models import Delivery, HubSpotConnection
from tests.automations.test_delivery import hot_lead
from tests.fakes.hubspot import TOKEN

pytestmark = pytest.mark.django_db
URL = "/admin/automations/hubspotconnection/"


@pytest.fixture
def no_override(settings, hubspot):
    """The fake HubSpot, with no HUBSPOT_TOKEN: the page's token is the one in use."""
    settings.HUBSPOT_TOKEN = ""
    return hubspot


@pytest.fixture
def marketer(db):
    user = User.objects.create_user("mia", "mia@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Marketers"))
    return user


def connect(client, token=TOKEN):
    return client.post(URL, {"action": "save", "token": token}, follow=True)


def test_a_marketer_pastes_the_token_and_sees_the_account_in_words(client, marketer, no_override):
    client.force_login(marketer)
    page = connect(client, f"  {TOKEN}\n").content.decode()
    assert "Connected to HubSpot account 4242: a standard HubSpot account" in page
    assert "time zone Europe/Berlin" in page
    assert TOKEN not in page and "…oken" in page  # the last four characters only
    assert crm.hubspot_token() == TOKEN
    assert no_override.count("/account-info/v3/details") == 1


def test_the_token_is_encrypted_at_rest_and_never_rendered(client, marketer, no_override):
    client.force_login(marketer)
    connect(client)
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM automations_hubspotconnection")
        row = cursor.fetchone()
    assert not any(TOKEN in str(value) for value in row)
    assert HubSpotConnection.objects.get().token_encrypted.startswith("gAAAA")  # Fernet
    page = client.get(URL).content.decode()
    assert TOKEN not in page
    assert 'type="password"' in page and f'value="{TOKEN}"' not in page


def test_a_token_hubspot_refuses_is_not_saved_and_says_why(client, marketer, no_override):
    client.force_login(marketer)
    response = connect(client, "pat-na1-wrong-token")
    page = response.content.decode()
    assert response.status_code == 400
    assert "HubSpot refused the token: Authentication credentials not found." in page
    assert "It was not saved." in page
    assert not HubSpotConnection.objects.exclude(token_encrypted="").exists()


def test_test_connection_answers_ok_then_refused_in_words(client, marketer, no_override):
    client.force_login(marketer)
    connect(client)
    page = client.post(URL, {"action": "test"}, follow=True).content.decode()
    assert "Connected to HubSpot account 4242" in page
    no_override.token = "pat-rotated-in-hubspot"  # the app's token was rotated in HubSpot
    page = client.post(URL, {"action": "test"}, follow=True).content.decode()
    assert "HubSpot refused the token: Authentication credentials not found." in page
    stored = HubSpotConnection.objects.get()
    assert stored.test_ok is False and "refused" in stored.test_result


def test_a_pasted_token_that_cannot_be_one_is_a_clear_400(client, marketer, no_override):
    client.force_login(marketer)
    for bad, words in [
        ("", "Paste the token"),
        ("pat\x00é", "only letters"),
        ("x" * 600, "longer than a HubSpot token"),
    ]:
        response = client.post(URL, {"action": "save", "token": bad})
        assert response.status_code == 400
        assert words in response.content.decode()
    assert no_override.count("account-info") == 0


def test_saving_a_token_releases_the_held_deliveries_once(
    client, marketer, no_override, scorecard, hot_rule
):
    hot_lead(client, scorecard)
    delivery = Delivery.objects.get()
    assert delivery.status == "held"
    assert "Connections page" in delivery.held_reason
    client.force_login(marketer)
    page = connect(client).content.decode()
    assert "1 held delivery going out now" in page
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery_run(delivery.pk) == "delivered"
    assert len(no_override.tasks) == 1


def test_disconnect_forgets_the_token_and_new_deliveries_wait(
    client, marketer, no_override, scorecard, hot_rule
):
    client.force_login(marketer)
    connect(client)
    page = client.post(URL, {"action": "disconnect"}, follow=True).content.decode()
    assert "HubSpot disconnected" in page and "Not connected" in page
    assert HubSpotConnection.objects.get().token_encrypted == ""
    hot_lead(client, scorecard)
    assert Delivery.objects.get().status == "held"


def test_the_page_says_when_hubspot_token_overrides_it(client, marketer, hubspot, settings):
    settings.HUBSPOT_TOKEN = "pat-operator-1234"
    client.force_login(marketer)
    page = client.get(URL).content.decode()
    assert "HUBSPOT_TOKEN is set on the server (token ending …1234)" in page
    assert "overrides the token saved here" in page
    assert "pat-operator-1234" not in page


def test_only_people_who_build_automations_open_it(client, no_override):
    sales = User.objects.create_user("sam", password="pw", is_staff=True)
    sales.groups.add(Group.objects.get(name="Sales"))
    client.force_login(sales)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"action": "save", "token": TOKEN}).status_code == 403
    assert not HubSpotConnection.objects.exists()


def test_a_token_unreadable_after_a_key_change_asks_to_paste_it_again(settings, db):
    HubSpotConnection.objects.create(
        pk=1, token_encrypted=encrypt("pat-secret"), token_last4="cret"
    )
    settings.HUBSPOT_TOKEN = ""
    settings.FIELD_ENCRYPTION_KEYS = ["another key entirely"]
    assert crm.hubspot_token() == ""
    assert "paste the token again" in crm.not_connected_reason()


def test_keys_rotate_without_losing_the_token(settings, db):
    settings.HUBSPOT_TOKEN = ""
    settings.FIELD_ENCRYPTION_KEYS = ["old key"]
    HubSpotConnection.objects.create(pk=1, token_encrypted=encrypt("pat-secret"))
    settings.FIELD_ENCRYPTION_KEYS = ["new key", "old key"]
    assert crm.hubspot_token() == "pat-secret"
    call_command("rotate_field_encryption")
    settings.FIELD_ENCRYPTION_KEYS = ["new key"]
    assert crm.hubspot_token() == "pat-secret"


# Contact fields ----------------------------------------------------------------------


def test_fields_are_chosen_from_hubspots_own_list_and_fill_the_contact(
    client, marketer, no_override, scorecard, hot_rule
):
    client.force_login(marketer)
    connect(client)
    page = client.get(URL).content.decode()
    assert "First source (UTM) (utm_source_first)" in page  # HubSpot's own label
    assert "hs_analytics_source" not in page  # read-only in HubSpot: not offered
    form = {"action": "mapping", "first_name": "firstname", "percent": "quizfunnel_score"}
    form |= {"tier": "quizfunnel_tier", "score": "quizfunnel_points", "source": "utm_source_first"}
    assert client.post(URL, form).status_code == 302
    lead = hot_lead(client, scorecard)
    assert delivery_run(Delivery.objects.get().pk) == "delivered"
    contact = no_override.contacts[lead.email]
    assert contact["quizfunnel_points"] == str(lead.score_points)
    assert contact["utm_source_first"] == lead.source
    assert "company" not in contact and "lastname" not in contact  # not chosen: not sent


def test_a_property_deleted_in_hubspot_is_shown_clearly(client, marketer, no_override):
    client.force_login(marketer)
    connect(client)
    no_override.properties = [p for p in no_override.properties if p["name"] != "quizfunnel_tier"]
    page = client.get(URL).content.decode()
    assert "quizfunnel_tier — not in HubSpot (deleted or never created)" in page
    assert "“quizfunnel_tier” is not a contact property in this HubSpot account" in page


def test_two_facts_cannot_fill_one_property(client, marketer, no_override):
    client.force_login(marketer)
    connect(client)
    response = client.post(URL, {"action": "mapping", "company": "jobtitle", "tier": "jobtitle"})
    assert response.status_code == 400
    assert "“jobtitle” is already filled with Company" in response.content.decode()


def test_a_property_hubspot_does_not_have_cannot_be_posted(client, marketer, no_override):
    client.force_login(marketer)
    connect(client)
    response = client.post(URL, {"action": "mapping", "company": "made_up_property"})
    assert response.status_code == 400
    assert HubSpotConnection.objects.get().field_mapping is None  # still the defaults
