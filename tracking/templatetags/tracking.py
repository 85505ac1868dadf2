"""Render the server's event ids into the page, so browser events about the same
action enrich them instead of counting twice."""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def tracking_attrs(context, name: str) -> str:
    request = context.get("request")
    tracking = getattr(request, "tracking", None)
    event_id = tracking.event_ids.get(name) if tracking is not None else None
    if not event_id:
        return ""
    return format_html(' data-track-event="{}" data-track-name="{}"', event_id, name)
