"""Durations in the words people use: “45 s”, “6 min”, “2 h 5 min”, “3 days”."""

from __future__ import annotations

from datetime import timedelta

MINUTE, HOUR, DAY = 60, 3600, 86400


def _round(value: float) -> int:
    """Half up, as people round (Python's round() makes 2.5 minutes “2 min”)."""
    return int(value + 0.5)


def duration_words(value: timedelta | float | int | None) -> str:
    """`value` (a timedelta, or seconds) rounded to what a reader needs; "" for None.

    Under a minute in seconds, under an hour in minutes, under a day in hours and
    minutes, then days (with the hours while they still matter, under three days).
    """
    if value is None:
        return ""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    seconds = _round(max(0.0, seconds))
    if seconds < MINUTE:
        return f"{seconds} s"
    minutes = _round(seconds / MINUTE)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    hours = _round(seconds / HOUR)
    days, hours = divmod(hours, 24)
    if days < 3 and hours:
        return f"{days} day{'s' if days > 1 else ''} {hours} h"
    days = _round(seconds / DAY)
    return f"{days} day{'s' if days > 1 else ''}"
