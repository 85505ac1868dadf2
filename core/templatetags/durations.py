from django import template

from core.durations import duration_words

register = template.Library()


@register.filter
def duration(value) -> str:
    """`{{ lead.first_response_time|duration }}` → “6 min”."""
    return duration_words(value)
