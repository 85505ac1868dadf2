"""HubSpot: upsert the contact by e-mail, then create one task on it, exactly once.

Resumable: the contact id and the task id are stored (under the worker's claim) as soon
as HubSpot gives them. When a task request went out and its answer never came back (a
worker killed, a timeout, a 5xx), HubSpot may have made the task: the next try looks for
it by the delivery's marker written into its body, once HubSpot's search has had time to
index it, and makes it only if it is not there.

Many leads at once: the worker that upserts a contact also claims up to
HUBSPOT_BATCH_SIZE - 1 other due HubSpot deliveries that have no contact yet, and
upserts them all in one batch request. Each companion is written under its own claim:
it gets its contact id (or, when HubSpot refused its contact, the mark to be sent alone
next time, so its failure is its own) and goes back to the queue for its task. Upserting
by e-mail is idempotent, and the task stays one per delivery: each lead once.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from automations import crm
from automations.fencing import LostClaim, claim_log, claim_update
from automations.models import Action, Delivery, DeliveryAttempt
from automations.senders.context import message_context, task_body
from automations.senders.http import Failure

# Calls one HubSpot delivery can make at most (upsert, search, create): with
# AUTOMATIONS_HTTP_TIMEOUT they bound how long a live delivery can take.
CALLS_PER_DELIVERY = 3
UPSERT_PATH = "/crm/v3/objects/contacts/batch/upsert"
_OPEN = [Delivery.Status.PENDING, Delivery.Status.RETRYING]


def not_connected() -> str:
    """Why HubSpot deliveries are held, or "" when HubSpot is connected."""
    return crm.not_connected_reason()


def send(delivery: Delivery) -> str:
    lead = delivery.lead
    if lead is None:
        raise Failure("A HubSpot task needs a lead: use it on lead_submitted.")
    context = message_context(delivery)
    if "contact_id" not in delivery.remote:
        _upsert(delivery)

    if "task_id" not in delivery.remote:
        marker = f"quizfunnel-delivery-{delivery.uid}"
        task_id = _task_already_made(delivery, marker)
        if task_id is None:
            task_id = _task_create(delivery, marker, context)
        claim_update(
            delivery, remote={**_without(delivery.remote, "task_requested_at"), "task_id": task_id}
        )
    return f"contact {delivery.remote['contact_id']}, task {delivery.remote['task_id']}"


# Batch upsert --------------------------------------------------------------------------


def _claim_companions(delivery: Delivery) -> list[Delivery]:
    """Other due HubSpot deliveries without a contact, claimed for this worker's batch."""
    room = settings.HUBSPOT_BATCH_SIZE - 1
    if room <= 0 or delivery.remote.get("upsert_alone"):
        return []
    now = timezone.now()
    candidates = list(
        Delivery.objects.filter(
            action__kind=Action.Kind.HUBSPOT,
            status__in=_OPEN,
            next_attempt_at__lte=now,
            lead__isnull=False,
            action__rule__enabled=True,
            action__rule__paused_at=None,
        )
        .exclude(pk=delivery.pk)
        .exclude(remote__has_key="contact_id")
        .exclude(remote__has_key="upsert_alone")
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:room]
    )
    if not candidates:
        return []
    # One UPDATE claims them; each row's later writes compare its own token (the same
    # value for this batch), so a row the sweeper took back is written by nobody here.
    token = uuid.uuid4()
    Delivery.objects.filter(pk__in=candidates, status__in=_OPEN, next_attempt_at__lte=now).update(
        status=Delivery.Status.SENDING, claimed_at=now, claim_token=token
    )
    return list(
        Delivery.objects.filter(pk__in=candidates, claim_token=token)
        .select_related("action__rule", "event__quiz", "lead__quiz")
        .order_by("pk")
    )


def _batch_errors(body: str) -> dict[str, str]:
    """E-mail (lowercased) -> HubSpot's message, from a 207 or 400 answer's errors."""
    try:
        answer = json.loads(body or "{}")
    except ValueError:
        return {}
    found = {}
    errors = answer.get("errors") if isinstance(answer, dict) else None
    for error in errors or []:
        if not isinstance(error, dict):
            continue
        for email in (error.get("context") or {}).get("ids") or []:
            found[str(email).lower()] = str(error.get("message") or error.get("category"))[:300]
    return found


def _upsert(delivery: Delivery) -> None:
    """Upsert this delivery's contact, in one batch with others that are due."""
    companions = _claim_companions(delivery)
    group = [delivery, *companions]
    mapping = crm.field_mapping()
    inputs: dict[str, dict] = {}
    # The newest lead of an e-mail sends its facts (HubSpot refuses one id twice a batch).
    for member in sorted(group, key=lambda d: (d.lead.created_at, d.pk)):
        inputs[member.lead.email.lower()] = {
            "idProperty": "email",
            "id": member.lead.email,
            "properties": crm.contact_properties(member.lead, mapping),
        }
    step = "hubspot: upsert contact" + (f" (batch of {len(inputs)})" if len(inputs) > 1 else "")
    started = time.perf_counter()
    try:
        reply = crm.call(None, step, UPSERT_PATH, {"inputs": list(inputs.values())})
    except Failure as failure:
        ms = int((time.perf_counter() - started) * 1000)
        refused = (
            failure.status is not None
            and 400 <= failure.status < 500
            and not failure.auth
            and not failure.rate_limited
        )
        split = refused and len(inputs) > 1
        if not failure.rate_limited or failure.status == 429:
            for member in list(group):
                email = member.lead.email.lower()
                try:
                    _log(
                        member,
                        step,
                        inputs[email],
                        failure.status,
                        str(failure),
                        ms,
                        count=member is delivery and not split,
                    )
                except LostClaim:
                    if member is delivery:
                        raise
                    companions.remove(member)  # another worker has it now
        _release(companions, failure=failure, alone=split)
        if split:
            # One contact HubSpot would not take refuses the whole batch: from now on
            # each is sent alone and answers for itself only.
            claim_update(delivery, remote={**delivery.remote, "upsert_alone": True})
            raise Failure(
                f"{failure} (a batch of {len(inputs)}; each contact is sent alone now)",
                retryable=True,
                retry_after=0.0,
                rate_limited=True,  # not this contact's fault: no attempt spent
            ) from failure
        raise
    ms = int((time.perf_counter() - started) * 1000)
    answer = reply.json()
    ids = {}
    for result in answer.get("results") or []:
        email = str((result.get("properties") or {}).get("email") or "").lower()
        if email and result.get("id"):
            ids[email] = str(result["id"])
    errors = _batch_errors(reply.body)
    primary_id = None
    for member in group:
        email = member.lead.email.lower()
        contact_id = ids.get(email)
        result = {"id": contact_id} if contact_id else {"error": errors.get(email, "no id")}
        try:
            # A companion's attempts are its own runs: riding in a batch spends none.
            _log(
                member,
                step,
                inputs[email],
                reply.status,
                json.dumps(result),
                ms,
                count=member is delivery,
            )
        except LostClaim:
            if member is delivery:
                raise
            continue
        if member is delivery:
            primary_id = contact_id
            continue
        _release_one(member, contact_id=contact_id, alone=email in errors)
    if primary_id is None:
        email = delivery.lead.email.lower()
        if email in errors:
            if len(inputs) > 1:
                claim_update(delivery, remote={**delivery.remote, "upsert_alone": True})
                raise Failure(
                    f"HubSpot refused this contact in a batch: {errors[email]}; it is sent "
                    "alone next.",
                    retryable=True,
                    retry_after=0.0,
                    rate_limited=True,
                )
            raise Failure(f"HubSpot refused the contact: {errors[email]}", status=reply.status)
        raise Failure(
            f"HubSpot's upsert answer has no contact id: {reply.body[:300]}", retryable=True
        )
    claim_update(delivery, remote={**delivery.remote, "contact_id": primary_id})


def _log(member, step, own_input, status, response, ms, *, count=True) -> None:
    """Each delivery's log shows its own contact only, never the batch's other people."""
    url = settings.HUBSPOT_BASE_URL.rstrip("/") + UPSERT_PATH
    claim_log(
        member,
        DeliveryAttempt(
            step=step,
            status_code=status,
            duration_ms=ms,
            error="" if status and 200 <= status < 300 else response[:1000],
            request=f"POST {url}\n" + json.dumps({"inputs": [own_input]})[:4000],
            response=response[:4000],
        ),
        count=count and status != 429,
    )


def _release_one(member: Delivery, *, contact_id: str | None, alone: bool) -> None:
    """A companion goes back to the queue, under its claim, for its task (or alone)."""
    from automations.delivery import queue_on_commit  # delivery imports the senders

    remote = dict(member.remote)
    if contact_id:
        remote["contact_id"] = contact_id
    if alone:
        remote["upsert_alone"] = True
    try:
        claim_update(
            member,
            status=Delivery.Status.PENDING,
            claim_token=None,
            next_attempt_at=timezone.now(),
            remote=remote,
        )
    except LostClaim:
        return
    queue_on_commit([member.pk])


def _release(companions: list[Delivery], *, failure: Failure, alone: bool) -> None:
    """The batch failed as a whole: the companions wait as its first member does."""
    from automations.delivery import publish, queue_on_commit, retry_delay

    if failure.auth or alone:
        for member in companions:
            _release_one(member, contact_id=None, alone=alone)
        return
    delay = (
        failure.retry_after
        if failure.rate_limited and failure.retry_after is not None
        else retry_delay(failure, 1)
    )
    for member in companions:
        try:
            claim_update(
                member,
                status=Delivery.Status.RETRYING,
                claim_token=None,
                next_attempt_at=timezone.now() + timedelta(seconds=delay),
                last_error=str(failure)[:1000],
            )
        except LostClaim:
            continue
    if delay <= 0:
        queue_on_commit([m.pk for m in companions])
    else:
        publish([m.pk for m in companions], countdown=delay)


# The task --------------------------------------------------------------------------------


def _without(remote: dict, key: str) -> dict:
    return {k: v for k, v in remote.items() if k != key}


def _task_already_made(delivery: Delivery, marker: str) -> str | None:
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
        crm.call(
            delivery,
            "hubspot: find task",
            "/crm/v3/objects/tasks/search",
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
        )
        .json()
        .get("results")
        or []
    )
    return str(found[0]["id"]) if found else None


def _task_create(delivery: Delivery, marker: str, context: dict) -> str:
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
        reply = crm.call(
            delivery,
            "hubspot: create task",
            "/crm/v3/objects/tasks",
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
        )
    except Failure as failure:
        if failure.rate_limited or (failure.status is not None and 400 <= failure.status < 500):
            # HubSpot answered that it made nothing (429 included), or the request never
            # left (our own rate limit): no need to look.
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
