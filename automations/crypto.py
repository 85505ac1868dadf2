"""Secrets kept in the database, encrypted with Fernet: the HubSpot token, and the
actions' Meta access tokens, GA4 API secrets and webhook signing secrets (EncryptedField).

The keys come from settings.FIELD_ENCRYPTION_KEYS: the first encrypts, every one
decrypts (MultiFernet), so a key is rotated by putting a new one first, running
`manage.py rotate_field_encryption`, then dropping the old one. With no key set, one is
derived from SECRET_KEY: changing SECRET_KEY then makes stored tokens unreadable, and
the Connections page asks for the token again.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

__all__ = ["EncryptedField", "InvalidToken", "Unreadable", "decrypt", "encrypt", "reencrypt"]


def _key(raw: str) -> Fernet:
    try:
        return Fernet(raw.encode())
    except ValueError:
        # Any passphrase: stretched to the 32 url-safe base64 bytes Fernet wants.
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(raw.encode()).digest()))


def _fernet() -> MultiFernet:
    keys = list(settings.FIELD_ENCRYPTION_KEYS) or [
        "quizfunnel-field-encryption:" + settings.SECRET_KEY
    ]
    return MultiFernet([_key(k) for k in keys])


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(cipher: str) -> str:
    """The plain text; InvalidToken when no configured key opens it."""
    return _fernet().decrypt(cipher.encode()).decode()


def reencrypt(cipher: str) -> str:
    """The same secret under the first (newest) key."""
    return _fernet().rotate(cipher.encode()).decode()


def is_encrypted(value: str) -> bool:
    """Whether `value` is a token one of the configured keys opens."""
    try:
        decrypt(value)
    except InvalidToken:
        return False
    return True


class Unreadable(str):
    """A stored secret that no configured key opens (FIELD_ENCRYPTION_KEY changed): reads
    as empty, and is written back as it was stored, so that restoring the old key gets
    it back."""

    cipher: str

    def __new__(cls, cipher: str) -> Unreadable:
        secret = super().__new__(cls, "")
        secret.cipher = cipher
        return secret


class EncryptedField(models.TextField):
    """A secret, plain text in Python, encrypted in the database under the first key.

    Each save encrypts anew (a fresh IV), so the column cannot be filtered on but for
    emptiness: an empty value is stored empty."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        try:
            return decrypt(value)
        except InvalidToken:
            return Unreadable(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if isinstance(value, Unreadable):
            return value.cipher
        return encrypt(value) if value else value
