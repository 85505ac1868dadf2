"""Client events from the browser: validated one by one, stored once, never doubled.

Every client event names a server event (`server_event_id`) of the same visitor:
- with the same name, it enriches that event (time on screen, read depth);
- with the name of a client event of the plan (cta_clicked), it is recorded as
  an event of its own, tied to the server event's quiz, attempt and lead, by the
  same once-only insert as server events, and announced (event_recorded) once.
Anything else is rejected with the reason, and the payload kept.

Each event is answered on its own: one that cannot be read, or that the database
refuses, is rejected alone and never takes the rest of its batch with it.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.text import clean_text
from tracking import plan
from tracking.models import ConversionEvent, EventEnrichment, RejectedEvent
from tracking.signals import event_recorded

logger = logging.getLogger(__name__)

FUTURE_LIMIT = timedelta(minutes=5)
PAST_LIMIT = timedelta(days=7)
# Deeper than any event of the plan; the walk below stops here, so it never recurses far.
MAX_DEPTH = 16
REASON_LENGTH = RejectedEvent._meta.get_field("reason").max_length
ID_LENGTH = 64  # what the answer echoes of an id that is not a UUID


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


def reason_text(text: str) -> str:
    """A reason as stored and answered: clean text that fits its column."""
    text = clean_text(text).strip()
    return text if len(text) <= REASON_LENGTH else text[: REASON_LENGTH - 1] + "…"


class _Unstorable:
    """A JSON number no database stores (1e400, NaN, Infinity); kept as its text."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _float(text: str) -> float | _Unstorable:
    value = float(text)
    return value if math.isfinite(value) else _Unstorable(text)


def _int(text: str) -> int | _Unstorable:
    try:
        return int(text)
    except ValueError:  # more digits than Python converts (4,300)
        return _Unstorable(text)


def body_events(body: bytes) -> list:
    """The list of events in a request body; Rejected, with the reason, if there is none."""
    try:
        payload = json.loads(body, parse_float=_float, parse_int=_int, parse_constant=_Unstorable)
    except RecursionError:
        raise Rejected("The body is JSON nested too deeply to read.") from None
    except ValueError:
        raise Rejected("The body is not valid JSON.") from None
    items = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        raise Rejected("Send an object with a non-empty list “events”.")
    return items


def _clean(value, problems: list[str], depth: int = 0):
    """`value` with text a database stores (no NUL, no lone surrogate, in keys too)
    and numbers it stores; what had to change is noted in `problems`."""
    kind = type(value)
    if kind is str:
        return clean_text(value)
    if kind is dict or kind is list:
        if depth >= MAX_DEPTH:
            problems.append(f"it is nested more than {MAX_DEPTH} levels deep")
            return "…"
        if kind is dict:
            return {clean_text(k): _clean(v, problems, depth + 1) for k, v in value.items()}
        return [_clean(v, problems, depth + 1) for v in value]
    if kind is _Unstorable:
        problems.append(f"the number {value.text[:40]} is too large to store, or not a number")
        return value.text[:40]
    return value


def _shown(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _uuid(value, field: str) -> uuid.UUID:
    # isascii: uuid.UUID would read other scripts' digits as hex digits.
    if isinstance(value, str) and value.isascii():
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise Rejected(f"“{field}” must be a UUID")


def _time(value, now: datetime) -> datetime:
    try:
        moment = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        raise Rejected(
            "“time” is not a date and time that exists (check the day of the month, "
            "the hour and the time zone offset)"
        ) from None
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
        raise Rejected(f"unknown field(s): {', '.join(_shown(f) for f in sorted(unknown))}")
    client_id = _uuid(item.get("id"), "id")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise Rejected("“name” is required")
    if name not in plan.PLAN:
        raise Rejected(f"“{_shown(name)}” is not an event of the tracking plan")
    moment = _time(item.get("time"), now)
    server_event_id = _uuid(item.get("server_event_id"), "server_event_id")
    properties = item.get("properties", {})
    return client_id, name, moment, server_event_id, properties


def _shown_id(item) -> str | None:
    raw = item.get("id") if isinstance(item, dict) else None
    return _shown(raw, ID_LENGTH) if isinstance(raw, str) else None


def client_events_ingest(
    *, visitor_id: str, items: list, device: str, is_bot: bool
) -> list[Outcome]:
    """Store a batch of client events; one outcome per event, in order."""
    now = timezone.now()
    cleaned, parsed = [], []
    for item in items:
        problems: list[str] = []
        item = _clean(item, problems)
        cleaned.append(item)
        try:
            if problems:
                raise Rejected(f"the event cannot be stored: {problems[0]}")
            parsed.append(_parse(item, now))
        except Rejected as error:
            parsed.append(Outcome(_shown_id(item), "rejected", reason_text(str(error))))

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

    # What to write for each event, in order: an enrichment, an event or a rejection.
    outcomes: list[Outcome] = []
    writes: list[EventEnrichment | ConversionEvent | RejectedEvent | None] = []
    for item, entry in zip(cleaned, parsed, strict=True):
        if isinstance(entry, Outcome):
            outcomes.append(entry)
            writes.append(_rejection(visitor_id, entry.reason, item))
            continue
        client_id, name, moment, server_event_id, properties = entry
        try:
            if client_id in seen:
                outcomes.append(Outcome(str(client_id), "duplicate"))
                writes.append(None)
                continue
            ref = referenced.get(server_event_id)
            if ref is None or ref.visitor_id != visitor_id:
                raise Rejected("“server_event_id” is not an event of this visitor")
            if name == ref.name:
                props = plan.validate_enrichment(name, properties)
                writes.append(
                    EventEnrichment(
                        client_event_id=client_id, event=ref, properties=props, occurred_at=moment
                    )
                )
            elif plan.PLAN[name].client_event:
                props = plan.validate(name, properties)
                writes.append(_client_event(client_id, name, moment, props, ref, device, is_bot))
            else:
                raise Rejected(
                    f"“{name}” is recorded by the server; the browser may only add to it "
                    "with the same name and the server's event_id"
                )
        except (Rejected, plan.PlanError) as error:
            reason = reason_text(str(error))
            outcomes.append(Outcome(str(client_id), "rejected", reason))
            writes.append(_rejection(visitor_id, reason, item))
            continue
        seen.add(client_id)
        outcomes.append(Outcome(str(client_id), "accepted"))

    try:
        with transaction.atomic():
            inserted = _store([w for w in writes if w is not None])
    except DatabaseError:
        # Something the checks above let through: store the events one by one,
        # so that only the one the database refuses is lost.
        logger.warning("A batch of client events failed; storing them one by one", exc_info=True)
        return _store_one_by_one(visitor_id, cleaned, writes, outcomes)
    return _duplicates_of_a_race(outcomes, writes, inserted)


def _client_event(client_id, name, moment, props, ref, device, is_bot) -> ConversionEvent:
    return ConversionEvent(
        event_id=client_id,
        name=name,
        quiz_id=ref.quiz_id,
        attempt_id=ref.attempt_id,
        lead_id=ref.lead_id,
        visitor_id=ref.visitor_id,
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


def _rejection(visitor_id: str, reason: str, payload) -> RejectedEvent:
    return RejectedEvent(visitor_id=visitor_id, reason=reason, payload=payload)


def _store(writes: list) -> set[uuid.UUID]:
    """Write them (inside the caller's transaction); the ids of the events inserted."""
    EventEnrichment.objects.bulk_create(
        [w for w in writes if isinstance(w, EventEnrichment)],
        # A concurrent copy of the same batch was stored first: it is there, once.
        ignore_conflicts=True,
    )
    events = [w for w in writes if isinstance(w, ConversionEvent)]
    inserted = ConversionEvent.objects.insert_new(events)
    RejectedEvent.objects.bulk_create([w for w in writes if isinstance(w, RejectedEvent)])
    for event in inserted:  # only rows actually inserted: a delivery points at a real row
        event_recorded.send(sender=ConversionEvent, event=event)
    return {e.event_id for e in inserted}


def _duplicates_of_a_race(outcomes, writes, inserted: set[uuid.UUID]) -> list[Outcome]:
    """An accepted event that a concurrent request inserted first is a duplicate."""
    return [
        Outcome(o.id, "duplicate")
        if isinstance(w, ConversionEvent) and w.event_id not in inserted
        else o
        for o, w in zip(outcomes, writes, strict=True)
    ]


def _fresh(write):
    write.pk = None
    write._state.adding = True
    return write


def _store_one_by_one(visitor_id: str, items: list, writes: list, outcomes: list) -> list:
    result = []
    for item, write, outcome in zip(items, writes, outcomes, strict=True):
        if write is None:
            result.append(outcome)
            continue
        try:
            with transaction.atomic():
                inserted = _store([_fresh(write)])
            result.extend(_duplicates_of_a_race([outcome], [write], inserted))
        except DatabaseError as error:
            logger.warning("A client event could not be stored: %s", error)
            reason = "the database could not store this event"
            result.append(Outcome(outcome.id, "rejected", reason))
            _log_rejection(visitor_id, reason, item)
    return result


def _log_rejection(visitor_id: str, reason: str, payload) -> None:
    try:
        with transaction.atomic():
            _rejection(visitor_id, reason, payload).save()
    except DatabaseError:  # the payload itself is what the database refuses
        with transaction.atomic():
            _rejection(visitor_id, reason, None).save()
