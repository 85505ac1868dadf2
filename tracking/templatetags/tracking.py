"""Render the server's event ids into the page, so browser events about the same
action enrich them instead of counting twice."""

from django import template
from django.utils.html import format_html

from tracking.services import event_id_for

register = template.Library()


@register.simple_tag(takes_context=True)
def tracking_attrs(context, name: str) -> str:
    request = context.get("request")
    tracking = getattr(request, "tracking", None)
    event_id = tracking.event_ids.get(name) if tracking is not None else None
    if not event_id:
        return ""
    return format_html(' data-track-event="{}" data-track-name="{}"', event_id, name)


@register.simple_tag
def lead_event_attrs(lead) -> str:
    """The lead_submitted event's id, for a browser pixel (Meta's eventID) to send with
    its own Lead event, so that Meta keeps one of it and the server's conversion.

    Not for previews or spam: those are never reported as conversions.
    """
    if lead is None or lead.is_preview or lead.is_spam:
        return ""
    event_id = event_id_for("lead_submitted", attempt=lead.attempt)
    return format_html(' data-lead-event-id="{}"', event_id)
