"""The OpenAPI schema and its reference pages: public, served from the installed package."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db


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
