"""Webhooks: POST the event and its lead, signed the Standard Webhooks way.

At least once: a retry carries the same `webhook-id`, so a receiver can drop duplicates.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import urlsplit

from django.conf import settings

from automations.destinations import url_refusal
from automations.models import Delivery
from automations.senders.http import Failure, post_json


def not_connected() -> str:
    return ""


def webhook_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks: v1,<base64 HMAC-SHA256 of "id.timestamp.body">."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def webhook_payload(delivery: Delivery) -> dict:
    event, lead = delivery.event, delivery.lead
    return {
        "type": event.name,
        "timestamp": event.occurred_at.isoformat(),
        "data": {
            "event": {
                "event_id": str(event.event_id),
                "name": event.name,
                "quiz": event.quiz.slug,
                "occurred_at": event.occurred_at.isoformat(),
                "properties": event.properties,
                "first_touch": event.first_touch,
                "last_touch": event.last_touch,
            },
            "lead": None
            if lead is None
            else {
                "id": lead.pk,
                "email": lead.email,
                "name": lead.name,
                "company": lead.company,
                "phone": lead.phone,
                "score": lead.score_points,
                "max_score": lead.score_max,
                "percent": lead.score_percent,
                "tier": lead.tier_name,
                "category_scores": lead.category_scores,
                "hidden_fields": lead.hidden_fields,
                "created_at": lead.created_at.isoformat(),
            },
        },
    }


def send(delivery: Delivery) -> str:
    action = delivery.action
    # Saved URLs were checked on save; this catches rows older than the check. The
    # addresses themselves are checked as the connection is made (public_only).
    refusal = url_refusal(action.webhook_url, allow_private=True)
    if refusal:
        raise Failure(refusal)
    payload = webhook_payload(delivery)
    body = json.dumps(payload, default=str).encode()
    message_id = f"msg_{delivery.uid.hex}"  # the same on every retry: receivers can dedupe
    timestamp = int(time.time())
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signature(action.webhook_secret, message_id, timestamp, body),
    }
    reply = post_json(
        delivery,
        "webhook",
        action.webhook_url,
        payload,
        headers,
        public_only=not settings.AUTOMATIONS_ALLOW_PRIVATE_URLS,
    )
    return f"{reply.status} from {urlsplit(action.webhook_url).hostname}"
