"""Redacting an erased person out of stored data, keeping its shape.

Every app that stores free text or JSON about a visitor uses this when a
person is erased (automations.privacy), so what fitted a schema before (the
tracking plan's property types) still fits it after.
"""

from __future__ import annotations

from typing import Any

# What an erased person's words become: a string every string field accepts.
REDACTED = "[erased]"


def scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    """`value` with every string that contains one of `secrets` (any case) replaced by REDACTED.

    Types are kept (a string stays a string, a list a list, a key stays a key).
    """
    if isinstance(value, str):
        lowered = value.lower()
        return REDACTED if any(s and s.lower() in lowered for s in secrets) else value
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: scrub(v, secrets) for k, v in value.items()}
    return value
