"""HubSpot: upsert the contact by e-mail, then create one task on it, exactly once.

Resumable: the contact id and the task id are stored (under the worker's claim) as soon
as HubSpot gives them. When a task request went out and its answer never came back (a
worker killed, a timeout, a 5xx), HubSpot may have made the task: the next try looks for
it by the delivery's marker written into its body, once HubSpot's search has had time to
index it, and makes it only if it is not there.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from automations.fencing import claim_update
from automations.models import Delivery
from automations.senders.context import message_context, task_body
from automations.senders.http import Failure, post_json

# Calls one HubSpot delivery can make at most (upsert, search, create): with
# AUTOMATIONS_HTTP_TIMEOUT they bound how long a live delivery can take.
CALLS_PER_DELIVERY = 3


def not_connected() -> str:
    """Why HubSpot deliveries are held, or "" when HubSpot is configured."""
    if not settings.HUBSPOT_TOKEN:
        return (
            "HubSpot is not connected: set HUBSPOT_TOKEN. Held deliveries are sent once it is set."
        )
    return ""


def _headers() -> dict:
    return {"Authorization": f"Bearer {settings.HUBSPOT_TOKEN}"}


def send(delivery: Delivery) -> str:
    lead = delivery.lead
    if lead is None:
        raise Failure("A HubSpot task needs a lead: use it on lead_submitted.")
    base = settings.HUBSPOT_BASE_URL.rstrip("/")
    headers = _headers()
    context = message_context(delivery)
    if "contact_id" not in delivery.remote:
        first, _, last = lead.name.partition(" ")
        reply = post_json(
            delivery,
            "hubspot: upsert contact",
            f"{base}/crm/v3/objects/contacts/batch/upsert",
            {
                "inputs": [
                    {
                        "idProperty": "email",
                        "id": lead.email,
                        "properties": {
                            "email": lead.email,
                            "firstname": first,
                            "lastname": last,
                            "company": lead.company,
                            "phone": lead.phone,
                            "quizfunnel_quiz": context["quiz"],
                            "quizfunnel_score": str(lead.score_percent),
                            "quizfunnel_tier": lead.tier_name,
                        },
                    }
                ]
            },
            headers,
        )
        results = reply.json().get("results") or []
        if not results or not results[0].get("id"):
            raise Failure(
                f"HubSpot's upsert answer has no contact id: {reply.body[:300]}", retryable=True
            )
        claim_update(delivery, remote={**delivery.remote, "contact_id": str(results[0]["id"])})

    if "task_id" not in delivery.remote:
        marker = f"quizfunnel-delivery-{delivery.uid}"
        task_id = _task_already_made(delivery, base, headers, marker)
        if task_id is None:
            task_id = _task_create(delivery, base, headers, marker, context)
        claim_update(
            delivery, remote={**_without(delivery.remote, "task_requested_at"), "task_id": task_id}
        )
    return f"contact {delivery.remote['contact_id']}, task {delivery.remote['task_id']}"


def _without(remote: dict, key: str) -> dict:
    return {k: v for k, v in remote.items() if k != key}


def _task_already_made(delivery: Delivery, base: str, headers: dict, marker: str) -> str | None:
    """The task an earlier try may have made, or None when there is certainly none."""
    requested = delivery.remote.get("task_requested_at")
    if requested is None:
        return None  # no task request ever left: nothing to look for
    settle = settings.AUTOMATIONS_HUBSPOT_SEARCH_SETTLE
    waited = (timezone.now() - datetime.fromisoformat(requested)).total_seconds()
    if waited < settle:
        # HubSpot's search is eventually consistent: looking too early would miss
        # a task made a moment ago and lead to a second one.
        raise Failure(
            "A task request to HubSpot got no answer; waiting for HubSpot's search "
            f"to show it ({settle:.0f} s after the request) before looking for it.",
            retryable=True,
            retry_after=settle - waited,
        )
    found = (
        post_json(
            delivery,
            "hubspot: find task",
            f"{base}/crm/v3/objects/tasks/search",
            {
                "filterGroups": [
                    {
                        "filters": [
                            {
                                "propertyName": "hs_task_body",
                                "operator": "CONTAINS_TOKEN",
                                "value": marker,
                            }
                        ]
                    }
                ],
                "limit": 1,
            },
            headers,
        )
        .json()
        .get("results")
        or []
    )
    return str(found[0]["id"]) if found else None


def _task_create(delivery: Delivery, base: str, headers: dict, marker: str, context: dict) -> str:
    action = delivery.action
    hot = bool(delivery.event.properties.get("top_tier"))
    properties = {
        "hs_task_subject": action.task_subject.format(**context)[:250],
        "hs_task_body": task_body(delivery, marker),
        "hs_timestamp": (timezone.now() + timedelta(hours=action.task_due_hours)).isoformat(
            timespec="milliseconds"
        ),
        "hs_task_status": "NOT_STARTED",
        "hs_task_priority": "HIGH" if hot else "MEDIUM",
        "hs_task_type": "CALL",
    }
    if action.hubspot_owner_id:
        properties["hubspot_owner_id"] = action.hubspot_owner_id
    # Written before the request leaves: if no answer comes back, the next try knows
    # a task may exist and looks for it first. Fenced too: a worker that lost its
    # claim stops here, before it could make a second task.
    claim_update(
        delivery, remote={**delivery.remote, "task_requested_at": timezone.now().isoformat()}
    )
    try:
        reply = post_json(
            delivery,
            "hubspot: create task",
            f"{base}/crm/v3/objects/tasks",
            {
                "properties": properties,
                "associations": [
                    {
                        "to": {"id": delivery.remote["contact_id"]},
                        "types": [
                            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}
                        ],
                    }
                ],
            },
            headers,
        )
    except Failure as failure:
        if failure.status is not None and 400 <= failure.status < 500:
            # HubSpot answered that it made nothing (429 included): no need to look.
            claim_update(delivery, remote=_without(delivery.remote, "task_requested_at"))
            raise
        if not failure.retryable:
            raise
        # No answer, or a 5xx: the task may exist. Look for it once search can show it.
        settle = settings.AUTOMATIONS_HUBSPOT_SEARCH_SETTLE
        raise Failure(
            f"{failure}; HubSpot may have made the task, so it is looked for in {settle:.0f} s",
            status=failure.status,
            retryable=True,
            retry_after=max(settle, failure.retry_after or 0.0),
        ) from failure
    task_id = str(reply.json().get("id", ""))
    if not task_id:
        raise Failure(f"HubSpot's answer has no task id: {reply.body[:300]}")
    return task_id
