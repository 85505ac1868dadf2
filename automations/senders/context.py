"""What a message about a lead says: the placeholders of a task subject, and the body."""

from __future__ import annotations

from automations.models import Delivery


def message_context(delivery: Delivery) -> dict:
    """A value for each of Action.PLACEHOLDERS."""
    lead = delivery.lead
    props = delivery.event.properties
    return {
        "name": (lead.name if lead else "") or (lead.email if lead else "the visitor"),
        "email": lead.email if lead else "",
        "company": lead.company if lead else "",
        "quiz": delivery.event.quiz.title,
        "tier": props.get("tier", lead.tier_name if lead else ""),
        "percent": props.get("percent", lead.score_percent if lead else ""),
        "score": props.get("score", lead.score_points if lead else ""),
        # The quiz's hidden fields (plan, partner_id …) the run came with.
        "hidden_fields": hidden_fields_of(delivery),
    }


def hidden_fields_of(delivery: Delivery) -> dict:
    lead = delivery.lead
    if lead is not None and lead.hidden_fields:
        return dict(lead.hidden_fields)
    hidden = delivery.event.properties.get("hidden_fields")
    return dict(hidden) if isinstance(hidden, dict) else {}


def task_body(delivery: Delivery, marker: str) -> str:
    lead = delivery.lead
    lines = [
        f"{lead.name or lead.email} ({lead.email}) scored {lead.score_percent} % "
        f"({lead.score_points} of {lead.score_max} points): {lead.tier_name}.",
        "",
        "Categories: " + ", ".join(f"{c['name']} {c['percent']} %" for c in lead.category_scores),
        "",
        *(
            ["From the link: " + ", ".join(f"{k} = {v}" for k, v in sorted(hidden.items())), ""]
            if (hidden := hidden_fields_of(delivery))
            else []
        ),
        "Answers:",
        *(f"- {a['question']}: {a['answer'] or 'skipped'}" for a in lead.answers),
        "",
        marker,
    ]
    return "\n".join(lines)[:60000]
