"""The demo's automations: hot leads to HubSpot (held until a token is set) and to sales."""

from __future__ import annotations

from django.db import transaction

from automations.models import Action, Condition, Rule

HUBSPOT_RULE = "Hot leads (over 80 %) → HubSpot task"
EMAIL_RULE = "Hot tier → e-mail sales"


@transaction.atomic
def demo_rules_create() -> list[Rule]:
    """Create the demo rules once; returns those it created."""
    created = []
    if not Rule.objects.filter(name=HUBSPOT_RULE).exists():
        # On without a token too: its deliveries are held and go out once it is set.
        rule = Rule.objects.create(name=HUBSPOT_RULE, trigger="lead_submitted")
        Condition.objects.create(rule=rule, property="percent", operator=">", value="80")
        Action.objects.create(rule=rule, kind=Action.Kind.HUBSPOT)
        created.append(rule)
    if not Rule.objects.filter(name=EMAIL_RULE).exists():
        rule = Rule.objects.create(name=EMAIL_RULE, trigger="lead_submitted")
        Condition.objects.create(rule=rule, property="tier", operator="=", value="Hot")
        Action.objects.create(rule=rule, kind=Action.Kind.ASSIGN, order=0)
        Action.objects.create(rule=rule, kind=Action.Kind.EMAIL, order=1)
        created.append(rule)
    return created
