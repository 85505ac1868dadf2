"""Render the server's event ids into the page, so browser events about the same
action enrich them instead of counting twice."""

import json

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from tracking.services import event_id_for

# As django.utils.html.json_script escapes: no "</script>" can close the element.
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


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


@register.simple_tag(takes_context=True)
def embed_events(context) -> str:
    """In embed.js's frame, what the embedding page is told about this card (frame.js
    posts it to the parent only): each with its server event id, so a pixel on that page
    can send the same id and be deduplicated against the server-side conversion."""
    attempt = context.get("attempt")
    if attempt is None or not getattr(attempt, "embed_origin", ""):
        return ""
    quiz = attempt.quiz.slug

    def event(kind: str, name: str, **detail) -> dict:
        return {
            "type": f"quizfunnel:{kind}",
            "quiz": quiz,
            "event_id": str(event_id_for(name, attempt=attempt)),
            **detail,
        }

    events = [event("started", "quiz_started")]
    if attempt.completed_at or context.get("lead") is not None:
        events.append(event("completed", "quiz_completed"))
    lead = context.get("lead")
    if lead is not None and not lead.is_spam:
        tier = {"score": lead.score_points, "percent": lead.score_percent, "tier": lead.tier_name}
        events.append(event("lead", "lead_submitted", **tier))
        events.append(event("result", "result_viewed", **tier))
    return format_html(
        '<script type="application/json" data-quizfunnel-events>{}</script>',
        mark_safe(json.dumps(events).translate(_JSON_SCRIPT_ESCAPES)),
    )
