"""Client events from the browser: validated one by one, stored once, never doubled.

Every client event names a server event (`server_event_id`) of the same visitor:
- with the same name, it enriches that event (time on screen, read depth);
- with the name of a client event of the plan (cta_clicked), it is recorded as
  an event of its own, tied to the server event's quiz, attempt and lead.
Anything else is rejected with the reason, and the payload kept.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tracking import plan
from tracking.models import ConversionEvent, EventEnrichment, RejectedEvent
from tracking.signals import event_recorded

FUTURE_LIMIT = timedelta(minutes=5)
PAST_LIMIT = timedelta(days=7)


@dataclass(frozen=True)
class Outcome:
    id: str | None
    status: str  # accepted, duplicate or rejected
    reason: str = ""

    def as_dict(self) -> dict:
        result = {"id": self.id, "status": self.status}
        if self.reason:
            result["reason"] = self.reason
        return result


class Rejected(Exception):
    pass


def _uuid(value, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise Rejected(f"“{field}” must be a UUID") from None


def _time(value, now: datetime) -> datetime:
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None or moment.tzinfo is None:
        raise Rejected("“time” must be an ISO 8601 date and time with a time zone")
    if moment > now + FUTURE_LIMIT:
        raise Rejected("“time” is more than 5 minutes in the future")
    if moment < now - PAST_LIMIT:
        raise Rejected("“time” is more than 7 days old")
    return moment


def _parse(item, now: datetime) -> tuple[uuid.UUID, str, datetime, uuid.UUID, dict]:
    if not isinstance(item, dict):
        raise Rejected("an event must be a JSON object")
    unknown = set(item) - {"id", "name", "time", "server_event_id", "properties"}
    if unknown:
        raise Rejected(f"unknown field(s): {', '.join(sorted(unknown))}")
    client_id = _uuid(item.get("id"), "id")
    name = item.get("name")
    if not isinstance(name, str):
        raise Rejected("“name” is required")
    try:
        plan.spec_for(name)
    except plan.PlanError as error:
        raise Rejected(str(error)) from None
    moment = _time(item.get("time"), now)
    server_event_id = _uuid(item.get("server_event_id"), "server_event_id")
    properties = item.get("properties", {})
    return client_id, name, moment, server_event_id, properties


def client_events_ingest(
    *, visitor_id: str, items: list, device: str, is_bot: bool
) -> list[Outcome]:
    """Store a batch of client events; one outcome per event, in order."""
    now = timezone.now()
    parsed: list[tuple | Outcome] = []
    for item in items:
        try:
            parsed.append(_parse(item, now))
        except Rejected as error:
            raw_id = item.get("id") if isinstance(item, dict) else None
            parsed.append(
                Outcome(str(raw_id) if raw_id is not None else None, "rejected", str(error))
            )

    good = [p for p in parsed if isinstance(p, tuple)]
    referenced = {
        e.event_id: e
        for e in ConversionEvent.objects.filter(
            event_id__in={p[3] for p in good}, source=ConversionEvent.Source.SERVER
        )
    }
    client_ids = {p[0] for p in good}
    seen = set(
        EventEnrichment.objects.filter(client_event_id__in=client_ids).values_list(
            "client_event_id", flat=True
        )
    ) | set(
        ConversionEvent.objects.filter(event_id__in=client_ids).values_list("event_id", flat=True)
    )

    outcomes: list[Outcome] = []
    enrichments: list[EventEnrichment] = []
    events: list[ConversionEvent] = []
    rejected: list[RejectedEvent] = []
    for item, entry in zip(items, parsed, strict=True):
        if isinstance(entry, Outcome):
            outcomes.append(entry)
            rejected.append(RejectedEvent(visitor_id=visitor_id, reason=entry.reason, payload=item))
            continue
        client_id, name, moment, server_event_id, properties = entry
        try:
            if client_id in seen:
                outcomes.append(Outcome(str(client_id), "duplicate"))
                continue
            ref = referenced.get(server_event_id)
            if ref is None or ref.visitor_id != visitor_id:
                raise Rejected("“server_event_id” is not an event of this visitor")
            if name == ref.name:
                props = plan.validate_enrichment(name, properties)
                enrichments.append(
                    EventEnrichment(
                        client_event_id=client_id, event=ref, properties=props, occurred_at=moment
                    )
                )
            elif plan.PLAN[name].client_event:
                props = plan.validate(name, properties)
                events.append(
                    ConversionEvent(
                        event_id=client_id,
                        name=name,
                        quiz_id=ref.quiz_id,
                        attempt_id=ref.attempt_id,
                        lead_id=ref.lead_id,
                        visitor_id=visitor_id,
                        occurred_at=moment,
                        source=ConversionEvent.Source.CLIENT,
                        properties=props,
                        first_touch=ref.first_touch,
                        last_touch=ref.last_touch,
                        ft_source=ref.ft_source,
                        ft_medium=ref.ft_medium,
                        ft_campaign=ref.ft_campaign,
                        ft_referrer=ref.ft_referrer,
                        lt_source=ref.lt_source,
                        device=device,
                        is_bot=is_bot or ref.is_bot,
                        is_preview=ref.is_preview,
                    )
                )
            else:
                raise Rejected(
                    f"“{name}” is recorded by the server; the browser may only add to it "
                    "with the same name and the server's event_id"
                )
        except (Rejected, plan.PlanError) as error:
            outcomes.append(Outcome(str(client_id), "rejected", str(error)))
            rejected.append(RejectedEvent(visitor_id=visitor_id, reason=str(error), payload=item))
            continue
        seen.add(client_id)
        outcomes.append(Outcome(str(client_id), "accepted"))

    with transaction.atomic():
        # ignore_conflicts: a concurrent copy of the same batch was stored first.
        EventEnrichment.objects.bulk_create(enrichments, ignore_conflicts=True)
        created = ConversionEvent.objects.bulk_create(events, ignore_conflicts=True)
        RejectedEvent.objects.bulk_create(rejected)
        for event in created:
            event_recorded.send(sender=ConversionEvent, event=event)
    return outcomes
