"""The actions' secrets (webhook signing secret, Meta access token, GA4 API secret) are
stored encrypted like the HubSpot token: unreadable in the database, read back by the
senders, encrypted in place by the migration, rotated by the command, masked in admin,
and held with the reason when the key no longer opens them."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from automations.delivery import delivery_run
from automations.models import Action
from tests.automations.factories import ActionFactory, RuleFactory
from tests.automations.test_ad_platforms import browser, hot_lead, the_delivery
from tests.fakes.ga4 import API_SECRET
from tests.fakes.meta import TOKEN

SECRETS = ("webhook_secret", "meta_access_token", "ga4_api_secret")


def stored(action_id: int) -> dict[str, str]:
    """What the database holds, read past the field."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(SECRETS)} FROM automations_action WHERE id = %s", [action_id]
        )
        return dict(zip(SECRETS, cursor.fetchone(), strict=True))


@pytest.mark.django_db
def test_secrets_are_stored_encrypted_and_read_back_plain(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["the key"]
    action = ActionFactory(kind="meta", meta_access_token=TOKEN, ga4_api_secret=API_SECRET)
    raw = stored(action.pk)
    assert TOKEN not in raw["meta_access_token"] and API_SECRET not in raw["ga4_api_secret"]
    assert raw["webhook_secret"].startswith("gAAAAA")  # a Fernet token, not whsec_…
    action = Action.objects.get(pk=action.pk)
    assert (action.meta_access_token, action.ga4_api_secret) == (TOKEN, API_SECRET)
    assert action.webhook_secret.startswith("whsec_")
    assert Action.objects.filter(kind="meta").exclude(ga4_api_secret="").count() == 1
    assert stored(ActionFactory(kind="hubspot").pk)["meta_access_token"] == ""  # empty: empty


@pytest.mark.django_db
def test_the_meta_sender_uses_the_decrypted_token(scorecard, meta, meta_rule):
    hot_lead(browser(), scorecard)
    assert delivery_run(the_delivery("meta").pk) == "delivered"
    assert meta.received == 1  # the fake Meta takes only the right token


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_the_secrets_already_stored(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["the key"]
    before = [("automations", "0011_hubspot_connection")]
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("automations")
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        rule = old.get_model("automations", "Rule").objects.create(
            name="Old rule", trigger="lead_submitted"
        )
        action = old.get_model("automations", "Action").objects.create(
            rule=rule, kind="meta", webhook_secret="whsec_b2xk", meta_access_token="EAAplain"
        )
        assert stored(action.pk)["meta_access_token"] == "EAAplain"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)

    raw = stored(action.pk)
    assert "EAAplain" not in raw["meta_access_token"] and "whsec_" not in raw["webhook_secret"]
    again = Action.objects.get(pk=action.pk)
    assert (again.webhook_secret, again.meta_access_token, again.ga4_api_secret) == (
        "whsec_b2xk",
        "EAAplain",
        "",
    )


@pytest.mark.django_db
def test_rotation_re_encrypts_the_actions_secrets_under_the_new_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["old key"]
    action = ActionFactory(kind="ga4", ga4_api_secret=API_SECRET)
    secret = action.webhook_secret
    settings.FIELD_ENCRYPTION_KEYS = ["new key", "old key"]
    out = StringIO()
    call_command("rotate_field_encryption", stdout=out)
    assert "2 secret(s) re-encrypted" in out.getvalue()  # the API secret and the webhook's
    settings.FIELD_ENCRYPTION_KEYS = ["new key"]
    action = Action.objects.get(pk=action.pk)
    assert (action.ga4_api_secret, action.webhook_secret) == (API_SECRET, secret)


@pytest.mark.django_db
def test_rotation_without_the_old_key_writes_nothing_and_says_which(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["old key"]
    action = ActionFactory(rule=RuleFactory(name="To Meta"), kind="meta", meta_access_token=TOKEN)
    before = stored(action.pk)
    settings.FIELD_ENCRYPTION_KEYS = ["new key"]
    with pytest.raises(CommandError, match=r"“To Meta: .*” opens with none of the keys"):
        call_command("rotate_field_encryption")
    assert stored(action.pk) == before


@pytest.mark.django_db
def test_a_secret_the_key_no_longer_opens_holds_deliveries_and_admin_asks_again(
    settings, scorecard, meta, meta_rule, admin_client
):
    saved_with = list(settings.FIELD_ENCRYPTION_KEYS)
    settings.FIELD_ENCRYPTION_KEYS = ["another key entirely"]
    hot_lead(browser(), scorecard)
    delivery = the_delivery("meta")
    assert delivery.status == "held"
    assert "access token cannot be read with this server's FIELD_ENCRYPTION_KEY" in (
        delivery.held_reason
    )
    assert meta.received == 0
    page = admin_client.get(f"/admin/automations/rule/{meta_rule.pk}/change/").content.decode()
    assert "Saved, but it cannot be read with this server's FIELD_ENCRYPTION_KEY" in page
    action = meta_rule.actions.get()
    action.save()  # saved as it is: the old key, put back, opens it again
    settings.FIELD_ENCRYPTION_KEYS = saved_with
    assert Action.objects.get(pk=action.pk).meta_access_token == TOKEN
