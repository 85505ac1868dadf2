from django import template

from core import access

register = template.Library()


@register.filter
def in_group(user, names: str) -> bool:
    """`{% if user|in_group:"Sales" %}` (or "Sales,Marketers"): the check the views make."""
    return access.in_group(user, *(name.strip() for name in names.split(",")))
