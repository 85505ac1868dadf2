"""Secrets kept in the database (a HubSpot token), encrypted with Fernet.

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

__all__ = ["InvalidToken", "decrypt", "encrypt", "reencrypt"]


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
