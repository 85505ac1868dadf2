import pytest
from django.test import Client

from tests.api.factories import make_key


class ApiClient:
    """A test client that sends `Authorization: Bearer KEY` on every request."""

    def __init__(self, raw: str | None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw}"} if raw else {}

    def get(self, url, data=None, **headers):
        return self.client.get(url, data, headers={**self.headers, **headers})

    def patch(self, url, body, **headers):
        return self.client.patch(
            url, body, content_type="application/json", headers={**self.headers, **headers}
        )

    def post(self, url, body=None, **headers):
        return self.client.post(
            url, body or {}, content_type="application/json", headers={**self.headers, **headers}
        )


@pytest.fixture
def api(db):
    """A client with a key of every scope."""
    _, raw = make_key(name="Everything")
    return ApiClient(raw)


@pytest.fixture
def api_as():
    """api_as("leads:read") is a client whose key has only that scope (None: no key)."""

    def make(*scopes: str):
        if not scopes:
            return ApiClient(None)
        _, raw = make_key(name="Scoped", scopes=list(scopes))
        return ApiClient(raw)

    return make
