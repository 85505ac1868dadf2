"""Meta Conversions API: the lead as a server event, deduplicated with the browser pixel.

POST {META_GRAPH_BASE_URL}/{META_GRAPH_VERSION}/{pixel id}/events?access_token=…

- `event_id` is the lead_submitted event's id, which the result page also renders
  (`data-lead-event-id`): a browser pixel that sends the same event name with that
  eventID makes Meta keep one of the pair. It also makes a retry safe: Meta drops a
  second server event with the same name and id, so a call that timed out is sent again.
- `user_data`: e-mail, phone, first and last name and external id normalised as Meta
  documents and SHA-256 hashed; `fbc` from the landing's fbclid and its time, `fbp`
  from the `_fbp` cookie, the browser's User-Agent. No IP address: Quizfunnel never
  reads one (tracking.attribution), and Meta does not require it.
- Meta answers errors with HTTP 400 and a code: 190 (the token) pauses the rule; 4, 17,
  32, 613 and 80004 (rate limits) and transient errors back off; the rest are dead,
  with Meta's words.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import timedelta

import phonenumbers
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from automations.fencing import claim_update
from automations.models import Delivery
from automations.senders.ads import fbc_for, sha256, skip_reason, visitor_key
from automations.senders.http import Failure, Skip, post_json

# Meta takes website events up to 7 days old.
MAX_AGE = timedelta(days=7)
RATE_LIMIT_CODES = {4, 17, 32, 613, 80004}
AUTH_CODES = {102, 190}
TRANSIENT_CODES = {1, 2}


def not_connected() -> str:
    return ""


def email_normalised(email: str) -> str:
    """Meta: trim leading and trailing spaces, lowercase."""
    return email.strip().lower()


def phone_normalised(phone: str, country: str = "") -> str:
    """Meta: digits only, with the country code, no leading zeros ("+44 20 7946 0958" ->
    "442079460958"). A number without a country code is read as `country`'s; without
    one, or when it cannot be a phone number, "" (not sent)."""
    raw = phone.strip()
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, country.upper() or None)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def name_normalised(name: str) -> str:
    """Meta: lowercase, no punctuation (nor spaces); letters of any script stay, UTF-8."""
    value = unicodedata.normalize("NFC", name.strip().lower())
    return "".join(ch for ch in value if unicodedata.category(ch)[0] in "LM")


def name_parts(name: str) -> tuple[str, str]:
    """The form asks for one name: its first word is the first name, the rest the last."""
    first, _, last = name.strip().partition(" ")
    return first, last.strip()


def user_data(delivery: Delivery) -> dict:
    lead, action = delivery.lead, delivery.action
    data: dict = {"em": [sha256(email_normalised(lead.email))]}
    phone = phone_normalised(lead.phone, action.phone_country) if lead.phone else ""
    if phone:
        data["ph"] = [sha256(phone)]
    first, last = (name_normalised(part) for part in name_parts(lead.name))
    if first:
        data["fn"] = [sha256(first)]
    if last:
        data["ln"] = [sha256(last)]
    data["external_id"] = [sha256(visitor_key(lead).strip().lower())]
    data["client_user_agent"] = lead.user_agent
    fbc = fbc_for(lead)
    if fbc:
        data["fbc"] = fbc
    if lead.fbp:
        data["fbp"] = lead.fbp
    return data


def event_source_url(delivery: Delivery) -> str:
    """The quiz's public page (the lead form's own URL holds the attempt's secret token)."""
    return settings.SITE_URL + reverse("quizzes:intro", args=[delivery.event.quiz.slug])


def meta_payload(delivery: Delivery) -> dict:
    lead, action, event = delivery.lead, delivery.action, delivery.event
    payload: dict = {
        "data": [
            {
                "event_name": action.meta_event_name or "Lead",
                "event_time": int(lead.created_at.timestamp()),
                "event_id": str(event.event_id),
                "action_source": "website",
                "event_source_url": event_source_url(delivery),
                "user_data": user_data(delivery),
                "custom_data": {
                    "content_name": event.quiz.title[:100],
                    "content_category": lead.tier_name,
                    "lead_tier": lead.tier_name,
                    "score_percent": lead.score_percent,
                },
            }
        ]
    }
    if action.meta_test_event_code:
        payload["test_event_code"] = action.meta_test_event_code
    return payload


def events_url(action) -> str:
    base = settings.META_GRAPH_BASE_URL.rstrip("/")
    return (
        f"{base}/{settings.META_GRAPH_VERSION}/{action.meta_pixel_id}/events"
        f"?access_token={action.meta_access_token}"
    )


def meta_error(failure: Failure) -> Failure:
    """The failure of a refused call, by Meta's error code rather than the HTTP status."""
    try:
        error = json.loads(failure.body or "{}").get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict) or "code" not in error:
        return failure  # not Meta's error format (a proxy's 502): classed by HTTP status
    code = error.get("code")
    words = error.get("error_user_msg") or error.get("message") or "no message"
    detail = ", ".join(
        str(part)
        for part in (
            f"code {code}",
            error.get("error_subcode") and f"subcode {error['error_subcode']}",
            error.get("type"),
            error.get("fbtrace_id") and f"fbtrace_id {error['fbtrace_id']}",
        )
        if part
    )
    message = f"Meta refused the event: {words} ({detail})"[:1000]
    if code in AUTH_CODES:
        return Failure(
            f"{message}. Generate a new access token in Events Manager.",
            status=failure.status,
            auth=True,
        )
    if code in RATE_LIMIT_CODES:
        return Failure(
            f"{message}; rate limited, backing off", status=failure.status, retryable=True
        )
    if code in TRANSIENT_CODES or error.get("is_transient"):
        return Failure(message, status=failure.status, retryable=True)
    return Failure(message, status=failure.status)


def send(delivery: Delivery) -> str:
    reason = skip_reason(delivery)
    if reason:
        raise Skip(reason)
    lead, action = delivery.lead, delivery.action
    age = timezone.now() - lead.created_at
    if age > MAX_AGE:
        raise Failure(
            f"Meta takes events up to 7 days old; this lead is from "
            f"{lead.created_at:%Y-%m-%d %H:%M} UTC ({age.days} days ago), so it was not sent."
        )
    if not lead.user_agent:
        raise Failure(
            "The lead has no User-Agent recorded (it came before this was kept), and Meta "
            "needs one for a website event: not sent."
        )
    try:
        reply = post_json(
            delivery, "meta: send event", events_url(action), meta_payload(delivery), {}
        )
    except Failure as failure:
        raise meta_error(failure) from failure
    answer = reply.json()
    if answer.get("events_received") != 1:
        raise Failure(f"Meta's answer does not say it received the event: {reply.body[:300]}")
    claim_update(
        delivery,
        remote={**delivery.remote, "fbtrace_id": str(answer.get("fbtrace_id", ""))[:100]},
    )
    return f"Meta received {action.meta_event_name} {delivery.event.event_id}"
