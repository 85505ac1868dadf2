"""Recording conversion events.

Server events get deterministic ids (uuid5 of attempt, name and step), so a
retry, a double click, the back button or two concurrent requests leave one
event of each once-only kind; the database's unique constraints back that up.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from core.visitor import Visitor, medium_of, source_of
from leads.models import Lead
from quizzes.models import Attempt, Question, Quiz
from quizzes.selectors import attempt_touches
from tracking import plan
from tracking.models import ConversionEvent
from tracking.signals import event_recorded

NAMESPACE = uuid.UUID("8f2d7c1e-3b9a-4c55-9a0e-6f1d2b7c4e10")


def event_id_for(
    name: str,
    *,
    attempt: Attempt | None = None,
    question_id: int | None = None,
    discriminator: str | None = None,
) -> uuid.UUID:
    """The id of a server event: the same action always gets the same id."""
    frequency = plan.spec_for(name).frequency
    if frequency == plan.Frequency.ONCE_PER_ATTEMPT:
        key = f"{attempt.token}:{name}"
    elif frequency == plan.Frequency.ONCE_PER_QUESTION:
        key = f"{attempt.token}:{name}:{question_id}"
    elif discriminator is not None:
        key = f"{attempt.token if attempt else ''}:{name}:{discriminator}"
    else:
        return uuid.uuid4()
    return uuid.uuid5(NAMESPACE, key)


def event_record(
    *,
    name: str,
    quiz: Quiz,
    properties: dict,
    attempt: Attempt | None = None,
    question: Question | None = None,
    lead: Lead | None = None,
    visitor: Visitor | None = None,
    occurred_at: datetime | None = None,
    discriminator: str | None = None,
    is_bot: bool | None = None,
) -> tuple[ConversionEvent, bool]:
    """Record a server event once; returns (event, created).

    Call it inside the transaction of the action it describes. `visitor` is who is
    on the page (device, bot guess; the event id is noted on it for the page);
    attribution comes from the attempt when there is one. `is_bot`, when given,
    overrides the visitor's User-Agent guess.
    """
    props = plan.validate(name, properties)
    event_id = event_id_for(
        name,
        attempt=attempt,
        question_id=question.pk if question else None,
        discriminator=discriminator,
    )
    if visitor is not None:
        visitor.event_ids[name] = str(event_id)
    first, last = attempt_touches(attempt=attempt, visitor=visitor)
    visitor_id = (attempt.visitor_id if attempt else "") or (visitor.id if visitor else "")
    if is_bot is None:
        is_bot = visitor.is_bot if visitor is not None else False
    event = ConversionEvent(
        event_id=event_id,
        name=name,
        quiz=quiz,
        attempt=attempt,
        question=question,
        lead=lead,
        visitor_id=visitor_id,
        occurred_at=occurred_at or timezone.now(),
        source=ConversionEvent.Source.SERVER,
        properties=props,
        first_touch=first,
        last_touch=last,
        ft_source=source_of(first) if first else "",
        ft_medium=medium_of(first) if first else "",
        ft_campaign=first.get("utm_campaign", ""),
        ft_referrer=first.get("referrer", ""),
        lt_source=source_of(last) if last else "",
        device=visitor.device if visitor is not None else ConversionEvent.Device.UNKNOWN,
        is_bot=is_bot,
        is_preview=attempt.is_preview if attempt else bool(props.get("preview")),
    )
    relaxed = name in plan.VIEWS and settings.TRACKING_VIEWS_ASYNC_COMMIT
    if not ConversionEvent.objects.insert_once(event, relaxed_commit=relaxed):
        # Recorded before: a retry, a double click, the back button or a
        # concurrent request for the same action.
        return ConversionEvent.objects.get(event_id=event_id), False
    if not relaxed:
        event_recorded.send(sender=ConversionEvent, event=event)
        return event, True
    # The one place that decides: a view stays relaxed only if no listener wrote
    # anything (an outbox row, any row at all); no listener has to ask.
    watch = _WriteWatch()
    with connections[ConversionEvent.objects.db].execute_wrapper(watch):
        event_recorded.send(sender=ConversionEvent, event=event)
    if watch.wrote:
        commit_durably(ConversionEvent.objects.db)
    return event, True


class _WriteWatch:
    """An execute wrapper that notes whether any statement but a read ran.

    Everything not known to be a read counts as a write, so a statement it does
    not recognise errs on the side of a durable commit.
    """

    READS = ("select", "savepoint", "release", "rollback", "show")

    def __init__(self) -> None:
        self.wrote = False

    def __call__(self, execute, sql, params, many, context):
        if not self.wrote and not sql.lstrip()[:9].lower().startswith(self.READS):
            self.wrote = True
        return execute(sql, params, many, context)


def commit_durably(using: str | None = None) -> None:
    """Make the current transaction wait for the disk flush when it commits.

    event_record calls it when a listener of a view's event wrote anything;
    listeners need not call it themselves.
    """
    connection = transaction.get_connection(using)
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('synchronous_commit', 'on', true)")
