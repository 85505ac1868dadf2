"""The OpenAPI schema and its reference pages: public, served from the installed package."""

import base64
import re

import pytest
import schemathesis
import yaml
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db


def basic(raw: str) -> str:
    return "Basic " + base64.b64encode(f"{raw}:".encode()).decode()


def test_the_schema_describes_the_api_with_bearer_keys(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["ApiKey"]["description"],
    }
    paths = schema["paths"]
    assert {
        "/api/v1/quizzes/",
        "/api/v1/quizzes/{id}/",
        "/api/v1/leads/",
        "/api/v1/leads/{id}/",
        "/api/v1/events/",
        "/api/v1/events/{id}/",
        "/api/v1/deliveries/",
        "/api/v1/deliveries/{id}/",
        "/api/v1/deliveries/{id}/replay/",
    } <= set(paths)
    assert "/api/schema/" not in paths
    leads = paths["/api/v1/leads/"]["get"]
    assert {p["name"] for p in leads["parameters"]} >= {"q", "tier", "status", "cursor", "limit"}
    assert leads["security"] == [{"ApiKey": []}]
    patch = paths["/api/v1/leads/{id}/"]["patch"]
    assert list(patch["requestBody"]["content"]) == ["application/json"]
    assert set(patch["responses"]) == {"200", "400", "401", "403", "404", "415"}
    events = {p["name"] for p in paths["/api/v1/events/"]["get"]["parameters"]}
    assert events >= {"name", "quiz", "lead", "since", "occurred_after", "occurred_before"}
    lead = schema["components"]["schemas"]["Lead"]["properties"]
    assert {"answers", "score", "attribution", "status_history", "owner_history"} <= set(lead)


def test_the_reference_loads_its_scripts_from_this_server_not_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.text
    assert "/api/schema/" in html
    external = re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", html)
    assert external == []
    scripts = re.findall(r"""src=["']/static/([^"']+)""", html)
    assert scripts
    for path in scripts:
        assert finders.find(path), path  # shipped by drf-spectacular-sidecar


def test_the_schema_is_public_but_the_data_is_not():
    anonymous = Client()
    assert anonymous.get("/api/schema/").status_code == 200
    assert anonymous.get("/api/v1/leads/").status_code == 401


def test_the_segment_endpoints_are_in_the_schema_with_the_write_key(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    paths = schema["paths"]
    segment = {"/v1/track", "/v1/identify", "/v1/page", "/v1/screen", "/v1/batch", "/v1/import"}
    assert segment <= set(paths)
    assert schema["components"]["securitySchemes"]["SegmentWriteKey"]["scheme"] == "basic"
    track = paths["/v1/track"]["post"]
    assert {"SegmentWriteKey": []} in track["security"]
    assert set(track["responses"]) == {"200", "400", "401", "403", "413", "415"}
    body = track["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    shape = schema["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert {"event", "messageId"} <= set(shape["required"])
    batch = paths["/v1/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "batch" in schema["components"]["schemas"][batch["$ref"].rsplit("/", 1)[1]]["required"]


def test_segment_answers_are_what_the_schema_says():
    """A batch taken in part, and a call without a key, checked against the schema."""
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    from tests.api.factories import make_key
    from tracking.models import CustomEvent

    CustomEvent.objects.create(name="demo_booked", description="A demo was booked.")
    _, raw = make_key(name="CRM", scopes=["events:write"])
    # Served in this process, in the test's transaction: as Django's test client does, the
    # requests must not close the database connection when they finish.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        _answers_checked(
            raw, schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
        )
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


def _answers_checked(raw, schema):
    operation = schema["/v1/batch"]["POST"]
    calls = [
        {"type": "track", "event": "demo_booked", "userId": "a@example.com", "messageId": "m1"},
        {"type": "track", "event": "no_such_event", "userId": "a@example.com", "messageId": "m2"},
    ]
    taken = operation.Case(body={"batch": calls}, headers={"Authorization": basic(raw)})
    response = taken.call()
    assert response.status_code == 200
    assert response.json()["results"][1]["status"] == "rejected"
    taken.validate_response(response)
    refused = operation.Case(body={"batch": calls})
    response = refused.call()
    assert response.status_code == 401
    refused.validate_response(response)
