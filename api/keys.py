"""Making, checking and revoking API keys.

A raw key is `qf_<prefix><secret>`: 8 characters of prefix (kept in clear to find the
row and to show in admin) and 32 random bytes of secret. Only the SHA-256 of the whole
key is stored; a key of that much entropy needs no slow hash, and the comparison is in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from api.models import ApiKey, Scope
from core.text import clean_text

KEY_START = "qf_"
PREFIX_LENGTH = 8
# A used key's last_used_at is written at most this often (one UPDATE a minute, not a
# write on every request).
LAST_USED_RESOLUTION = timedelta(minutes=1)
_MAX_KEY_LENGTH = 200
SCOPES = [value for value, _ in Scope.choices]


class KeyRejected(Exception):
    """The request's key does not allow it: `status` 401 (no valid key) or 403 (scope)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _check_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValueError(f"Unknown scope {', '.join(unknown)}: choose from {', '.join(SCOPES)}.")
    if not scopes:
        raise ValueError(f"Give the key at least one scope: {', '.join(SCOPES)}.")
    return [scope for scope in SCOPES if scope in scopes]  # one order, no repeats


def key_create(*, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """A new key and its raw value, which is never available again."""
    name = clean_text(name).strip()
    if not name:
        raise ValueError("Give the key a name (who or what uses it).")
    scopes = _check_scopes(scopes)
    while True:
        prefix = secrets.token_hex(PREFIX_LENGTH // 2)
        if not ApiKey.objects.filter(prefix=prefix).exists():
            break
    raw = f"{KEY_START}{prefix}{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name[:100], prefix=prefix, hashed_key=_digest(raw), scopes=scopes
    )
    return key, raw


def key_authenticate(raw: str, *, scope: str | None) -> ApiKey:
    """The active key `raw` names, if it has `scope` (None: any valid key will do).

    Raises KeyRejected: 401 for a missing, malformed, unknown or revoked key; 403 for a
    valid key without the scope.
    """
    raw = (raw or "").strip()
    if not raw:
        raise KeyRejected(401, "No API key: send it as 'Authorization: Bearer KEY'.")
    if (
        len(raw) > _MAX_KEY_LENGTH
        or not raw.isascii()
        or not raw.startswith(KEY_START)
        or len(raw) <= len(KEY_START) + PREFIX_LENGTH
    ):
        raise KeyRejected(
            401,
            "This is not a Quizfunnel API key: a key is qf_ and 51 more characters, "
            "as shown once when it was made.",
        )
    prefix = raw[len(KEY_START) : len(KEY_START) + PREFIX_LENGTH]
    key = ApiKey.objects.filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.hashed_key, _digest(raw)):
        raise KeyRejected(401, "Unknown API key.")
    if key.revoked_at is not None:
        raise KeyRejected(401, f"This API key was revoked on {key.revoked_at:%Y-%m-%d}.")
    if scope is not None:
        key_check_scope(key, scope)
    _touch(key)
    return key


def key_check_scope(key: ApiKey, scope: str) -> None:
    """KeyRejected (403) unless `key` has `scope`."""
    if not key.has_scope(scope):
        raise KeyRejected(
            403,
            f"This API key lacks the scope '{scope}' (it has: {', '.join(key.scopes)}).",
        )


def _touch(key: ApiKey) -> None:
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        # The UPDATE's condition makes concurrent requests write it once.
        stale = now - LAST_USED_RESOLUTION
        ApiKey.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=key.pk
        ).update(last_used_at=now)
        key.last_used_at = now


@transaction.atomic
def key_revoke(*, key: ApiKey) -> ApiKey:
    """Stops the key at once; a revoked key stays listed with its revocation time."""
    ApiKey.objects.filter(pk=key.pk, revoked_at=None).update(revoked_at=timezone.now())
    key.refresh_from_db()
    return key
