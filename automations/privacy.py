"""A person's data: erase it, export it.

Erasure lives in automations because it reaches every app below (quizzes,
leads, tracking, automations' own deliveries). In one transaction it deletes
the person's leads (their notes and status history with them), clears what
they typed from their answers, redacts their events (tracking.erasure: the
events stay, so funnels keep their counts), removes the logged requests and
responses of their deliveries and the refused payloads that hold their
e-mail, and writes an Erasure: the audit row (who erased whom, when; never
what) and the outbox of the deletion at HubSpot, sent afterwards by a Celery
task that claims it, fences its writes and retries by class of error.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from automations import crm as hubspot_account
from automations.delivery import publish, queue_on_commit, retry_delay
from automations.models import Action, Delivery, DeliveryAttempt, Erasure
from automations.senders import Failure
from core.redaction import scrub
from core.text import clean_lower
from leads.models import Lead
from quizzes.erasure import (
    answers_erase,
    attempts_close,
    attempts_pseudonymise,
    attempts_scrub,
)
from quizzes.models import Answer, Attempt
from tracking.erasure import (
    events_erase,
    external_events_erase,
    rejected_events_erase,
    visitors_pseudonymise,
)
from tracking.models import ConversionEvent, RejectedEvent

log = logging.getLogger(__name__)

ERASED_LEAD = "Erased lead"
NOT_SENT = "Not sent: the person's data was erased."
GDPR_DELETE_PATH = "/crm/v3/objects/contacts/gdpr-delete"
CRM_OPEN = [Erasure.CrmStatus.PENDING, Erasure.CrmStatus.RETRYING]
CRM_WAITING = [Erasure.CrmStatus.SENDING, Erasure.CrmStatus.HELD]


class InvalidEmail(ValidationError):
    pass


def email_normalise(email: str) -> str:
    """The e-mail as leads store it (lead forms lowercase it); InvalidEmail if it is none."""
    value = clean_lower(email or "").strip()
    try:
        validate_email(value)
    except ValidationError:
        raise InvalidEmail(f"“{email}” is not an e-mail address.") from None
    return value


def subject_for(email: str) -> str:
    """A keyed hash of the e-mail: not reversible without SECRET_KEY, the same every time."""
    return salted_hmac("quizfunnel.erasure", email_normalise(email), algorithm="sha256").hexdigest()


# --- Erase -----------------------------------------------------------------------------


def _secrets(email: str, leads: list[Lead]) -> tuple[str, ...]:
    """What identifies the person in free text: e-mail, name, company, phone.

    Short values are left out, so that "Al" does not erase every word with an "al".
    """
    values = {email}
    for lead in leads:
        values |= {lead.email, lead.name.strip(), lead.company.strip(), lead.phone.strip()}
    return tuple(sorted(v for v in values if len(v) >= 3))


def _deliveries_erase(*, deliveries: list[Delivery], secrets: tuple[str, ...]) -> None:
    for delivery in deliveries:
        delivery.lead = None
        delivery.remote = {}  # the CRM's ids of the person's contact and task
        if delivery.status not in (
            Delivery.Status.DELIVERED,
            Delivery.Status.DEAD,
            Delivery.Status.SKIPPED,
        ):
            delivery.status = Delivery.Status.DEAD
            delivery.last_error = NOT_SENT
        else:
            delivery.last_error = scrub(delivery.last_error, secrets)
    Delivery.objects.bulk_update(deliveries, ["lead", "remote", "status", "last_error"])
    logged = list(
        DeliveryAttempt.objects.filter(delivery__in=[d.pk for d in deliveries]).only("error")
    )
    for attempt in logged:
        attempt.request = ""
        attempt.response = ""
        attempt.error = scrub(attempt.error, secrets)
    DeliveryAttempt.objects.bulk_update(logged, ["request", "response", "error"], batch_size=500)


def _admin_log_erase(*, lead_ids: list[int], secrets: tuple[str, ...]) -> None:
    """Admin's history names a lead by str(lead), which holds the e-mail."""
    entries = list(
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Lead),
            object_id__in=[str(pk) for pk in lead_ids],
        )
    )
    for entry in entries:
        entry.object_repr = ERASED_LEAD
        entry.change_message = scrub(entry.change_message, secrets)
    LogEntry.objects.bulk_update(entries, ["object_repr", "change_message"])


def _erase(*, email: str, leads: list[Lead], kind: str, by, by_label: str, crm: bool) -> Erasure:
    lead_ids = [lead.pk for lead in leads]
    attempt_ids = [lead.attempt_id for lead in leads]
    secrets = _secrets(email, leads)
    visitor_ids = set(
        ConversionEvent.objects.filter(Q(lead_id__in=lead_ids) | Q(attempt_id__in=attempt_ids))
        .exclude(visitor_id="")
        .values_list("visitor_id", flat=True)
        .distinct()
    ) | {lead.attempt.visitor_id for lead in leads if lead.attempt.visitor_id}
    if kind == Erasure.Kind.PERSON:
        # Their runs from the same browser that never became a lead are theirs too
        # (another person's lead from a shared browser is not).
        attempt_ids += list(
            Attempt.objects.filter(visitor_id__in=visitor_ids, lead__isnull=True)
            .exclude(pk__in=attempt_ids)
            .values_list("pk", flat=True)
        )
    # With the visitor's quiz views (no attempt yet): their touches may hold the e-mail.
    events = ConversionEvent.objects.filter(
        Q(lead_id__in=lead_ids)
        | Q(attempt_id__in=attempt_ids)
        | Q(attempt__isnull=True, visitor_id__in=visitor_ids)
    )
    event_ids = list(events.values_list("pk", flat=True))
    deliveries = list(
        Delivery.objects.select_for_update(of=("self",))
        .filter(Q(lead_id__in=lead_ids) | Q(event_id__in=event_ids))
        .select_related("action")
    )
    in_flight = [d.pk for d in deliveries if d.status == Delivery.Status.SENDING]
    had_hubspot = any(d.action.kind == Action.Kind.HUBSPOT for d in deliveries)

    _deliveries_erase(deliveries=deliveries, secrets=secrets)
    counts = {
        "leads": len(lead_ids),
        "notes": sum(lead.notes.count() for lead in leads),
        "answers": answers_erase(attempt_ids=attempt_ids),
        "events": events_erase(
            events=ConversionEvent.objects.filter(pk__in=event_ids), secrets=secrets
        ),
        "deliveries": len(deliveries),
    }
    if (
        kind == Erasure.Kind.PERSON
        or not Lead.objects.filter(email=email).exclude(pk__in=lead_ids).exists()
    ):
        # What other systems sent about them (by their e-mail), once no lead of it is left.
        counts["external_events"] = external_events_erase(emails=[email], secrets=secrets)
    if kind == Erasure.Kind.PERSON:
        counts["rejected_events"] = rejected_events_erase(emails=[email], visitor_ids=visitor_ids)
    else:
        counts["rejected_events"] = rejected_events_erase(emails=[], visitor_ids=visitor_ids)
    attempts_pseudonymise(renamed=visitors_pseudonymise(visitor_ids=visitor_ids))
    attempts_scrub(attempt_ids=attempt_ids, secrets=secrets)
    attempts_close(attempt_ids=attempt_ids)
    _admin_log_erase(lead_ids=lead_ids, secrets=secrets)
    Lead.objects.filter(pk__in=lead_ids).delete()  # notes and status history cascade

    # A worker sending one of the person's deliveries right now may still log its request
    # and store the CRM's ids: scrub those again once its claim has surely ended.
    in_flight_window = timedelta(
        seconds=settings.AUTOMATIONS_CLAIM_TIMEOUT + settings.AUTOMATIONS_HTTP_TIMEOUT
    )
    erasure = Erasure(
        kind=kind,
        subject=subject_for(email),
        by=by if getattr(by, "pk", None) else None,
        by_label=by_label or (by.get_username() if getattr(by, "pk", None) else ""),
        counts=counts,
        in_flight_deliveries=in_flight,
        scrub_again_at=timezone.now() + in_flight_window if in_flight else None,
    )
    on_its_way = Erasure.objects.filter(
        subject=erasure.subject, crm_status__in=[*CRM_OPEN, *CRM_WAITING]
    ).exists()
    if crm and on_its_way:
        # Erased twice (a double click): one deletion at HubSpot is enough.
        erasure.crm_last_error = "An earlier erasure's HubSpot deletion is on its way."
    elif crm and (hubspot_account.hubspot_token() or had_hubspot):
        erasure.crm_status = Erasure.CrmStatus.PENDING
        erasure.crm_email = email
        if in_flight:
            # That worker may be upserting this contact right now: delete after its claim
            # has surely ended, or the contact could come back after the deletion.
            erasure.crm_next_attempt_at = erasure.scrub_again_at
    erasure.save()
    if erasure.crm_status == Erasure.CrmStatus.PENDING and not in_flight:
        queue_on_commit([erasure.pk], task=ERASE_TASK)
    return erasure


def person_erase(*, email: str, by=None, by_label: str = "") -> Erasure:
    """Erase everything about the person with this e-mail, at HubSpot too (through the outbox).

    Every lead of the e-mail goes; the events stay, anonymous, so every funnel and
    count is the same afterwards. InvalidEmail for something that is not an e-mail.
    """
    email = email_normalise(email)
    with transaction.atomic():
        leads = list(
            Lead.objects.select_for_update()
            .filter(email__iexact=email)
            .select_related("attempt")
            .order_by("pk")
        )
        return _erase(
            email=email, leads=leads, kind=Erasure.Kind.PERSON, by=by, by_label=by_label, crm=True
        )


def leads_erase(*, leads: Iterable[Lead], by=None, by_label: str = "") -> list[Erasure]:
    """Delete these leads the way erasure does (admin's Delete): their data goes, their
    events stay anonymous. The person's other leads and their HubSpot contact stay:
    a deleted lead may be a test or a duplicate, and HubSpot's GDPR deletion also
    blocks the address for good. One audit row per e-mail."""
    with transaction.atomic():
        chosen = list(
            Lead.objects.select_for_update()
            .filter(pk__in=[lead.pk for lead in leads])
            .select_related("attempt")
            .order_by("pk")
        )
        by_email: dict[str, list[Lead]] = {}
        for lead in chosen:
            by_email.setdefault(lead.email.lower(), []).append(lead)
        return [
            _erase(
                email=email,
                leads=group,
                kind=Erasure.Kind.LEAD,
                by=by,
                by_label=by_label,
                crm=False,
            )
            for email, group in by_email.items()
        ]


# --- The deletion at HubSpot (outbox) ---------------------------------------------------

ERASE_TASK = "automations.tasks.erase_in_crm"  # by name, as deliveries are queued


def erasure_crm_claim(erasure_id: int) -> uuid.UUID | None:
    """Take the CRM deletion for this worker: its claim token, or None if not due or taken."""
    token = uuid.uuid4()
    now = timezone.now()
    due = Q(crm_status__in=CRM_OPEN) | Q(crm_status=Erasure.CrmStatus.HELD)
    taken = (
        Erasure.objects.filter(due, pk=erasure_id, crm_next_attempt_at__lte=now)
        .exclude(crm_email="")
        .update(
            crm_status=Erasure.CrmStatus.SENDING,
            crm_claim=token,
            crm_claimed_at=now,
            crm_attempts=F("crm_attempts") + 1,
        )
    )
    return token if taken else None


def _fenced(erasure: Erasure, token: uuid.UUID, **fields) -> bool:
    """Write only while this worker still holds the claim; a worker that lost it writes nothing."""
    return bool(
        Erasure.objects.filter(
            pk=erasure.pk, crm_claim=token, crm_status=Erasure.CrmStatus.SENDING
        ).update(**fields)
    )


def erasure_crm_run(erasure_id: int) -> str | None:
    """Delete the contact at HubSpot if the deletion can be claimed; returns its new status.

    2xx, and 404 (no such contact): done, and the e-mail is forgotten. 429 waits for
    Retry-After; 5xx, timeouts and refused connections back off; any other 4xx is
    dead with the reason (the e-mail is kept so that it can be retried from admin).
    No token: held, without spending an attempt, until HUBSPOT_TOKEN is set.
    """
    token = erasure_crm_claim(erasure_id)
    if token is None:
        return None
    erasure = Erasure.objects.get(pk=erasure_id)
    email = erasure.crm_email
    if not hubspot_account.hubspot_token():
        _fenced(
            erasure,
            token,
            crm_status=Erasure.CrmStatus.HELD,
            crm_attempts=F("crm_attempts") - 1,
            crm_claim=None,
            crm_last_error="No HubSpot token: connect HubSpot on the Connections page (or "
            "set HUBSPOT_TOKEN); the deletion waits for it.",
        )
        return Erasure.CrmStatus.HELD
    try:
        # No delivery: nothing is logged, since the request holds the e-mail it erases.
        hubspot_account.call(
            None,
            "hubspot: gdpr delete",
            GDPR_DELETE_PATH,
            {"objectId": email, "idProperty": "email"},
        )
    except Failure as failure:
        if failure.status == 404:
            return _done(erasure, token, "HubSpot has no such contact.")
        reason = scrub(str(failure), (email,))[:1000]
        if failure.retryable and erasure.crm_attempts < settings.AUTOMATIONS_MAX_ATTEMPTS:
            delay = retry_delay(failure, erasure.crm_attempts)
            if _fenced(
                erasure,
                token,
                crm_status=Erasure.CrmStatus.RETRYING,
                crm_claim=None,
                crm_next_attempt_at=timezone.now() + timedelta(seconds=delay),
                crm_last_error=reason,
            ):
                publish([erasure.pk], task=ERASE_TASK, countdown=delay)
            return Erasure.CrmStatus.RETRYING
        _fenced(
            erasure, token, crm_status=Erasure.CrmStatus.DEAD, crm_claim=None, crm_last_error=reason
        )
        return Erasure.CrmStatus.DEAD
    return _done(erasure, token, "")


def _done(erasure: Erasure, token: uuid.UUID, note: str) -> str:
    _fenced(
        erasure,
        token,
        crm_status=Erasure.CrmStatus.DONE,
        crm_claim=None,
        crm_email="",
        crm_done_at=timezone.now(),
        crm_last_error=note,
    )
    return Erasure.CrmStatus.DONE


def erasure_scrub_again(*, erasure: Erasure) -> None:
    """Scrub the deliveries that were in flight at the erasure, now that their workers
    are surely done (what they logged or stored after the erasure goes too)."""
    with transaction.atomic():
        erasure = Erasure.objects.select_for_update().get(pk=erasure.pk)
        if erasure.scrub_again_at is None:
            return
        deliveries = list(
            Delivery.objects.select_for_update().filter(pk__in=erasure.in_flight_deliveries)
        )
        secrets = (erasure.crm_email,) if erasure.crm_email else ()
        _deliveries_erase(deliveries=deliveries, secrets=secrets)
        if not secrets:  # the e-mail is no longer known: no logged error is kept
            DeliveryAttempt.objects.filter(delivery__in=deliveries).update(error="")
        erasure.in_flight_deliveries, erasure.scrub_again_at = [], None
        erasure.save(update_fields=["in_flight_deliveries", "scrub_again_at"])


def erasures_sweep() -> int:
    """Send the CRM deletions that are due and left behind (broker down, worker killed),
    and scrub again the deliveries that were in flight at an erasure."""
    now = timezone.now()
    for erasure in Erasure.objects.filter(scrub_again_at__lte=now).only("pk"):
        erasure_scrub_again(erasure=erasure)
    stale = now - timedelta(seconds=settings.AUTOMATIONS_CLAIM_TIMEOUT)
    Erasure.objects.filter(crm_status=Erasure.CrmStatus.SENDING, crm_claimed_at__lt=stale).update(
        crm_status=Erasure.CrmStatus.RETRYING,
        crm_claim=None,
        crm_next_attempt_at=now,
        crm_last_error="The worker stopped in the middle of this deletion; resuming.",
    )
    statuses = [*CRM_OPEN, *([Erasure.CrmStatus.HELD] if hubspot_account.hubspot_token() else [])]
    due = list(
        Erasure.objects.filter(crm_status__in=statuses, crm_next_attempt_at__lte=now)
        .exclude(crm_email="")
        .values_list("pk", flat=True)[:1000]
    )
    publish(due, task=ERASE_TASK)
    return len(due)


def erasure_crm_retry(*, erasure: Erasure) -> bool:
    """Send a failed CRM deletion again (admin). False if there is nothing left to send."""
    updated = (
        Erasure.objects.filter(pk=erasure.pk, crm_status=Erasure.CrmStatus.DEAD)
        .exclude(crm_email="")
        .update(
            crm_status=Erasure.CrmStatus.PENDING,
            crm_attempts=0,
            crm_next_attempt_at=timezone.now(),
            crm_last_error="",
        )
    )
    if updated:
        queue_on_commit([erasure.pk], task=ERASE_TASK)
    return bool(updated)


# --- Export ----------------------------------------------------------------------------


def _answer(answer: Answer) -> dict:
    return {
        "question": answer.question.text,
        "answer": answer.display,
        "text": answer.text,
        "choices": [c.label for c in answer.choices.all()],
        "rating": answer.rating,
        "skipped": answer.skipped,
        "points": answer.points,
        "max_points": answer.max_points,
        "category": answer.category_name,
        "answered_at": answer.answered_at,
        "changed_at": answer.changed_at,
    }


def _stored(obj, *, skip: tuple[str, ...] = ()) -> dict:
    """Every stored field of `obj` (a related row by its name), so that a field added later
    is exported without anyone remembering to add it here."""
    data = {}
    for f in obj._meta.concrete_fields:
        if f.name in skip:
            continue
        if f.is_relation:
            related = getattr(obj, f.name)
            data[f.name] = None if related is None else str(related)
        else:
            data[f.name] = f.value_from_object(obj)
    return data


def _event(event: ConversionEvent) -> dict:
    return {
        **_stored(event, skip=("id", "attempt", "lead", "quiz", "question")),
        "added_by_the_browser": [
            {"occurred_at": e.occurred_at, "properties": e.properties}
            for e in event.enrichments.all()
        ],
    }


def _delivery(delivery: Delivery) -> dict:
    return {
        "action": str(delivery.action),
        "kind": delivery.action.kind,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "created_at": delivery.created_at,
        "delivered_at": delivery.delivered_at,
        "last_error": delivery.last_error,
        "remote": delivery.remote,
        "log": [
            {
                "at": a.at,
                "step": a.step,
                "status_code": a.status_code,
                "error": a.error,
                "request": a.request,
                "response": a.response,
            }
            for a in delivery.log.all()
        ],
    }


def _attempt(attempt: Attempt) -> dict:
    answers = attempt.answers.select_related("question").prefetch_related("choices")
    return {
        # The token and start key are keys, not data about the person.
        **_stored(attempt, skip=("id", "token", "start_key")),
        "answers": [_answer(a) for a in answers.order_by("answered_at", "pk")],
    }


def _run(attempt: Attempt) -> dict:
    """A run from the person's browser that never became a lead: its answers and events."""
    events = (
        ConversionEvent.objects.filter(attempt=attempt)
        .prefetch_related("enrichments")
        .order_by("occurred_at", "pk")
    )
    return {**_attempt(attempt), "events": [_event(e) for e in events]}


def _lead(lead: Lead) -> dict:
    attempt = lead.attempt
    events = (
        ConversionEvent.objects.filter(Q(lead=lead) | Q(attempt=attempt))
        .prefetch_related("enrichments")
        .order_by("occurred_at", "pk")
    )
    deliveries = (
        Delivery.objects.filter(Q(lead=lead) | Q(event__attempt=attempt))
        .select_related("action__rule")
        .prefetch_related("log")
        .order_by("created_at", "pk")
    )
    return {
        **_stored(lead, skip=("attempt",)),
        "status_changes": [
            {
                "at": c.at,
                "from": c.from_status,
                "to": c.to_status,
                "by": c.by.get_username() if c.by else None,
            }
            for c in lead.status_changes.select_related("by")
        ],
        "notes": [
            {"at": n.at, "author": n.author.get_username() if n.author else None, "text": n.text}
            for n in lead.notes.select_related("author")
        ],
        "attempt": _attempt(attempt),
        "events": [_event(e) for e in events],
        "deliveries": [_delivery(d) for d in deliveries],
    }


def person_export(*, email: str) -> dict:
    """Everything stored about the person with this e-mail, as plain data."""
    email = email_normalise(email)
    leads = (
        Lead.objects.filter(email__iexact=email)
        .select_related("quiz", "owner", "attempt")
        .order_by("created_at", "pk")
    )
    visitor_ids = {lead.attempt.visitor_id for lead in leads if lead.attempt.visitor_id}
    rejected = RejectedEvent.objects.filter(
        Q(visitor_id__in=visitor_ids)
        | Q(raw__icontains=email)
        | Q(reason__icontains=email)
        | Q(payload__icontains=email)
    ).order_by("received_at", "pk")
    return {
        "email": email,
        "exported_at": timezone.now(),
        "leads": [_lead(lead) for lead in leads],
        "other_runs_from_the_same_browser": [
            _run(attempt)
            for attempt in Attempt.objects.filter(visitor_id__in=visitor_ids, lead__isnull=True)
            .select_related("quiz")
            .order_by("started_at", "pk")
        ],
        "refused_browser_events": [
            {"received_at": r.received_at, "reason": r.reason, "payload": r.payload, "raw": r.raw}
            for r in rejected
        ],
        "erasures": [
            {"at": e.at, "kind": e.kind, "crm_status": e.crm_status}
            for e in Erasure.objects.filter(subject=subject_for(email)).order_by("at")
        ],
    }


def person_export_json(*, email: str) -> str:
    return json.dumps(
        person_export(email=email), cls=DjangoJSONEncoder, indent=2, ensure_ascii=False
    )
