from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from api.keys import KeyRejected, key_authenticate, key_create, key_revoke
from api.models import ApiKey
from tests.api.factories import make_key

pytestmark = pytest.mark.django_db


def test_a_key_is_stored_hashed_and_its_prefix_shown():
    key, raw = key_create(name="Warehouse", scopes=["leads:read"])
    assert raw.startswith("qf_" + key.prefix)
    assert len(raw) > 40
    stored = ApiKey.objects.get()
    assert raw not in (stored.hashed_key, stored.prefix, stored.name)
    assert stored.hashed_key != raw and len(stored.hashed_key) == 64
    assert str(stored) == f"Warehouse ({key.prefix}…)"


def test_the_right_key_with_its_scope_passes_and_records_its_use():
    key, raw = make_key(scopes=["leads:read"])
    assert key.last_used_at is None
    assert key_authenticate(raw, scope="leads:read") == key
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_last_used_is_written_at_most_once_a_minute():
    _, raw = make_key()
    key_authenticate(raw, scope="leads:read")
    first = ApiKey.objects.get().last_used_at
    key_authenticate(raw, scope="leads:read")
    assert ApiKey.objects.get().last_used_at == first
    ApiKey.objects.update(last_used_at=timezone.now() - timedelta(minutes=2))
    key_authenticate(raw, scope="leads:read")
    assert ApiKey.objects.get().last_used_at > first - timedelta(seconds=1)
    assert ApiKey.objects.get().last_used_at > timezone.now() - timedelta(seconds=30)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "nonsense",
        "qf_",
        "qf_12345678",
        "qf_1234567890abcdef",
        "qf_\x00\ud800" * 3,
        "qf_" + "a" * 5000,
        "qfé_ünïcode",
    ],
)
def test_a_missing_or_unknown_key_is_401(raw):
    make_key()
    with pytest.raises(KeyRejected) as rejected:
        key_authenticate(raw, scope="leads:read")
    assert rejected.value.status == 401
    assert rejected.value.reason


def test_a_key_with_the_right_prefix_and_a_wrong_secret_is_401():
    _, raw = make_key()
    with pytest.raises(KeyRejected) as rejected:
        key_authenticate(raw[:-2] + ("AA" if raw[-2:] != "AA" else "BB"), scope="leads:read")
    assert rejected.value.status == 401
    assert "Unknown" in rejected.value.reason


def test_a_revoked_key_is_401_and_says_so():
    key, raw = make_key()
    key_revoke(key=key)
    assert key.revoked_at is not None
    with pytest.raises(KeyRejected) as rejected:
        key_authenticate(raw, scope="leads:read")
    assert rejected.value.status == 401
    assert "revoked" in rejected.value.reason


def test_a_key_outside_its_scope_is_403_naming_the_scope():
    _, raw = make_key(scopes=["events:write"])
    with pytest.raises(KeyRejected) as rejected:
        key_authenticate(raw, scope="leads:read")
    assert rejected.value.status == 403
    assert "leads:read" in rejected.value.reason


def test_unknown_scopes_and_empty_names_are_refused():
    with pytest.raises(ValueError, match="leads:delete"):
        key_create(name="x", scopes=["leads:delete"])
    with pytest.raises(ValueError, match="name"):
        key_create(name="  ", scopes=["leads:read"])
    with pytest.raises(ValueError, match="at least one"):
        key_create(name="x", scopes=[])
    assert not ApiKey.objects.exists()


def test_create_api_key_prints_the_key_alone_on_the_last_line(capsys):
    call_command("create_api_key", "Zapier", "--scope", "leads:read,events:write")
    raw = capsys.readouterr().out.strip().splitlines()[-1]
    key = key_authenticate(raw, scope="events:write")
    assert key.name == "Zapier"
    assert key.scopes == ["leads:read", "events:write"]
    with pytest.raises(KeyRejected):
        key_authenticate(raw, scope="quizzes:read")


def test_create_api_key_refuses_an_unknown_scope():
    with pytest.raises(CommandError, match="Unknown scope leads:wrte"):
        call_command("create_api_key", "Zapier", "--scope", "leads:wrte")
