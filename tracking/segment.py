"""Events from other systems, in Segment's HTTP Tracking API format.

`track`, `page` (and `screen`) and `identify` calls, alone or in a batch, from an
authenticated source (an API key: the caller, in api/, checks it). Each call is
answered on its own: accepted, duplicate (its source sent its `messageId` before)
or rejected with the reason; a rejected call is kept in the rejected-events log and
never takes the rest of its batch with it.

- A `track` names a custom event of the tracking plan (declared in admin) and
  carries properties that fit it (Segment Protocols' "block").
- Times are corrected for the sender's clock: timestamp = receivedAt − (sentAt −
  originalTimestamp) (or − timestamp, which is what analytics-python sends); a call
  more than a day ahead or older than TRACKING_INGEST_MAX_AGE_DAYS is rejected.
- `identify` with an `email` trait links its userId and anonymousId to that person
  (tracking.people reads the links).
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.text import clean_lower, clean_text
from tracking import plan
from tracking.ingest import Outcome, _clean, _float, _int, _Unstorable, reason_text
from tracking.models import ExternalEvent, Identity, RejectedEvent

logger = logging.getLogger(__name__)

MAX_EVENT_BYTES = 32 * 1024  # Segment's limit per call
MAX_BODY_BYTES = 500 * 1024  # and per batch
FUTURE_LIMIT = timedelta(days=1)
TYPES = {"track": "track", "page": "page", "screen": "page", "identify": "identify"}
UNSUPPORTED = {"group", "alias"}
ID_LENGTH = ExternalEvent._meta.get_field("user_id").max_length
MESSAGE_ID_LENGTH = ExternalEvent._meta.get_field("message_id").max_length
NAME_LENGTH = ExternalEvent._meta.get_field("name").max_length
RAW_KEPT = 10_000  # characters of a body or call kept when it is not stored whole


class BodyError(Exception):
    """The request as a whole cannot be taken: `status`, a short `code`, a message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def body_decode(body: bytes, *, encoding: str) -> bytes:
    """The body as sent, gunzipped if it was gzipped, never past MAX_BODY_BYTES.

    Decompression stops at the limit, so a small gzip bomb costs 500 KB, not memory.
    """
    encoding = clean_lower(encoding or "").strip()
    if len(body) > MAX_BODY_BYTES:
        raise BodyError(413, "too_large", f"The body is over {MAX_BODY_BYTES // 1024} KB.")
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise BodyError(
            415, "unsupported_encoding", "Send the body plain or with Content-Encoding: gzip."
        )
    out = bytearray()
    data = body
    try:
        while data:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += inflater.decompress(data, MAX_BODY_BYTES + 1 - len(out))
            if len(out) > MAX_BODY_BYTES:
                raise BodyError(
                    413, "too_large", f"The body is over {MAX_BODY_BYTES // 1024} KB unzipped."
                )
            if not inflater.eof:
                raise BodyError(400, "bad_gzip", "The gzipped body is cut short.")
            data = inflater.unused_data  # a second gzip member follows
    except zlib.error:
        raise BodyError(400, "bad_gzip", "The body is not valid gzip.") from None
    return bytes(out)


def body_parse(data: bytes) -> dict:
    """The JSON object of a body (whatever its Content-Type said); BodyError if none."""
    try:
        payload = json.loads(data, parse_float=_float, parse_int=_int, parse_constant=_Unstorable)
    except RecursionError:
        raise BodyError(
            400, "invalid_json", "The body is JSON nested too deeply to read."
        ) from None
    except ValueError:
        raise BodyError(400, "invalid_json", "The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise BodyError(400, "invalid_json", "The body must be a JSON object.")
    return payload


def batch_items(payload: dict) -> list:
    items = payload.get("batch")
    if not isinstance(items, list) or not items:
        raise BodyError(400, "invalid_batch", "Send an object with a non-empty list “batch”.")
    return items


def raw_text(data: bytes) -> str:
    return clean_text(data[:RAW_KEPT].decode("utf-8", "replace"))


def body_reject(*, key_id: int | None, message: str, data: bytes, write_keys=()) -> None:
    """Keep a body that could not be read at all (from an authenticated source), without
    any write key (analytics-python sends it in the body too)."""
    raw = raw_text(data)
    for write_key in write_keys:
        if isinstance(write_key, str) and write_key:
            raw = raw.replace(write_key, "[write key]")
    RejectedEvent.objects.create(
        key_id=key_id, reason=reason_text(f"Segment format: {message}"), raw=raw
    )


class Rejected(Exception):
    pass


@dataclass
class _Call:
    message_id: str
    type: str
    name: str
    user_id: str
    anonymous_id: str
    properties: dict
    context: dict
    occurred_at: datetime
    sent_at: datetime | None
    email: str = ""  # identify: the email trait, normalised


def _moment(value, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        raise Rejected(f"“{field}” is not a date and time that exists") from None
    if moment is None or moment.tzinfo is None:
        raise Rejected(f"“{field}” must be an ISO 8601 date and time with a time zone")
    return moment


def _id(value, field: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Rejected(f"“{field}” must be a string")
    text = str(value).strip()
    if len(text) > ID_LENGTH:
        raise Rejected(f"“{field}” is longer than {ID_LENGTH} characters")
    return text


def _object(value, field: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Rejected(f"“{field}” must be an object")
    return value


def corrected_time(
    *, timestamp, original, sent_at: datetime | None, received_at: datetime
) -> datetime:
    """When it happened, by our clock: receivedAt − (sentAt − the sender's own time).

    The sender's time is originalTimestamp, else timestamp (analytics-python sends that,
    with sentAt, both by its clock). Without sentAt there is no skew to measure.
    """
    sender_time = original or timestamp
    if sender_time is None:
        return received_at
    if sent_at is None:
        return sender_time
    return received_at - (sent_at - sender_time)


def _parse(item, *, expected: str | None, batch_sent_at, specs, now: datetime) -> _Call:
    if not isinstance(item, dict):
        raise Rejected("a call must be a JSON object")
    size = len(json.dumps(item, ensure_ascii=False, default=str).encode())
    if size > MAX_EVENT_BYTES:
        raise Rejected(
            f"the call is {size // 1024} KB, over the {MAX_EVENT_BYTES // 1024} KB limit"
        )
    kind = item.get("type", expected)
    if expected is not None and kind != expected:
        raise Rejected(f"this endpoint takes “{expected}” calls, not “{_shown(kind)}”")
    if kind in UNSUPPORTED:
        raise Rejected(f"“{kind}” calls are not taken: send track, page, screen or identify")
    if kind not in TYPES:
        raise Rejected("“type” must be track, page, screen or identify")
    message_id = _id(item.get("messageId"), "messageId")
    if not message_id:
        raise Rejected("“messageId” is required: one id per call, so a retry is not stored twice")
    if len(message_id) > MESSAGE_ID_LENGTH:
        raise Rejected(f"“messageId” is longer than {MESSAGE_ID_LENGTH} characters")
    user_id = _id(item.get("userId"), "userId")
    anonymous_id = _id(item.get("anonymousId"), "anonymousId")
    if not user_id and not anonymous_id:
        raise Rejected("a call needs a “userId” or an “anonymousId”")
    sent_at = _moment(item.get("sentAt"), "sentAt") or batch_sent_at
    occurred_at = corrected_time(
        timestamp=_moment(item.get("timestamp"), "timestamp"),
        original=_moment(item.get("originalTimestamp"), "originalTimestamp"),
        sent_at=sent_at,
        received_at=now,
    )
    if occurred_at > now + FUTURE_LIMIT:
        raise Rejected(
            "its time is more than a day ahead (after correcting for the sender's clock)"
        )
    max_age = settings.TRACKING_INGEST_MAX_AGE_DAYS
    if occurred_at < now - timedelta(days=max_age):
        raise Rejected(f"its time is more than {max_age} days old (TRACKING_INGEST_MAX_AGE_DAYS)")
    context = _object(item.get("context"), "context")
    call = _Call(
        message_id, TYPES[kind], "", user_id, anonymous_id, {}, context, occurred_at, sent_at
    )
    if call.type == "track":
        event = item.get("event")
        if not isinstance(event, str) or not event.strip():
            raise Rejected("“event” is required: the name of a custom event of the tracking plan")
        call.name = event.strip()
        call.properties = plan.validate_custom(
            call.name, _object(item.get("properties"), "properties"), specs
        )
    elif call.type == "page":
        name = item.get("name")
        if name is not None and not isinstance(name, str):
            raise Rejected("“name” must be a string")
        call.name = (name or "").strip()[:NAME_LENGTH]
        call.properties = _object(item.get("properties"), "properties")
        category = item.get("category")
        if isinstance(category, str) and category:
            call.properties = {"category": category, **call.properties}
    else:
        call.properties = _object(item.get("traits"), "traits")
        if "email" in call.properties:
            call.email = _email(call.properties["email"])
    return call


def _email(value) -> str:
    email = clean_lower(value).strip() if isinstance(value, str) else ""
    try:
        validate_email(email)
    except ValidationError:
        raise Rejected("the “email” trait is not an e-mail address") from None
    return email


def _is_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def _shown(value, limit: int = 40) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shown_id(item) -> str | None:
    raw = item.get("messageId") if isinstance(item, dict) else None
    return _shown(raw, 100) if isinstance(raw, str | int) and not isinstance(raw, bool) else None


def calls_ingest(
    *, key_id: int, items: list, expected: str | None = None, sent_at=None
) -> list[Outcome]:
    """Store a source's calls once each; one outcome per call, in order.

    `expected` is the single call's type (/v1/track …), None for a batch; `sent_at` the
    batch's sentAt (its text, as sent).
    """
    now = timezone.now()
    specs = plan.declared()
    try:
        batch_sent_at = _moment(sent_at, "sentAt")
    except Rejected:
        batch_sent_at, sent_at_problem = None, "the batch's “sentAt” is not an ISO 8601 time"
    else:
        sent_at_problem = ""
    outcomes: list[Outcome] = []
    writes: list[ExternalEvent | RejectedEvent | None] = []
    calls: list[_Call | None] = []
    seen: set[str] = set()
    for item in items:
        problems: list[str] = []
        cleaned = _clean(item, problems)
        try:
            if sent_at_problem:
                raise Rejected(sent_at_problem)
            if problems:
                raise Rejected(f"the call cannot be stored: {problems[0]}")
            call = _parse(
                cleaned, expected=expected, batch_sent_at=batch_sent_at, specs=specs, now=now
            )
        except (Rejected, plan.PlanError) as error:
            reason = reason_text(str(error))
            outcomes.append(Outcome(_shown_id(cleaned), "rejected", reason))
            writes.append(_rejection(key_id, reason, cleaned))
            calls.append(None)
            continue
        if call.message_id in seen:
            outcomes.append(Outcome(call.message_id, "duplicate"))
            writes.append(None)
            calls.append(None)
            continue
        seen.add(call.message_id)
        outcomes.append(Outcome(call.message_id, "accepted"))
        writes.append(_event(key_id, call, now))
        calls.append(call)
    try:
        with transaction.atomic():
            inserted = _store([w for w in writes if w is not None])
            stored = {id(e) for e in inserted}
            _identities_link([c for c, w in zip(calls, writes, strict=True) if id(w) in stored])
    except DatabaseError:
        logger.warning("A batch of Segment calls failed; storing them one by one", exc_info=True)
        return _store_one_by_one(key_id, items, writes, calls, outcomes)
    return _duplicates(outcomes, writes, inserted)


def _event(key_id: int, call: _Call, now: datetime) -> ExternalEvent:
    return ExternalEvent(
        key_id=key_id,
        message_id=call.message_id,
        type=call.type,
        name=call.name,
        user_id=call.user_id,
        anonymous_id=call.anonymous_id,
        properties=call.properties,
        context=call.context,
        occurred_at=call.occurred_at,
        received_at=now,
        sent_at=call.sent_at,
    )


def _rejection(key_id: int, reason: str, payload) -> RejectedEvent:
    if isinstance(payload, dict | list):
        text = json.dumps(payload, ensure_ascii=False, default=str)
        if len(text.encode()) > MAX_EVENT_BYTES:  # an oversized call: its start is enough
            return RejectedEvent(key_id=key_id, reason=reason, raw=text[:RAW_KEPT])
    return RejectedEvent(key_id=key_id, reason=reason, payload=payload)


def _store(writes: list) -> list[ExternalEvent]:
    inserted = ExternalEvent.objects.insert_new([w for w in writes if isinstance(w, ExternalEvent)])
    RejectedEvent.objects.bulk_create([w for w in writes if isinstance(w, RejectedEvent)])
    return inserted


def _identities_link(calls: list[_Call]) -> None:
    """What these newly stored calls say about who their ids are."""
    links: dict[tuple[str, str], str] = {}
    for call in calls:
        if call.type == "identify" and call.email:
            for kind, value in (
                (Identity.Kind.USER, call.user_id),
                (Identity.Kind.ANONYMOUS, call.anonymous_id),
            ):
                if value:
                    links[(kind, value)] = call.email
    for call in calls:  # a userId that is an e-mail in another case: the person of that e-mail
        email = clean_lower(call.user_id).strip()
        if "@" in call.user_id and email != call.user_id and _is_email(email):
            links.setdefault((Identity.Kind.USER, call.user_id), email)
    # A call that names both ids ties an unknown one to the person of the other.
    pairs = [(c.user_id, c.anonymous_id) for c in calls if c.user_id and c.anonymous_id]
    if pairs:
        known = {
            (i.kind, i.value): i.email
            for i in Identity.objects.filter(value__in={v for pair in pairs for v in pair})
        } | links
        for user_id, anonymous_id in pairs:
            user = (Identity.Kind.USER, user_id)
            anonymous = (Identity.Kind.ANONYMOUS, anonymous_id)
            email = known.get(user) or (user_id.lower() if "@" in user_id else "")
            if email and anonymous not in known:
                links[anonymous] = known[anonymous] = email
            elif anonymous in known and user not in known:
                links[user] = known[user] = known[anonymous]
    if links:
        Identity.objects.bulk_create(
            [Identity(kind=k, value=v, email=e) for (k, v), e in links.items()],
            update_conflicts=True,
            unique_fields=["kind", "value"],
            update_fields=["email", "linked_at"],
        )


def _duplicates(outcomes, writes, inserted: list[ExternalEvent]) -> list[Outcome]:
    """An accepted call that another copy of the batch stored first is a duplicate."""
    stored = {id(e) for e in inserted}
    return [
        Outcome(o.id, "duplicate") if isinstance(w, ExternalEvent) and id(w) not in stored else o
        for o, w in zip(outcomes, writes, strict=True)
    ]


def _store_one_by_one(key_id: int, items, writes, calls, outcomes) -> list[Outcome]:
    result = []
    for item, write, call, outcome in zip(items, writes, calls, outcomes, strict=True):
        if write is None:
            result.append(outcome)
            continue
        try:
            with transaction.atomic():
                write.pk = None
                write._state.adding = True
                inserted = _store([write])
                if call is not None and inserted:
                    _identities_link([call])
            result.extend(_duplicates([outcome], [write], inserted))
        except DatabaseError as error:
            logger.warning("A Segment call could not be stored: %s", error)
            reason = "the database could not store this call"
            result.append(Outcome(outcome.id, "rejected", reason))
            with transaction.atomic():
                RejectedEvent.objects.create(
                    key_id=key_id,
                    reason=reason,
                    raw=raw_text(json.dumps(item, default=str).encode()),
                )
    return result
