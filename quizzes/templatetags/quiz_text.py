"""``{{ question|tr:"text" }}``: a quiz's own text in the visitor's language (quizzes.i18n)."""

from django import template

register = template.Library()


@register.filter
def tr(item, field: str) -> str:
    reader = getattr(item, "tr", None)
    return reader(field) if callable(reader) else getattr(item, field, "")
