"""Deliveries of events that leave (tracking.retention, through tracking's events_dropping
signal): finished ones go with them; one not finished keeps the month."""

from __future__ import annotations

from django.db.models import Count

from automations.delivery import FINISHED
from automations.models import Delivery, DeliveryAttempt


def on_events_dropping(sender, *, events, delete: bool, **kwargs) -> list[str]:
    deliveries = Delivery.objects.filter(event__in=events.values("id"))
    waiting = (
        deliveries.exclude(status__in=FINISHED)
        .values("status")
        .annotate(n=Count("id"))
        .order_by("status")
    )
    if waiting:
        statuses = ", ".join(
            f"{row['n']:,} {Delivery.Status(row['status']).label.lower()}" for row in waiting
        )
        return [
            f"deliveries of its events are not finished ({statuses}): send, resume or "
            "replay them (Automations → Deliveries) first"
        ]
    if delete:
        DeliveryAttempt.objects.filter(delivery__in=deliveries.values("id")).delete()
        # One statement for them all: a delivery waits for the one before it (`after`,
        # PROTECT), which goes in the same DELETE.
        deliveries._raw_delete(deliveries.db)
    return []
