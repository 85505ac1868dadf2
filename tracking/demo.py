"""The demo's custom events: what a CRM or a booking tool sends after the lead."""

from __future__ import annotations

from django.db import transaction

from tracking import plan
from tracking.models import CustomEvent

# name, description, timeline sentence, funnel step; no properties, so none is required.
DEMO_EVENTS = (
    (
        "demo_booked",
        "The lead booked a demo (from the booking tool or the CRM).",
        "Booked a demo",
        1,
    ),
    ("deal_won", "The lead's deal was won (from the CRM).", "Won the deal", 2),
)


def demo_specs() -> tuple[plan.EventSpec, ...]:
    """The demo's declarations as the plan reads them (docs/tracking-plan.md shows these)."""
    return tuple(
        plan.custom_spec(name, text, [], timeline_text=sentence, funnel_position=step)
        for name, text, sentence, step in DEMO_EVENTS
    )


@transaction.atomic
def demo_custom_events_create() -> list[CustomEvent]:
    """Declare the demo's custom events once; returns those it declared."""
    created = []
    for name, text, sentence, step in DEMO_EVENTS:
        if CustomEvent.objects.filter(name=name).exists():
            continue
        taken = CustomEvent.objects.filter(funnel_position=step).exists()
        created.append(
            CustomEvent.objects.create(
                name=name,
                description=text,
                timeline_text=sentence,
                funnel_position=None if taken else step,
            )
        )
    return created
