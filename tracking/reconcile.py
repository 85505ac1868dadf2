"""Prove that events and leads agree: `manage.py reconcile_events`.

Apps downstream add their checks through the `reconciling` signal (automations: every
lead a CRM rule matched has its delivery, and with `remote` HubSpot's contacts agree).

An erased person's lead is gone while their lead_submitted stays (anonymous, so
funnels keep their counts), with no lead and `erased_at` set: such an event is
counted as erased, never as a mismatch. An event without its lead and without
`erased_at` is still a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, F, Q

from leads.models import Lead
from tracking import plan, retention
from tracking.models import ConversionEvent, ReconciliationRun
from tracking.signals import reconciling

SHOWN = 20  # examples listed per check


@dataclass
class Check:
    name: str
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    # Machine-readable problems (ids to act on: a dashboard's replay), kept with the run.
    details: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def reconcile(*, since: datetime | None = None, remote: bool = False) -> list[Check]:
    # With retention, events before its cutoff may be gone while their leads stay: only
    # what is younger can still agree.
    kept = retention.kept_since()
    if kept is not None and (since is None or since < kept):
        since = kept
    leads = Lead.objects.all()
    events = ConversionEvent.objects.all()
    if since is not None:
        leads = leads.filter(created_at__gte=since)
        events = events.filter(occurred_at__gte=since)
    submitted = events.filter(name="lead_submitted")

    # 1. Every lead has exactly one lead_submitted, with its score and tier.
    lead_check = Check("every lead has one lead_submitted with the same score and tier")
    by_lead: dict[int, list[ConversionEvent]] = {}
    # A lead whose form came before the questions is scored later, by lead_scored.
    scored_later: dict[int, dict] = {}
    for event in ConversionEvent.objects.filter(
        name__in=["lead_submitted", "lead_scored"], lead__in=leads.values("pk")
    ).only("lead_id", "name", "properties"):
        if event.name == "lead_scored":
            scored_later[event.lead_id] = event.properties
        else:
            by_lead.setdefault(event.lead_id, []).append(event)
    for lead in leads.only("pk", "score_points", "score_percent", "tier_name").iterator():
        lead_check.checked += 1
        found = by_lead.get(lead.pk, [])
        if len(found) != 1:
            lead_check.problems.append(f"lead {lead.pk} has {len(found)} lead_submitted events")
            continue
        props = found[0].properties
        if props.get("scored") is False:
            props = scored_later.get(lead.pk, {"score": 0, "percent": 0, "tier": ""})
        given = (props.get("score"), props.get("percent"), props.get("tier"))
        if given != (lead.score_points, lead.score_percent, lead.tier_name):
            lead_check.problems.append(
                f"lead {lead.pk}: event says {given}, the lead "
                f"{(lead.score_points, lead.score_percent, lead.tier_name)}"
            )

    # 2. Every lead_submitted has its lead.
    orphan_check = Check(
        "every lead_submitted has its lead (or its person was erased)", checked=submitted.count()
    )
    for event_id in submitted.filter(lead__isnull=True, erased_at__isnull=True).values_list(
        "event_id", flat=True
    ):
        orphan_check.problems.append(f"lead_submitted {event_id} has no lead")

    # 3. Once-only events are unique.
    unique_check = Check("once-only events are unique")
    per_attempt = (
        events.filter(name__in=plan.ONCE_PER_ATTEMPT)
        .values("attempt_id", "name")
        .annotate(n=Count("id"))
    )
    per_question = (
        events.filter(name__in=plan.ONCE_PER_QUESTION)
        .values("attempt_id", "name", "question_id")
        .annotate(n=Count("id"))
    )
    for group in (per_attempt, per_question):
        unique_check.checked += group.count()
        for row in group.filter(n__gt=1):
            unique_check.problems.append(
                f"{row['n']}× {row['name']} in attempt {row['attempt_id']}"
            )

    # 4. No event points at nothing.
    dangling_check = Check("no event points at nothing", checked=events.count())
    needs_attempt = [n for n in plan.SERVER_EVENTS if n != "quiz_viewed"] + ["cta_clicked"]
    for event_id, name in events.filter(
        Q(name__in=needs_attempt, attempt__isnull=True)
        | Q(name__in=plan.ONCE_PER_QUESTION, question__isnull=True)
        | Q(
            name__in=["lead_submitted", "lead_scored", "quiz_abandoned"],
            lead__isnull=True,
            erased_at__isnull=True,
        )
        # An anonymous result (a quiz that asks for no e-mail) has no lead to point at.
        | Q(
            name="result_viewed",
            lead__isnull=True,
            erased_at__isnull=True,
            attempt__lead__isnull=False,
        )
        | (Q(attempt__isnull=False) & ~Q(attempt__quiz_id=F("quiz_id")))
    ).values_list("event_id", "name"):
        dangling_check.problems.append(f"{name} {event_id} points at a missing or wrong record")

    checks = [lead_check, orphan_check, unique_check, dangling_check]
    for _, more in reconciling.send(sender=Check, since=since, remote=remote):
        checks.extend(more or [])
    return checks


DETAILS_KEPT = 500  # machine-readable problems kept per check


def reconcile_and_record(
    *, since: datetime | None = None, remote: bool = False
) -> ReconciliationRun:
    checks = reconcile(since=since, remote=remote)
    return ReconciliationRun.objects.create(
        since=since,
        ok=all(c.ok for c in checks),
        summary={
            "checks": [
                {
                    "name": c.name,
                    "checked": c.checked,
                    "problems": len(c.problems),
                    "examples": c.problems[:SHOWN],
                    "details": c.details[:DETAILS_KEPT],
                }
                for c in checks
            ],
            "remote": remote,
        },
    )
