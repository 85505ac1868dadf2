"""Conversion events -> deliveries, in the transaction that recorded the event."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from automations.delivery import deliveries_write, queue_on_commit
from automations.models import Action, Condition, Rule
from automations.reconcile import on_reconciling
from automations.retention import on_events_dropping
from leads.models import Lead
from tracking.signals import event_recorded, events_dropping, reconciling


def on_event_recorded(sender, *, event, **kwargs) -> None:
    if event.is_bot or event.is_preview or event.name not in Rule.triggers():
        return
    # Paused and switched-off rules too: their deliveries are written, held.
    rules = Rule.objects.filter(trigger=event.name).prefetch_related(
        "conditions", "actions", "quizzes"
    )
    matching = [rule for rule in rules if rule.matches(event)]
    if not matching:
        return
    lead = event.lead or (
        Lead.objects.filter(attempt_id=event.attempt_id).first() if event.attempt_id else None
    )
    queue_on_commit(deliveries_write(event=event, lead=lead, rules=matching))


def _rules_changed(sender, **kwargs) -> None:
    Rule.forget_triggers()


def connect() -> None:
    event_recorded.connect(on_event_recorded, dispatch_uid="automations.on_event_recorded")
    # manage.py reconcile_events (and its hourly run) goes on into the CRM.
    reconciling.connect(on_reconciling, dispatch_uid="automations.on_reconciling")
    # Old events leave (tracking.retention): their finished deliveries with them.
    events_dropping.connect(on_events_dropping, dispatch_uid="automations.on_events_dropping")
    # A cache of which events have rules at all, so most events cost no query.
    for model in (Rule, Condition, Action):
        post_save.connect(
            _rules_changed, sender=model, dispatch_uid=f"automations.{model.__name__}.saved"
        )
        post_delete.connect(
            _rules_changed, sender=model, dispatch_uid=f"automations.{model.__name__}.deleted"
        )
