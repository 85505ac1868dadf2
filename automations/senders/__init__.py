"""What each kind of action does, one module per destination. Every external call has
a deadline and is logged; every write after a send is fenced by the worker's claim."""

from __future__ import annotations

from collections.abc import Callable

from automations.models import Action, Delivery
from automations.senders import assign, email, ga4, hubspot, meta, scorecard, webhook
from automations.senders.http import Failure, Skip, post_json
from automations.senders.webhook import webhook_signature

__all__ = [
    "CALLS_PER_DELIVERY",
    "SENDERS",
    "Failure",
    "Skip",
    "connected_kinds",
    "not_connected",
    "post_json",
    "webhook_signature",
]

SENDERS: dict[str, Callable[[Delivery], str]] = {
    Action.Kind.HUBSPOT: hubspot.send,
    Action.Kind.WEBHOOK: webhook.send,
    Action.Kind.EMAIL: email.send,
    Action.Kind.ASSIGN: assign.send,
    Action.Kind.SCORECARD: scorecard.send,
    Action.Kind.META: meta.send,
    Action.Kind.GA4: ga4.send,
}

_NOT_CONNECTED: dict[str, Callable[[], str]] = {
    Action.Kind.HUBSPOT: hubspot.not_connected,
    Action.Kind.WEBHOOK: webhook.not_connected,
    Action.Kind.EMAIL: email.not_connected,
    Action.Kind.ASSIGN: assign.not_connected,
    Action.Kind.SCORECARD: scorecard.not_connected,
    Action.Kind.META: meta.not_connected,
    Action.Kind.GA4: ga4.not_connected,
}

# The most calls one delivery makes (HubSpot's upsert, search and task).
CALLS_PER_DELIVERY = hubspot.CALLS_PER_DELIVERY


def not_connected(kind: str) -> str:
    """Why deliveries of this kind are held (a destination not configured), or ""."""
    return _NOT_CONNECTED[kind]()


def connected_kinds() -> list[str]:
    return [kind for kind in SENDERS if not not_connected(kind)]
