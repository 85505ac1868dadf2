"""`{% run_csrf_input %}`: the signed run token of core.csrf, beside `{% csrf_token %}`."""

from django import template
from django.utils.html import format_html

from core.csrf import RUN_TOKEN_FIELD, run_scope, run_token

register = template.Library()


@register.simple_tag(takes_context=True)
def run_csrf_input(context) -> str:
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    return format_html(
        '<input type="hidden" name="{}" value="{}">',
        RUN_TOKEN_FIELD,
        run_token(run_scope(match.kwargs)),
    )
