"""Normalise text from outside before anything checks or stores it.

PostgreSQL refuses NUL bytes and unpaired surrogates in text; some characters
grow when lowercased (“İ” becomes two code points). So: normalise first, then
check lengths — every field, header, cookie and URL parameter goes through here.
"""

from __future__ import annotations

import re

_NUL_AND_SURROGATES = re.compile("[\x00\ud800-\udfff]")


def clean_text(value: str) -> str:
    """`value` without NUL bytes and unpaired surrogates (which no database stores)."""
    return _NUL_AND_SURROGATES.sub("", value)


def clean_lower(value: str) -> str:
    """Cleaned and lowercased: measure the length of *this*, not of the raw input."""
    return clean_text(value).lower()


def clip(value: str, limit: int) -> str:
    """Cleaned, stripped and cut to `limit` characters (for values that may be shortened)."""
    return clean_text(value).strip()[:limit]


def shorten(value: str, limit: int) -> str:
    """Like `clip`, but a cut value ends with “…” so that a reader sees it was cut."""
    value = clean_text(value).strip()
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"
