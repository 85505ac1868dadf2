"""Who another system's ids are: a person is their e-mail, and every lead with it.

An id is the person's when an identify call linked it to their e-mail (Identity), or
when the id is their e-mail itself (a userId such as "ada@example.com"). The links are
read when needed, never written onto the events, so a call made before its sender
identified the person joins them as soon as it does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q, QuerySet

from tracking.models import ExternalEvent, Identity


def person_ids(emails: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    """({userId: email}, {anonymousId: email}) for these (normalised) e-mails."""
    emails = {e for e in emails if e}
    users = {e: e for e in emails}
    anonymous: dict[str, str] = {}
    for kind, value, email in Identity.objects.filter(email__in=emails).values_list(
        "kind", "value", "email"
    ):
        (users if kind == Identity.Kind.USER else anonymous)[value] = email
    return users, anonymous


def person_events(
    emails: Iterable[str], *, types: Iterable[str] = ("track", "page"), **filters
) -> list[tuple[str, ExternalEvent]]:
    """(email, event) for the calls of these people, in time order."""
    users, anonymous = person_ids(emails)
    if not users and not anonymous:
        return []
    events: QuerySet[ExternalEvent] = ExternalEvent.objects.filter(
        Q(user_id__in=list(users)) | Q(anonymous_id__in=list(anonymous)),
        type__in=list(types),
        erased_at__isnull=True,
        **filters,
    ).order_by("occurred_at", "id")
    result = []
    for event in events:
        # The userId decides when both ids are known and disagree (it was identified).
        email = users.get(event.user_id) or anonymous.get(event.anonymous_id)
        if email:
            result.append((email, event))
    return result


def events_by_person(emails: Iterable[str], **filters) -> dict[str, list[ExternalEvent]]:
    by_email: dict[str, list[ExternalEvent]] = defaultdict(list)
    for email, event in person_events(emails, **filters):
        by_email[email].append(event)
    return by_email
