"""``{% load quiz_format %}{{ lead.score_percent|percent }}``: numbers in the visitor's
locale (quizzes.numbers)."""

from django import template

from quizzes.numbers import format_number, format_percent

register = template.Library()


@register.filter
def percent(value, decimals=None) -> str:
    try:
        return format_percent(value, int(decimals) if decimals not in (None, "") else None)
    except (TypeError, ValueError, ArithmeticError):
        return ""


@register.filter
def number(value, decimals=None) -> str:
    try:
        return format_number(value, int(decimals) if decimals not in (None, "") else None)
    except (TypeError, ValueError, ArithmeticError):
        return ""


@register.filter
def css_string(value) -> str:
    """Text for inside a CSS string (``content: "…"``): every character but letters, digits
    and spaces as a CSS escape (``\\00002d``). escapejs writes JavaScript's ``\\u002D``,
    which CSS would print as it stands."""
    return "".join(
        c if c.isascii() and (c.isalnum() or c == " ") else f"\\{ord(c):06x}" for c in str(value)
    )
