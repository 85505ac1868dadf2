"""Running deliveries: write them with the event, claim atomically, send, retry by class.

- 2xx: delivered; the rule's next action is queued.
- 429, or our own share of HubSpot's rate limit used up: wait (Retry-After, or what
  HubSpot's policyName says), spending no attempt; 5xx, timeouts, refused connections: back off
  exponentially with jitter; after AUTOMATIONS_MAX_ATTEMPTS the delivery is dead.
- 401 and 403: held, the rule is paused and its owner told; Resume sends it again.
- any other 4xx: dead at once, with the reason.
- a sender that decides not to send (an ad platform and a lead without consent, or
  one that looked automated) ends the delivery skipped, with the reason.

A paused or switched-off rule, or a destination not configured (no HubSpot token),
holds its deliveries: they are written all the same and go out, once each, on Resume or
when the sweeper sees the destination configured. A rule's actions run in order: each
delivery after the first waits, spending no attempt, until the one before it finished.
"""

from __future__ import annotations

import logging
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from automations.fencing import LostClaim, claim_log, claim_update
from automations.models import Action, Delivery, DeliveryAttempt, Rule
from automations.senders import SENDERS, Failure, Skip, connected_kinds, not_connected
from leads.models import Lead
from tracking.models import ConversionEvent

log = logging.getLogger(__name__)
OPEN = [Delivery.Status.PENDING, Delivery.Status.RETRYING]
FINISHED = [Delivery.Status.DELIVERED, Delivery.Status.DEAD, Delivery.Status.SKIPPED]
DELIVER_TASK = "automations.tasks.deliver"  # by name: tasks import this module, not back

# The request path never waits for the broker: queueing happens on a
# background thread after commit, and the sweeper catches what it misses.
_publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-publisher")


def publish(ids: list[int], *, task: str = DELIVER_TASK, countdown: float | None = None) -> None:
    """Send `task` for each outbox row id now (by name); a broker that is down is
    the sweeper's to catch up with."""
    if not settings.AUTOMATIONS_QUEUE:
        return
    for pk in ids:
        try:
            current_app.send_task(task, (pk,), countdown=countdown, retry=False)
        except Exception:  # the broker is down: the sweeper will send it
            log.warning("Could not queue %s for %s; the sweeper will.", task, pk)


def queue_on_commit(ids: list[int], *, task: str = DELIVER_TASK) -> None:
    """Queue the outbox rows once their transaction commits, on the publisher thread."""
    if ids and settings.AUTOMATIONS_QUEUE:
        transaction.on_commit(lambda: _publisher.submit(publish, ids, task=task))


def backoff(attempt: int) -> float:
    """Seconds before retry number `attempt` (1-based): base·2^(n-1), capped, ±25 % jitter."""
    delay = min(settings.AUTOMATIONS_BACKOFF_BASE * 2 ** (max(attempt, 1) - 1), 3600)
    return delay * random.uniform(0.75, 1.25)


def retry_delay(failure: Failure, attempts: int) -> float:
    """Seconds before the next try: at least Retry-After when the service gave one (a
    little jitter on top), else the exponential backoff."""
    if failure.retry_after is not None:
        return failure.retry_after + random.uniform(0, 0.1 * failure.retry_after + 0.05)
    return backoff(attempts)


def action_hold_reason(action: Action) -> str:
    """Why deliveries of this action wait instead of going out, or ""."""
    return action.rule.hold_reason() or action.unreadable_secret() or not_connected(action.kind)


def deliveries_write(*, event: ConversionEvent, lead: Lead | None, rules: list[Rule]) -> list[int]:
    """One delivery per action of each rule, chained in the rule's order; ids to queue.

    Held or not, every matching action gets its row: nothing that matched is lost.
    The event was inserted in this very transaction (event_recorded is sent only for a
    new row), so none of its deliveries can exist yet: one INSERT each, no look-up
    first (the unique constraint on action and event still stands guard).
    """
    due = []
    for rule in rules:
        previous = None
        for action in rule.actions.all():
            if previous is None:
                reason = action_hold_reason(action)
                status = Delivery.Status.HELD if reason else Delivery.Status.PENDING
            else:
                reason, status = "", Delivery.Status.WAITING
            delivery = Delivery.objects.create(
                action=action,
                event=event,
                lead=lead,
                after=previous,
                status=status,
                held_reason=reason,
            )
            if status == Delivery.Status.PENDING:
                due.append(delivery.pk)
            previous = delivery
    return due


def delivery_run(delivery_id: int) -> str | None:
    """Send one delivery if it can be claimed; returns its new status (None: not ours)."""
    now = timezone.now()
    token = uuid.uuid4()
    claimed = Delivery.objects.filter(
        pk=delivery_id, status__in=OPEN, next_attempt_at__lte=now
    ).update(status=Delivery.Status.SENDING, claimed_at=now, claim_token=token)
    if not claimed:
        return None
    # Read after the claim: what an earlier worker stored (remote ids) is all here.
    delivery = Delivery.objects.select_related("action__rule", "event__quiz", "lead__owner").get(
        pk=delivery_id
    )
    try:
        reason = action_hold_reason(delivery.action)
        if reason:
            claim_update(
                delivery, status=Delivery.Status.HELD, held_reason=reason, claim_token=None
            )
            return delivery.status
        try:
            summary = SENDERS[delivery.action.kind](delivery)
        except Failure as failure:
            return _failed(delivery, failure)
        except Skip as skip:
            _finish(delivery, Delivery.Status.SKIPPED, last_error=str(skip)[:1000])
            log.info("Delivery %s skipped: %s", delivery_id, skip)
            return delivery.status
        except LostClaim:
            raise
        except Exception as error:  # a bug of ours: keep the delivery, retry, show why
            log.exception("Delivery %s failed unexpectedly", delivery_id)
            claim_log(delivery, DeliveryAttempt(step="internal", error=repr(error)[:1000]))
            return _failed(delivery, Failure(f"internal error: {error!r}", retryable=True))
        _finish(delivery, Delivery.Status.DELIVERED, delivered_at=timezone.now(), last_error="")
        log.info("Delivery %s delivered: %s", delivery_id, summary)
        return delivery.status
    except LostClaim:
        # The sweeper gave this delivery to another worker while this one was in a call
        # that outlived its claim: the other worker's writes stand, this one's are dropped.
        log.warning("Delivery %s: the claim was taken back; this worker stops.", delivery_id)
        return None


def _finish(delivery: Delivery, status: str, **fields) -> None:
    """The last fenced write of a claim; a finished delivery lets the next action go."""
    with transaction.atomic():
        claim_update(delivery, status=status, claim_token=None, **fields)
        if status in FINISHED:
            _release_successors([delivery.pk])


def _release_successors(ids: list[int]) -> None:
    waiting = Delivery.objects.filter(after_id__in=ids, status=Delivery.Status.WAITING)
    released = list(waiting.values_list("pk", flat=True))
    if released:
        Delivery.objects.filter(pk__in=released, status=Delivery.Status.WAITING).update(
            status=Delivery.Status.PENDING, next_attempt_at=timezone.now()
        )
        queue_on_commit(released)


def _failed(delivery: Delivery, failure: Failure) -> str:
    error = str(failure)[:1000]
    if failure.auth:
        reason = f"{failure} The rule is paused: fix the credentials, then Resume it."
        _finish(delivery, Delivery.Status.HELD, held_reason=reason[:500], last_error=error)
        rule_pause(rule=delivery.action.rule, reason=str(failure))
    elif failure.rate_limited:
        # Waiting for a rate limit is no failed try: no attempt spent, never dead for it.
        delay = max(failure.retry_after or 0.0, 0.0)
        _finish(
            delivery,
            Delivery.Status.RETRYING,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
            last_error=error,
        )
        publish([delivery.pk], countdown=delay or None)
    elif failure.retryable and delivery.attempts < settings.AUTOMATIONS_MAX_ATTEMPTS:
        delay = retry_delay(failure, delivery.attempts)
        _finish(
            delivery,
            Delivery.Status.RETRYING,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
            last_error=error,
        )
        publish([delivery.pk], countdown=delay)
    else:
        _finish(delivery, Delivery.Status.DEAD, last_error=error)
    return delivery.status


def rule_pause(*, rule: Rule, reason: str) -> None:
    """Stop a rule whose credentials were refused, hold its deliveries, tell its owner."""
    with transaction.atomic():
        updated = Rule.objects.filter(pk=rule.pk, paused_at=None).update(
            paused_at=timezone.now(), paused_reason=reason[:500]
        )
        Delivery.objects.filter(action__rule=rule, status__in=OPEN).update(
            status=Delivery.Status.HELD,
            held_reason=f"The rule is paused: {reason} Resume it to send."[:500],
        )
    if updated and rule.owner and rule.owner.email:
        send_mail(
            f"Quizfunnel paused the automation “{rule.name}”",
            f"The automation “{rule.name}” was paused because the service refused its "
            f"credentials:\n\n{reason}\n\nFix the token or URL, then resume the rule in the "
            "admin; its held deliveries will be sent then.",
            None,
            [rule.owner.email],
        )


def rule_resume(*, rule: Rule) -> int:
    """Switch a rule on and unpause it; its held deliveries go out. Returns how many."""
    with transaction.atomic():
        Rule.objects.filter(pk=rule.pk).update(enabled=True, paused_at=None, paused_reason="")
        Rule.forget_triggers()
        return _release_held(Delivery.objects.filter(action__rule_id=rule.pk))


def _release_held(deliveries) -> int:
    """Held deliveries whose rule is running and destination configured go back to the queue.

    A held delivery's predecessor (if any) has finished, so it is due at once.
    """
    held = deliveries.filter(
        status=Delivery.Status.HELD,
        action__rule__enabled=True,
        action__rule__paused_at=None,
        action__kind__in=connected_kinds(),
    )
    ids = list(held.values_list("pk", flat=True))
    if ids:
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.HELD).update(
            status=Delivery.Status.PENDING, next_attempt_at=timezone.now(), held_reason=""
        )
        queue_on_commit(ids)
    return len(ids)


def deliveries_sweep() -> int:
    """Send what is due and left behind (broker down, message lost, worker killed), and
    what was held and may go now (a rule resumed, a destination configured)."""
    now = timezone.now()
    # Only claims older than the longest a live delivery can take (settings check
    # AUTOMATIONS_CLAIM_TIMEOUT against it): the worker is dead, or its claim is void.
    stale = now - timedelta(seconds=settings.AUTOMATIONS_CLAIM_TIMEOUT)
    Delivery.objects.filter(status=Delivery.Status.SENDING, claimed_at__lt=stale).update(
        status=Delivery.Status.RETRYING,
        claim_token=None,
        next_attempt_at=now,
        last_error="The worker stopped in the middle of this delivery; resuming.",
    )
    with transaction.atomic():
        released = _release_held(Delivery.objects.all())
    if released:
        log.info("%s held deliveries released.", released)
    finished = Delivery.objects.filter(status__in=FINISHED)
    with transaction.atomic():
        _release_successors(
            list(
                Delivery.objects.filter(
                    status=Delivery.Status.WAITING, after__in=finished
                ).values_list("after_id", flat=True)[:1000]
            )
        )
    due = list(
        Delivery.objects.filter(status__in=OPEN, next_attempt_at__lte=now).values_list(
            "pk", flat=True
        )[:1000]
    )
    publish(due)
    return len(due)


def delivery_replay(*, delivery: Delivery) -> None:
    """Send a delivery again (admin): dead or delivered, it goes back to the queue.

    A HubSpot delivery keeps its stored ids, so a replay never makes a second task. A
    GA4 delivery forgets that an earlier try went unanswered: a replay is a person's
    decision to send it again. A delivery still waiting for the action before it, or
    being sent, is left as it is.
    """
    fields = {}
    # Read now, not from `delivery`: the caller's copy may predate what a worker stored.
    stored = Delivery.objects.filter(pk=delivery.pk).values_list("remote", flat=True).first()
    if stored and "unanswered_at" in stored:
        fields["remote"] = {k: v for k, v in stored.items() if k != "unanswered_at"}
    Delivery.objects.filter(pk=delivery.pk).exclude(
        status__in=[Delivery.Status.SENDING, Delivery.Status.WAITING]
    ).update(
        status=Delivery.Status.PENDING,
        next_attempt_at=timezone.now(),
        last_error="",
        held_reason="",
        **fields,
    )
    queue_on_commit([delivery.pk])


def scorecard_resend(*, delivery: Delivery) -> bool:
    """Send the visitor's scorecard again, as a new message (a new Message-ID); False when
    it is still on its way (being sent, or waiting for the action before it)."""
    with transaction.atomic():
        locked = (
            Delivery.objects.select_for_update()
            .filter(pk=delivery.pk)
            .exclude(status__in=[Delivery.Status.SENDING, Delivery.Status.WAITING])
            .first()
        )
        if locked is None:
            return False
        remote = dict(locked.remote or {})
        if locked.status == Delivery.Status.DELIVERED:
            remote["resends"] = int(remote.get("resends", 0) or 0) + 1
        Delivery.objects.filter(pk=locked.pk).update(remote=remote)
        delivery_replay(delivery=locked)
    return True


def rule_dry_run(*, rule: Rule, days: int) -> tuple[int, int]:
    """(events that would have matched, events of the trigger) over the last `days` days."""
    since = timezone.now() - timedelta(days=days)
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
