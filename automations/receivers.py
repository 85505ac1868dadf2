"""Conversion events -> deliveries, in the transaction that recorded the event."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from automations.delivery import queue_on_commit
from automations.models import Action, Condition, Delivery, Rule
from leads.models import Lead
from tracking.services import commit_durably
from tracking.signals import event_recorded


def on_event_recorded(sender, *, event, **kwargs) -> None:
    if event.is_bot or event.is_preview or event.name not in Rule.active_triggers():
        return
    rules = Rule.objects.filter(enabled=True, paused_at=None, trigger=event.name).prefetch_related(
        "conditions", "actions", "quizzes"
    )
    lead = event.lead or (
        Lead.objects.filter(attempt_id=event.attempt_id).first() if event.attempt_id else None
    )
    new = [
        Delivery(action=action, event=event, lead=lead)
        for rule in rules
        if rule.matches(event)
        for action in rule.actions.all()
    ]
    if not new:
        return
    # An outbox row always commits durably, whatever relaxed its transaction (a view).
    commit_durably()
    Delivery.objects.bulk_create(new, ignore_conflicts=True)
    ids = list(Delivery.objects.filter(event=event).values_list("pk", flat=True))
    queue_on_commit(ids)


def _rules_changed(sender, **kwargs) -> None:
    Rule.forget_triggers()


def connect() -> None:
    event_recorded.connect(on_event_recorded, dispatch_uid="automations.on_event_recorded")
    # A cache of which events have rules at all, so most events cost no query.
    for model in (Rule, Condition, Action):
        post_save.connect(
            _rules_changed, sender=model, dispatch_uid=f"automations.{model.__name__}.saved"
        )
        post_delete.connect(
            _rules_changed, sender=model, dispatch_uid=f"automations.{model.__name__}.deleted"
        )
