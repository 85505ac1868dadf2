"""Erasing a person from the events: the one change an append-only event ever gets.

Events stay, so every funnel, count and rate stays the same; what identifies
the person goes: the lead link, the personal properties (tracking.plan marks
them), any other text holding their e-mail or name, and the pseudonymous
visitor id that ties the events to their browser. Called by
automations.privacy inside the erasure's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.utils import timezone

from core.redaction import scrub
from tracking import plan, rollups
from tracking.models import ConversionEvent, EventEnrichment, ExternalEvent, Identity, RejectedEvent
from tracking.people import person_ids

# Where a campaign link's values are kept: a utm value may be the person's e-mail.
TOUCHES = (
    "first_touch",
    "last_touch",
    "ft_source",
    "ft_medium",
    "ft_campaign",
    "ft_referrer",
    "lt_source",
)


def events_erase(*, events: QuerySet[ConversionEvent], secrets: tuple[str, ...]) -> int:
    """Redact the events (and what the browser added to them); returns how many.

    The result still fits the tracking plan: strings become plan.REDACTED, other
    values keep their type. Through bulk_update, since save() refuses to change
    an event.
    """
    with rollups.rewriting(events):
        return _redact(events, secrets)


def _redact(events: QuerySet[ConversionEvent], secrets: tuple[str, ...]) -> int:
    now = timezone.now()
    changed = []
    for event in events.only("pk", "name", "properties", *TOUCHES):
        event.properties = plan.redact(event.name, event.properties, secrets=secrets)
        for name in TOUCHES:
            setattr(event, name, scrub(getattr(event, name), secrets))
        event.lead = None
        event.erased_at = now
        changed.append(event)
    ConversionEvent.objects.bulk_update(
        changed, ["properties", *TOUCHES, "lead", "erased_at"], batch_size=500
    )
    enrichments = list(
        EventEnrichment.objects.filter(event__in=[e.pk for e in changed]).only("properties")
    )
    for enrichment in enrichments:
        enrichment.properties = scrub(enrichment.properties, secrets)
    EventEnrichment.objects.bulk_update(enrichments, ["properties"], batch_size=500)
    return len(changed)


def visitors_pseudonymise(*, visitor_ids: Iterable[str]) -> dict[str, str]:
    """Give each visitor's events a new random id: the same one for all of a visitor's
    events, so counts of visitors do not change, but no longer the one in their cookie."""
    renamed = {}
    for old in {v for v in visitor_ids if v}:
        new = uuid.uuid4().hex
        ConversionEvent.objects.filter(visitor_id=old).update(visitor_id=new)
        renamed[old] = new
    return renamed


def rejected_events_erase(*, emails: Iterable[str], visitor_ids: Iterable[str]) -> int:
    """Delete the refused payloads that came from the person's browser or hold their e-mail
    (kept only for inspection; no report counts them)."""
    match = Q(visitor_id__in=[v for v in visitor_ids if v])
    for email in emails:
        match |= Q(raw__icontains=email) | Q(reason__icontains=email)
        match |= Q(payload__icontains=email)
    deleted, _ = RejectedEvent.objects.filter(match).delete()
    return deleted


def external_events_erase(*, emails: Iterable[str], secrets: tuple[str, ...]) -> int:
    """Unlink and redact what other systems sent about these people; returns how many calls.

    Their ids are replaced by new random ones (one per id, so counts stay), an identify's
    traits and the context's ip and traits go, other text holding the e-mail or name is
    scrubbed, and the links (Identity) are deleted.
    """
    emails = {e for e in emails if e}
    users, anonymous = person_ids(emails)
    events = list(
        ExternalEvent.objects.filter(
            Q(user_id__in=list(users)) | Q(anonymous_id__in=list(anonymous))
        ).only("pk", "type", "user_id", "anonymous_id", "properties", "context")
    )
    renamed: dict[str, str] = {}

    def pseudonym(value: str, known: dict) -> str:
        if not value or value not in known:
            return scrub(value, secrets) if value else value
        return renamed.setdefault(value, uuid.uuid4().hex)

    now = timezone.now()
    for event in events:
        event.user_id = pseudonym(event.user_id, users)
        event.anonymous_id = pseudonym(event.anonymous_id, anonymous)
        if event.type == ExternalEvent.Type.IDENTIFY:
            event.properties = {}
        else:
            event.properties = scrub(event.properties, secrets)
        context = {k: v for k, v in (event.context or {}).items() if k not in ("ip", "traits")}
        event.context = scrub(context, secrets)
        event.erased_at = now
    ExternalEvent.objects.bulk_update(
        events, ["user_id", "anonymous_id", "properties", "context", "erased_at"], batch_size=500
    )
    Identity.objects.filter(email__in=emails).delete()
    return len(events)
