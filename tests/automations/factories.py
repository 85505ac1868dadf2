import factory

from automations.models import Action, Condition, Rule


class RuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rule

    name = factory.Sequence(lambda n: f"Rule {n}")
    trigger = "lead_submitted"


class ConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Condition

    rule = factory.SubFactory(RuleFactory)
    property = "percent"
    operator = ">"
    value = "80"


class ActionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Action

    rule = factory.SubFactory(RuleFactory)
    kind = Action.Kind.HUBSPOT
