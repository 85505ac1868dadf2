"""Rule conditions: property, operator, value, checked against the tracking plan."""

from __future__ import annotations

import math
import re
from typing import Any

from django.core.exceptions import ValidationError

from core import safejson
from tracking import plan

OPERATORS = ["=", "!=", ">", ">=", "<", "<=", "in"]
ORDERED = {">", ">=", "<", "<="}
# A hidden field of the quiz (quizzes.HiddenField), inside the event's hidden_fields.
HIDDEN_PREFIX = "hidden."
_HIDDEN_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def _hidden_prop(spec: plan.EventSpec, prop_name: str) -> plan.Prop | None:
    name = prop_name.removeprefix(HIDDEN_PREFIX)
    if "hidden_fields" not in spec.props_by_name or not _HIDDEN_NAME.fullmatch(name):
        return None
    return plan.Prop(prop_name, "string")


def event_value(properties: dict, prop_name: str) -> Any:
    """The value a condition on `prop_name` reads from an event's properties."""
    if prop_name.startswith(HIDDEN_PREFIX):
        hidden = properties.get("hidden_fields")
        return (
            hidden.get(prop_name.removeprefix(HIDDEN_PREFIX)) if isinstance(hidden, dict) else None
        )
    return properties.get(prop_name)


def parse_value(trigger: str, prop_name: str, operator: str, raw: str) -> Any:
    """The condition's value, typed by the plan; ValidationError in plain words if it cannot be.

    `hidden.NAME` reads the quiz's hidden field NAME (a string) on events that carry them.
    """
    spec = plan.spec_for(trigger)
    prop = spec.props_by_name.get(prop_name)
    if prop is None and prop_name.startswith(HIDDEN_PREFIX):
        prop = _hidden_prop(spec, prop_name)
    if prop is None:
        known = ", ".join(sorted(spec.props_by_name)) or "none"
        raise ValidationError(
            f"“{trigger}” has no property “{prop_name}” (it has: {known}).", code="property"
        )
    if operator not in OPERATORS:
        raise ValidationError(f"Choose an operator among {' '.join(OPERATORS)}.", code="operator")
    if operator in ORDERED and prop.type not in ("integer", "number"):
        raise ValidationError(
            f"“{prop_name}” is {prop.type}: it cannot be compared with {operator}.", code="ordered"
        )
    items = [item.strip() for item in raw.split(",")] if operator == "in" else [raw.strip()]
    values = [_typed(prop, item) for item in items if item != ""]
    if not values:
        raise ValidationError("Give a value.", code="empty")
    return values if operator == "in" else values[0]


def _typed(prop: plan.Prop, raw: str) -> Any:
    try:
        if prop.type == "integer":
            return int(raw)
        if prop.type == "number":
            number = float(raw)
            if not math.isfinite(number):  # 1e400, inf and nan compare with nothing
                raise ValueError
            return number
        if prop.type == "boolean":
            if raw.lower() in ("true", "yes", "1"):
                return True
            if raw.lower() in ("false", "no", "0"):
                return False
            raise ValueError
        if prop.type in ("list", "object"):
            return safejson.loads(raw)
    except ValueError:
        raise ValidationError(f"“{raw}” is not a valid {prop.type} for “{prop.name}”.") from None
    return raw


def holds(actual: Any, operator: str, expected: Any) -> bool:
    """Whether an event's property value satisfies one condition."""
    if actual is None:
        return False
    try:
        if operator == "=":
            return actual == expected
        if operator == "!=":
            return actual != expected
        if operator == "in":
            return actual in expected
        if operator == ">":
            return actual > expected
        if operator == ">=":
            return actual >= expected
        if operator == "<":
            return actual < expected
        if operator == "<=":
            return actual <= expected
    except TypeError:
        return False
    raise ValueError(f"unknown operator {operator!r}")
