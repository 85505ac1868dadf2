"""Running deliveries: claim atomically, send, and retry by class of failure.

- 2xx: delivered.
- 429: wait at least Retry-After; 5xx, timeouts, refused connections: back off
  exponentially with jitter; after AUTOMATIONS_MAX_ATTEMPTS the delivery is dead.
- 401 and 403: dead, the rule is paused and its owner told.
- any other 4xx: dead at once, with the reason.
"""

from __future__ import annotations

import logging
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from automations.models import Delivery, DeliveryAttempt, Rule
from automations.senders import SENDERS, Failure

log = logging.getLogger(__name__)
OPEN = [Delivery.Status.PENDING, Delivery.Status.RETRYING]

# The request path never waits for the broker: queueing happens on a
# background thread after commit, and the sweeper catches what it misses.
_publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-publisher")


def _publish(ids: list[int]) -> None:
    from automations.tasks import deliver

    if not settings.AUTOMATIONS_QUEUE:
        return
    for delivery_id in ids:
        try:
            deliver.apply_async((delivery_id,), retry=False)
        except Exception:  # the broker is down: the sweeper will send it
            log.warning("Could not queue delivery %s; the sweeper will.", delivery_id)


def queue_on_commit(ids: list[int]) -> None:
    if ids and settings.AUTOMATIONS_QUEUE:
        transaction.on_commit(lambda: _publisher.submit(_publish, ids))


def backoff(attempt: int) -> float:
    """Seconds before retry number `attempt` (1-based): base·2^(n-1), capped, ±25 % jitter."""
    delay = min(settings.AUTOMATIONS_BACKOFF_BASE * 2 ** (attempt - 1), 3600)
    return delay * random.uniform(0.75, 1.25)


def delivery_claim(delivery_id: int) -> bool:
    """Take the delivery for this worker; False if it is not due or someone has it."""
    now = timezone.now()
    return bool(
        Delivery.objects.filter(pk=delivery_id, status__in=OPEN, next_attempt_at__lte=now)
        .filter(action__rule__enabled=True, action__rule__paused_at=None)
        .update(status=Delivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )


def delivery_run(delivery_id: int) -> str | None:
    """Send one delivery if it can be claimed; returns its new status."""
    if not delivery_claim(delivery_id):
        return None
    delivery = Delivery.objects.select_related("action__rule", "event__quiz", "lead__owner").get(
        pk=delivery_id
    )
    try:
        summary = SENDERS[delivery.action.kind](delivery)
    except Failure as failure:
        _failed(delivery, failure)
    except Exception as error:  # a bug of ours: keep the delivery, retry, show why
        log.exception("Delivery %s failed unexpectedly", delivery_id)
        DeliveryAttempt.objects.create(delivery=delivery, step="internal", error=repr(error)[:1000])
        _failed(delivery, Failure(f"internal error: {error!r}", retryable=True))
    else:
        delivery.status = Delivery.Status.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.last_error = ""
        delivery.save(update_fields=["status", "delivered_at", "last_error"])
        log.info("Delivery %s delivered: %s", delivery_id, summary)
    return delivery.status


def _failed(delivery: Delivery, failure: Failure) -> None:
    delivery.last_error = str(failure)[:1000]
    if failure.auth:
        delivery.status = Delivery.Status.DEAD
        rule_pause(rule=delivery.action.rule, reason=str(failure))
    elif failure.retryable and delivery.attempts < settings.AUTOMATIONS_MAX_ATTEMPTS:
        delay = backoff(delivery.attempts)
        if failure.retry_after is not None:
            delay = failure.retry_after + random.uniform(0, 0.1 * failure.retry_after + 0.05)
        delivery.status = Delivery.Status.RETRYING
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        delivery.save(update_fields=["status", "next_attempt_at", "last_error"])
        _schedule(delivery.pk, delay)
        return
    else:
        delivery.status = Delivery.Status.DEAD
    delivery.save(update_fields=["status", "last_error"])


def _schedule(delivery_id: int, delay: float) -> None:
    from automations.tasks import deliver

    if not settings.AUTOMATIONS_QUEUE:
        return
    try:
        deliver.apply_async((delivery_id,), countdown=delay, retry=False)
    except Exception:
        log.warning("Could not schedule the retry of %s; the sweeper will.", delivery_id)


def rule_pause(*, rule: Rule, reason: str) -> None:
    """Stop a rule whose credentials were refused, and tell its owner."""
    updated = Rule.objects.filter(pk=rule.pk, paused_at=None).update(
        paused_at=timezone.now(), paused_reason=reason[:500]
    )
    if updated and rule.owner and rule.owner.email:
        send_mail(
            f"Quizfunnel paused the automation “{rule.name}”",
            f"The automation “{rule.name}” was paused because the service refused its "
            f"credentials:\n\n{reason}\n\nFix the token or URL, then resume the rule in the "
            "admin; its waiting deliveries will be sent then.",
            None,
            [rule.owner.email],
        )


def deliveries_sweep() -> int:
    """Send what is due and left behind (broker down, message lost, worker killed)."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.AUTOMATIONS_CLAIM_TIMEOUT)
    Delivery.objects.filter(status=Delivery.Status.SENDING, claimed_at__lt=stale).update(
        status=Delivery.Status.RETRYING,
        next_attempt_at=now,
        last_error="The worker stopped in the middle of this delivery; resuming.",
    )
    due = list(
        Delivery.objects.filter(
            status__in=OPEN,
            next_attempt_at__lte=now,
            action__rule__enabled=True,
            action__rule__paused_at=None,
        ).values_list("pk", flat=True)[:1000]
    )
    _publish(due)
    return len(due)


def delivery_replay(*, delivery: Delivery) -> None:
    """Send a delivery again (admin): dead or delivered, it goes back to the queue.

    A HubSpot delivery keeps its stored ids, so a replay never makes a second task.
    """
    Delivery.objects.filter(pk=delivery.pk).exclude(status=Delivery.Status.SENDING).update(
        status=Delivery.Status.PENDING, next_attempt_at=timezone.now(), last_error=""
    )
    queue_on_commit([delivery.pk])


def rule_dry_run(*, rule: Rule, days: int) -> tuple[int, int]:
    """(events that would have matched, events of the trigger) over the last `days` days."""
    since = timezone.now() - timedelta(days=days)
    from tracking.models import ConversionEvent

    events = ConversionEvent.objects.filter(
        name=rule.trigger, occurred_at__gte=since, is_bot=False, is_preview=False
    ).only("name", "properties", "is_bot", "is_preview")
    quizzes = list(rule.quizzes.all())
    if quizzes:  # a rule limited to some quizzes: only their events count
        events = events.filter(quiz__in=quizzes)
    total = matched = 0
    conditions = list(rule.conditions.all())
    for event in events.iterator(chunk_size=2000):
        total += 1
        matched += all(c.holds_for(event) for c in conditions)
    return matched, total
