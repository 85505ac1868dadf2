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
    }


def task_body(delivery: Delivery, marker: str) -> str:
    lead = delivery.lead
    lines = [
        f"{lead.name or lead.email} ({lead.email}) scored {lead.score_percent} % "
        f"({lead.score_points} of {lead.score_max} points): {lead.tier_name}.",
        "",
        "Categories: " + ", ".join(f"{c['name']} {c['percent']} %" for c in lead.category_scores),
        "",
        "Answers:",
        *(f"- {a['question']}: {a['answer'] or 'skipped'}" for a in lead.answers),
        "",
        marker,
    ]
    return "\n".join(lines)[:60000]
