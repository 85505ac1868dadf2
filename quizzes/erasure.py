"""Erasing a person's answers: the scores stay (they are counts), the words go."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models

from core.redaction import scrub
from quizzes.models import Answer, Attempt, new_attempt_token


def answers_erase(*, attempt_ids: Iterable[int]) -> int:
    """Clear what the person typed and what was shown as their answer; returns how many.

    Points, ratings and chosen choices stay: without the person they are anonymous,
    and they are what an attempt's score was made of.
    """
    return Answer.objects.filter(attempt_id__in=list(attempt_ids)).update(text="", display="")


def attempts_pseudonymise(*, renamed: dict[str, str]) -> None:
    """The attempts follow their events' new visitor ids (tracking.erasure)."""
    for old, new in renamed.items():
        Attempt.objects.filter(visitor_id=old).update(visitor_id=new)


def attempts_close(*, attempt_ids: Iterable[int]) -> None:
    """A new token for each erased attempt: the old result link (in the person's e-mail and
    history) then leads nowhere, instead of back to a lead form that would make a lead
    whose lead_submitted already exists, erased."""
    for attempt_id in attempt_ids:
        Attempt.objects.filter(pk=attempt_id).update(token=new_attempt_token())


def attempts_scrub(*, attempt_ids: Iterable[int], secrets: tuple[str, ...]) -> None:
    """Whatever JSON an attempt carries (the touches it started with: a campaign link
    can hold an e-mail in utm_content) loses the person's e-mail and name.

    Every JSON field of the model, so that one added later is not forgotten.
    """
    fields = [f.name for f in Attempt._meta.concrete_fields if isinstance(f, models.JSONField)]
    if not fields:
        return
    attempts = list(Attempt.objects.filter(pk__in=list(attempt_ids)).only(*fields))
    for attempt in attempts:
        for name in fields:
            setattr(attempt, name, scrub(getattr(attempt, name), secrets))
    Attempt.objects.bulk_update(attempts, fields)
