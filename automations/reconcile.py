"""Reconciliation reaches the CRM: the checks `manage.py reconcile_events` adds past the
database (through tracking's `reconciling` signal), the dashboard's three numbers, and
the one-click replay of what is missing.

1. Every lead an enabled HubSpot rule matched has its delivery (events after the rule
   was made; a rule switched off writes held deliveries, which count as written).
2. Every HubSpot delivery reached HubSpot: none dead or held.
3. Every delivered HubSpot delivery holds its contact id and task id.
4. With `remote`: HubSpot's contacts, read back in batches of 100 within the rate limit,
   still exist and hold the lead's e-mail, score and tier (the properties those facts
   are mapped to). A contact deleted or changed behind our back is a mismatch; its
   replay upserts the contact again and keeps the task id, so sales get no second task.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from automations import crm
from automations.delivery import deliveries_write, delivery_replay, queue_on_commit
from automations.models import Action, Delivery, Rule
from automations.senders.http import Failure
from leads.models import Lead
from tracking.models import ConversionEvent, ReconciliationRun
from tracking.reconcile import Check
from tracking.reports import COUNTED_EVENT

READ_PATH = "/crm/v3/objects/contacts/batch/read"
COMPARED = ("percent", "score", "tier")  # with the e-mail; each where it is mapped


@dataclass
class Scope:
    since: datetime | None = None
    until: datetime | None = None
    quiz_id: int | None = None

    def events(self):
        # An erased person's events and deliveries keep no lead and no CRM ids: erased,
        # never a mismatch (tracking.reconcile counts them so too).
        events = ConversionEvent.objects.filter(
            is_bot=False, is_preview=False, erased_at__isnull=True
        )
        if self.since is not None:
            events = events.filter(occurred_at__gte=self.since)
        if self.until is not None:
            events = events.filter(occurred_at__lt=self.until)
        if self.quiz_id is not None:
            events = events.filter(quiz_id=self.quiz_id)
        return events

    def deliveries(self):
        return Delivery.objects.filter(
            action__kind=Action.Kind.HUBSPOT, event__in=self.events().values("pk")
        )


def _missing_deliveries(scope: Scope) -> Check:
    check = Check("every lead an enabled HubSpot rule matched has its delivery")
    rules = list(
        Rule.objects.filter(enabled=True, actions__kind=Action.Kind.HUBSPOT)
        .distinct()
        .prefetch_related("conditions", "actions", "quizzes")
    )
    if not rules:
        return check
    actions = {
        rule.pk: [a.pk for a in rule.actions.all() if a.kind == Action.Kind.HUBSPOT]
        for rule in rules
    }
    events = scope.events().filter(name__in={r.trigger for r in rules})
    written = set(
        Delivery.objects.filter(
            action_id__in=[pk for ids in actions.values() for pk in ids],
            event__in=events.values("pk"),
        ).values_list("action_id", "event_id")
    )
    since_first_rule = min(r.created_at for r in rules)
    for event in events.filter(occurred_at__gte=since_first_rule).iterator(chunk_size=2000):
        for rule in rules:
            if event.occurred_at < rule.created_at or not rule.matches(event):
                continue
            check.checked += 1
            if any((pk, event.pk) not in written for pk in actions[rule.pk]):
                check.problems.append(
                    f"lead {event.lead_id} ({event.name} {event.event_id}) matched “{rule}” "
                    "but has no HubSpot delivery"
                )
                check.details.append(
                    {"kind": "missing", "event": event.pk, "rule": rule.pk, "lead": event.lead_id}
                )
    return check


def _not_delivered(scope: Scope) -> Check:
    deliveries = scope.deliveries()
    check = Check("every HubSpot delivery reached HubSpot (none dead or held)")
    check.checked = deliveries.count()
    for d in deliveries.filter(status__in=[Delivery.Status.DEAD, Delivery.Status.HELD]).only(
        "pk", "lead_id", "status", "last_error", "held_reason"
    ):
        why = d.held_reason if d.status == Delivery.Status.HELD else d.last_error
        check.problems.append(f"delivery {d.pk} (lead {d.lead_id}) is {d.status}: {why[:200]}")
        check.details.append(
            {"kind": d.status, "delivery": d.pk, "lead": d.lead_id, "why": why[:300]}
        )
    return check


def _without_ids(scope: Scope) -> Check:
    delivered = scope.deliveries().filter(status=Delivery.Status.DELIVERED)
    check = Check("every delivered HubSpot delivery holds its contact and task ids")
    for d in delivered.only("pk", "lead_id", "remote").iterator(chunk_size=2000):
        check.checked += 1
        lacking = [k for k in ("contact_id", "task_id") if not d.remote.get(k)]
        if lacking:
            check.problems.append(
                f"delivery {d.pk} (lead {d.lead_id}) has no {' or '.join(lacking)}"
            )
            check.details.append({"kind": "no_ids", "delivery": d.pk, "lead": d.lead_id})
    return check


def _read_contacts(ids: list[str], properties: list[str]) -> tuple[dict[str, dict], set[str]]:
    """HubSpot's contacts by id, 100 a request within the shared rate limit; and the
    ids HubSpot does not have (deleted)."""
    found: dict[str, dict] = {}
    for start in range(0, len(ids), 100):
        chunk = ids[start : start + 100]
        payload = {"properties": properties, "inputs": [{"id": i} for i in chunk]}
        while True:
            try:
                reply = crm.call(None, "hubspot: read contacts", READ_PATH, payload)
                break
            except Failure as failure:
                # A command or the hourly task can wait its turn; a long wait (a daily
                # limit) ends the check with the reason instead.
                if failure.rate_limited and (failure.retry_after or 0) <= 30:
                    time.sleep(max(failure.retry_after or 0.0, 0.05))
                    continue
                raise
        for result in reply.json().get("results") or []:
            if isinstance(result, dict) and result.get("id"):
                found[str(result["id"])] = result.get("properties") or {}
    return found, {i for i in ids if i not in found}


def _same(expected: str, given) -> bool:
    given = "" if given is None else str(given)
    try:
        return float(expected) == float(given)
    except ValueError:
        return expected.strip().lower() == given.strip().lower()


def _remote(scope: Scope) -> Check:
    check = Check("HubSpot's contacts hold the lead's e-mail, score and tier (read back)")
    if not crm.hubspot_token():
        check.problems.append(f"cannot read HubSpot's contacts: {crm.not_connected_reason()}")
        return check
    delivered = scope.deliveries().filter(
        status=Delivery.Status.DELIVERED, remote__has_key="contact_id", lead__isnull=False
    )
    if scope.since is None:
        recent = timezone.now() - timedelta(days=settings.RECONCILE_REMOTE_DAYS)
        delivered = delivered.filter(delivered_at__gte=recent)
    # One contact per e-mail: it holds what the newest of its leads sent.
    newest: dict[str, Delivery] = {}
    for d in delivered.select_related("lead__quiz").order_by("lead__created_at", "pk"):
        newest[str(d.remote["contact_id"])] = d
    if not newest:
        return check
    mapping = crm.field_mapping()
    compared = {key: mapping[key] for key in COMPARED if mapping.get(key)}
    try:
        found, missing = _read_contacts(sorted(newest), ["email", *compared.values()])
    except Failure as failure:
        check.problems.append(f"HubSpot's contacts could not be read: {failure}")
        return check
    for contact_id, d in newest.items():
        check.checked += 1
        lead = d.lead
        if contact_id in missing:
            check.problems.append(
                f"lead {lead.pk} ({lead.email}): contact {contact_id} is gone from HubSpot"
            )
            check.details.append(
                {"kind": "deleted", "delivery": d.pk, "lead": lead.pk, "contact": contact_id}
            )
            continue
        props = found[contact_id]
        expected = crm.contact_properties(lead, compared)
        differs = {
            prop: {"hubspot": props.get(prop), "lead": value}
            for prop, value in expected.items()
            if not _same(value, props.get(prop))
        }
        if differs:
            words = ", ".join(
                f"{p} is {v['hubspot']!r} in HubSpot, {v['lead']!r} here"
                for p, v in differs.items()
            )
            check.problems.append(f"lead {lead.pk}: contact {contact_id} differs: {words}")
            check.details.append(
                {
                    "kind": "differs",
                    "delivery": d.pk,
                    "lead": lead.pk,
                    "contact": contact_id,
                    "fields": differs,
                }
            )
    return check


def crm_reconcile(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    quiz_id: int | None = None,
    remote: bool = False,
) -> list[Check]:
    scope = Scope(since, until, quiz_id)
    checks = [_missing_deliveries(scope), _not_delivered(scope), _without_ids(scope)]
    if remote:
        checks.append(_remote(scope))
    return checks


def on_reconciling(sender, *, since=None, remote=False, **kwargs) -> list[Check]:
    return crm_reconcile(since=since, remote=remote)


# The dashboard's panel ---------------------------------------------------------------


@dataclass
class CrmPanel:
    events: int  # lead_submitted events the funnel counts (tracking.reports' rule)
    leads: int  # leads sales work: no spam, no previews
    erased: int
    spam: int  # leads caught by the honeypot, counted neither in events nor in leads
    matched: int  # leads an enabled HubSpot rule matched
    contacts: int  # of them, leads whose contact HubSpot holds
    on_the_way: int  # of them, leads whose delivery is queued or being sent
    problems: list[dict] = field(default_factory=list)
    remote_run: ReconciliationRun | None = None

    @property
    def leads_match(self) -> bool:
        return self.leads + self.erased == self.events

    @property
    def crm_match(self) -> bool:
        return self.contacts == self.matched


def crm_panel(*, quiz_id: int, start: datetime, end: datetime) -> CrmPanel:
    """events = leads = CRM contacts for a quiz and range, with what does not match.

    The events are counted by the funnel's own rule (tracking.reports.COUNTED_EVENT: no
    previews, no lead the honeypot caught), the leads as the sales inbox counts them, so
    the panel's figure is the dashboard's "Lead submitted"; the spam left out is counted
    apart and said in words."""
    scope = Scope(start, end, quiz_id)
    submissions = ConversionEvent.objects.filter(
        name="lead_submitted", quiz_id=quiz_id, occurred_at__gte=start, occurred_at__lt=end
    )
    submitted = submissions.filter(COUNTED_EVENT)
    leads = Lead.objects.for_sales().filter(
        quiz_id=quiz_id, created_at__gte=start, created_at__lt=end
    )
    checks = crm_reconcile(since=start, until=end, quiz_id=quiz_id)
    problems = [detail for check in checks for detail in check.details]
    # What the last read-back found, for deliveries not sent again since.
    run = ReconciliationRun.objects.filter(summary__remote=True).order_by("-ran_at").first()
    if run is not None:
        remote = [
            detail
            for check in run.summary.get("checks", [])
            for detail in check.get("details", [])
            if detail.get("kind") in ("deleted", "differs")
        ]
        still = set(
            scope.deliveries()
            .filter(
                pk__in=[d["delivery"] for d in remote],
                status=Delivery.Status.DELIVERED,
                delivered_at__lte=run.ran_at,
            )
            .values_list("pk", flat=True)
        )
        problems += [d for d in remote if d["delivery"] in still]
    hubspot = scope.deliveries().filter(lead__isnull=False)
    matched = set(hubspot.values_list("lead_id", flat=True)) | {
        d["lead"] for d in problems if d["kind"] == "missing" and d["lead"]
    }
    deleted = {d["lead"] for d in problems if d["kind"] == "deleted"}
    contacts = (
        set(
            hubspot.filter(
                status=Delivery.Status.DELIVERED, remote__has_key="contact_id"
            ).values_list("lead_id", flat=True)
        )
        - deleted
    )
    on_the_way = (
        set(
            hubspot.filter(
                status__in=[
                    Delivery.Status.PENDING,
                    Delivery.Status.RETRYING,
                    Delivery.Status.SENDING,
                    Delivery.Status.WAITING,
                ]
            ).values_list("lead_id", flat=True)
        )
        - contacts
    )
    names = dict(
        Lead.objects.filter(pk__in={d["lead"] for d in problems}).values_list("pk", "email")
    )
    for detail in problems:
        detail["email"] = names.get(detail["lead"], "")
    return CrmPanel(
        events=submitted.count(),
        leads=leads.count(),
        erased=submitted.filter(lead__isnull=True, erased_at__isnull=False).count(),
        spam=submissions.filter(is_preview=False).exclude(COUNTED_EVENT).count(),
        matched=len(matched),
        contacts=len(contacts),
        on_the_way=len(on_the_way),
        problems=problems,
        remote_run=run,
    )


def crm_replay(
    *, delivery_id: int | None = None, event_id: int | None = None, rule_id: int | None = None
) -> str:
    """Send again what the reconciliation found missing; what was done, in words."""
    if delivery_id is not None:
        delivery = Delivery.objects.get(pk=delivery_id, action__kind=Action.Kind.HUBSPOT)
        with transaction.atomic():
            # Upsert the contact again (deleted or changed in HubSpot); the task id stays,
            # so sales get no second task.
            remote = {k: v for k, v in delivery.remote.items() if k != "contact_id"}
            Delivery.objects.filter(pk=delivery.pk).exclude(
                status__in=[Delivery.Status.SENDING, Delivery.Status.WAITING]
            ).update(remote=remote)
            delivery_replay(delivery=delivery)
        who = delivery.lead.email if delivery.lead else f"delivery {delivery.pk}"
        return (
            f"{who}: the contact is being sent to HubSpot again (the task is kept: sales "
            "get no second one)."
        )
    event = ConversionEvent.objects.get(pk=event_id)
    rule = Rule.objects.prefetch_related("actions").get(pk=rule_id)
    lead = event.lead
    who = lead.email if lead else "the event"
    already = f"The delivery of “{rule}” for {who} is already written."
    if Delivery.objects.filter(event=event, action__rule=rule).exists():
        return already  # a second click, or another marketer's: nothing twice
    try:
        with transaction.atomic():
            queue_on_commit(deliveries_write(event=event, lead=lead, rules=[rule]))
    except IntegrityError:  # the same click at the same moment: the other one wrote it
        return already
    return f"The delivery of “{rule}” for {who} is written and going out."
