"""Google Analytics 4 Measurement Protocol: generate_lead, with a value per tier.

POST {GA4_BASE_URL}/mp/collect?measurement_id=…&api_secret=…

- `client_id` is the `_ga` cookie's ("GA1.1.X.Y" -> "X.Y") when the browser had one, so
  the lead joins the visitor's session and source in GA4; otherwise a stable id derived
  from Quizfunnel's visitor id (the same browser always gets the same one).
- `timestamp_micros` is the lead's time. GA4 takes events up to 72 hours old: an older
  lead's delivery is dead with the reason, never sent.
- GA4 answers 2xx even to an event it drops. With the action's "validate" switch on,
  each event goes to /debug/mp/collect first; what the validation server objects to is
  shown on the delivery, and the event is not sent.
- GA4 cannot deduplicate Measurement Protocol events: a call that reached GA4 but got no
  answer (timed out, or its worker lost the delivery) is not sent again on its own, which
  could count the lead twice. The delivery ends dead saying so; Replay sends it. A call
  GA4 answered with an error (5xx, 429) collected nothing and is retried as usual.
"""

from __future__ import annotations

import socket
import urllib.error
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone

from automations.fencing import claim_update
from automations.models import Delivery
from automations.senders.ads import sha256, skip_reason, visitor_key
from automations.senders.http import Failure, Skip, post_json

MAX_AGE = timedelta(hours=72)
# Set (fenced) before the event leaves; cleared when GA4 answers. Found set on a later
# try: the earlier one may have been counted. Replay clears it (automations.delivery).
UNANSWERED = "unanswered_at"


def not_connected() -> str:
    return ""


def client_id_for(lead) -> str:
    """The GA4 client id: the `_ga` cookie's, else one derived from the visitor (the
    "random.timestamp" shape gtag.js writes, so reports treat it like any other)."""
    if lead.ga_client_id:
        return lead.ga_client_id
    digest = sha256("quizfunnel-ga4:" + visitor_key(lead))
    return f"{int(digest[:8], 16)}.{1_000_000_000 + int(digest[8:16], 16) % 1_000_000_000}"


def ga4_payload(delivery: Delivery) -> dict:
    lead, action, event = delivery.lead, delivery.action, delivery.event
    params: dict = {
        "currency": action.ga4_currency,
        "lead_source": "quizfunnel",
        "quiz": event.quiz.slug[:100],
        "tier": lead.tier_name[:100],
        "score_percent": lead.score_percent,
        "event_id": str(event.event_id),
        "engagement_time_msec": 1,
    }
    value = action.tier_values().get(lead.tier_name.strip().lower())
    if value is not None:
        params["value"] = value
    payload: dict = {
        "client_id": client_id_for(lead),
        "timestamp_micros": int(lead.created_at.timestamp() * 1_000_000),
        "events": [{"name": "generate_lead", "params": params}],
    }
    if lead.consent_given:
        payload["consent"] = {"ad_user_data": "GRANTED", "ad_personalization": "GRANTED"}
    return payload


def collect_url(action, *, debug: bool = False) -> str:
    base = settings.GA4_BASE_URL.rstrip("/")
    query = urlencode(
        {"measurement_id": action.ga4_measurement_id, "api_secret": action.ga4_api_secret}
    )
    return f"{base}/{'debug/' if debug else ''}mp/collect?{query}"


def _never_left(failure: Failure) -> bool:
    """True when the request certainly did not reach GA4 (refused, no such host)."""
    cause = failure.__cause__
    reason = getattr(cause, "reason", cause)
    return isinstance(cause, urllib.error.URLError) and isinstance(
        reason, ConnectionRefusedError | socket.gaierror
    )


def send(delivery: Delivery) -> str:
    reason = skip_reason(delivery)
    if reason:
        raise Skip(reason)
    lead, action = delivery.lead, delivery.action
    age = timezone.now() - lead.created_at
    if age > MAX_AGE:
        raise Failure(
            f"GA4 takes events up to 72 hours old; this lead is from "
            f"{lead.created_at:%Y-%m-%d %H:%M} UTC ({int(age.total_seconds() // 3600)} hours "
            "ago), so it was not sent."
        )
    if delivery.remote.get(UNANSWERED):
        raise Failure(
            f"An earlier try reached GA4 without an answer ({delivery.remote[UNANSWERED]}); "
            "GA4 cannot deduplicate events, so it is not sent again on its own (that could "
            "count the lead twice). If GA4's Realtime report does not show it, Replay sends it."
        )
    payload = ga4_payload(delivery)
    if action.ga4_validate:
        reply = post_json(delivery, "ga4: validate", collect_url(action, debug=True), payload, {})
        messages = reply.json().get("validationMessages") or []
        if messages:
            raise Failure(
                "GA4's validation server refused the event, so it was not sent: "
                + "; ".join(
                    f"{m.get('fieldPath') or 'event'}: {m.get('description')} "
                    f"({m.get('validationCode')})"
                    for m in messages
                    if isinstance(m, dict)
                )
            )
    claim_update(delivery, remote={**delivery.remote, UNANSWERED: timezone.now().isoformat()})
    try:
        reply = post_json(delivery, "ga4: send event", collect_url(action), payload, {})
    except Failure as failure:
        if failure.status is not None or _never_left(failure):
            # GA4 answered (an error: nothing collected), or nothing left: safe to retry.
            remote = {k: v for k, v in delivery.remote.items() if k != UNANSWERED}
            claim_update(delivery, remote=remote)
            raise
        raise Failure(
            f"{failure}: GA4 may have counted the lead, and cannot deduplicate events, so "
            "it is not sent again on its own. If GA4's Realtime report does not show it, "
            "Replay sends it."
        ) from failure
    remote = {k: v for k, v in delivery.remote.items() if k != UNANSWERED}
    claim_update(delivery, remote={**remote, "sent_at": timezone.now().isoformat()})
    return f"GA4 answered {reply.status} to generate_lead for client {payload['client_id']}"
