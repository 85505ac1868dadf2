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
