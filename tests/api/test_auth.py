"""Every request without a valid key, or outside its scope, is refused in JSON, with why."""

import pytest

from api.keys import key_revoke
from tests.api.conftest import ApiClient
from tests.api.factories import make_key

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/api/v1/quizzes/", "quizzes:read"),
    ("get", "/api/v1/leads/", "leads:read"),
    ("get", "/api/v1/events/", "events:read"),
    ("get", "/api/v1/deliveries/", "leads:read"),
]


@pytest.mark.parametrize(("method", "url", "scope"), ENDPOINTS)
def test_no_key_is_401_in_json_with_the_reason(api_as, method, url, scope):
    response = getattr(api_as(), method)(url)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert "Bearer" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer qf_nope",
        "Bearer ",
        "Token qf_abc",
        "Basic dXNlcjpwYXNz",
        "Bearer qf_\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9xxxxxxxx",
        "Bearer " + "x" * 10000,
    ],
)
def test_a_bad_or_unknown_key_is_401_in_json(client, db, header):
    response = client.get("/api/v1/leads/", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["detail"]


def test_a_revoked_key_is_401_and_says_it_was_revoked(db):
    key, raw = make_key()
    api = ApiClient(raw)
    assert api.get("/api/v1/leads/").status_code == 200
    key_revoke(key=key)
    response = api.get("/api/v1/leads/")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


@pytest.mark.parametrize(("method", "url", "scope"), ENDPOINTS)
def test_a_key_outside_its_scope_is_403_naming_the_scope(api_as, method, url, scope):
    others = [s for s in ("leads:read", "events:read", "quizzes:read") if s != scope]
    response = getattr(api_as(*others), method)(url)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert scope in response.json()["detail"]
    assert getattr(api_as(scope), method)(url).status_code == 200


def test_reading_leads_does_not_allow_changing_them(api_as, lead):
    reader = api_as("leads:read")
    response = reader.patch(f"/api/v1/leads/{lead.pk}/", {"status": "won"})
    assert response.status_code == 403
    assert "leads:write" in response.json()["detail"]
    lead.refresh_from_db()
    assert lead.status == "new"


def test_a_logged_in_staff_session_is_not_an_api_key(admin_client):
    response = admin_client.get("/api/v1/leads/")
    assert response.status_code == 401


def test_an_unknown_api_address_is_a_json_404(api):
    response = api.get("/api/v2/leads/")
    assert response.status_code == 404
    assert "/api/docs/" in response.json()["detail"]
