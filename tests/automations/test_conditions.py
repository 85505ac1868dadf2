import pytest
from django.core.exceptions import ValidationError

from automations.conditions import holds, parse_value


@pytest.mark.parametrize(("percent", "fires"), [(80, False), (81, True), (100, True), (0, False)])
def test_greater_than_80_is_a_strict_boundary(percent, fires):
    assert holds(percent, ">", parse_value("lead_submitted", "percent", ">", "80")) is fires


def test_in_takes_a_list_and_equality_is_typed():
    assert holds("Hot", "in", parse_value("lead_submitted", "tier", "in", "Warm, Hot"))
    assert not holds("Cold", "in", parse_value("lead_submitted", "tier", "in", "Warm, Hot"))
    assert holds(True, "=", parse_value("lead_submitted", "top_tier", "=", "true"))
    assert not holds(None, ">", 3)


@pytest.mark.parametrize(
    ("prop", "operator", "value", "message"),
    [
        ("scroe", ">", "80", "“lead_submitted” has no property “scroe”"),
        ("tier", ">", "Hot", "“tier” is string: it cannot be compared with >"),
        ("percent", ">", "eighty", "“eighty” is not a valid integer for “percent”"),
        ("percent", "=", "", "Give a value."),
    ],
)
def test_a_condition_that_does_not_fit_the_plan_is_refused_in_plain_words(
    prop, operator, value, message
):
    with pytest.raises(ValidationError) as error:
        parse_value("lead_submitted", prop, operator, value)
    assert message in " ".join(error.value.messages)
