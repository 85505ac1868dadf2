"""JSON from outside, parsed so that it can neither crash the parser nor the database.

`json.loads` recurses once per nesting level (thousands of “[” are a RecursionError,
which is not a ValueError and escapes the usual `except ValueError`), turns 1e400 into
infinity and accepts NaN, which PostgreSQL's jsonb refuses. `loads` refuses all three
with a ValueError whose message a person can read.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is too large")
    return value


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text` (strings skipped), without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parsed JSON; ValueError if it is invalid, nested deeper than `max_depth`, or not finite."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if nesting_depth(text) > max_depth:
        raise ValueError(f"it is nested more than {max_depth} levels deep")
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:  # only if max_depth was set above what the parser can take
        raise ValueError("it is nested too deeply") from None
