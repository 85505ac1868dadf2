import re

import pytest

from api.keys import key_authenticate
from api.models import ApiKey
from tests.api.factories import make_key

pytestmark = pytest.mark.django_db


def test_the_key_is_shown_once_after_saving_and_never_again(admin_client):
    page = admin_client.get("/admin/api/apikey/add/")
    assert page.status_code == 200
    assert 'type="checkbox" name="scopes" value="leads:read"' in page.text
    response = admin_client.post(
        "/admin/api/apikey/add/", {"name": "Warehouse", "scopes": ["leads:read", "events:read"]}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw = re.search(r'value="(qf_[^"]+)"', response.text).group(1)
    key = key_authenticate(raw, scope="events:read")
    assert key.name == "Warehouse" and key.scopes == ["leads:read", "events:read"]
    assert ApiKey.objects.count() == 1
    for url in ("/admin/api/apikey/", f"/admin/api/apikey/{key.pk}/change/"):
        page = admin_client.get(url)
        assert page.status_code == 200
        assert raw not in page.text
        assert key.prefix in page.text


def test_a_key_needs_a_scope(admin_client):
    response = admin_client.post("/admin/api/apikey/add/", {"name": "Warehouse"})
    assert response.status_code == 200
    assert "This field is required" in response.text
    assert not ApiKey.objects.exists()


def test_the_list_shows_last_use_and_revoke_stops_the_key(admin_client):
    key, raw = make_key(name="Zapier")
    key_authenticate(raw, scope="leads:read")
    page = admin_client.get("/admin/api/apikey/")
    assert "Last used at" in page.text and "Active" in page.text
    response = admin_client.post(
        "/admin/api/apikey/",
        {"action": "revoke", "_selected_action": [key.pk]},
        follow=True,
    )
    assert "1 key(s) revoked" in response.text
    assert "Revoked" in response.text
    key.refresh_from_db()
    assert key.revoked_at is not None
