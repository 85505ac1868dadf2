"""Marketers build rules in admin; conditions are checked against the tracking plan."""

import pytest

from automations.models import Rule

pytestmark = pytest.mark.django_db


def _post(client, condition_value, prop="percent"):
    data = {
        "name": "Hot to sales",
        "enabled": "on",
        "trigger": "lead_submitted",
        "conditions-TOTAL_FORMS": "1",
        "conditions-INITIAL_FORMS": "0",
        "conditions-0-property": prop,
        "conditions-0-operator": ">",
        "conditions-0-value": condition_value,
        "actions-TOTAL_FORMS": "1",
        "actions-INITIAL_FORMS": "0",
        "actions-0-kind": "email",
        "actions-0-order": "0",
        "actions-0-webhook_secret": "whsec_c2VjcmV0c2VjcmV0c2VjcmV0",
        "actions-0-task_subject": "Call {name}",
        "actions-0-task_due_hours": "1",
    }
    return client.post("/admin/automations/rule/add/", data)


def test_a_rule_with_a_fitting_condition_is_saved(admin_client):
    assert _post(admin_client, "80").status_code == 302
    rule = Rule.objects.get()
    assert [str(c) for c in rule.conditions.all()] == ["percent > 80"]


@pytest.mark.parametrize(
    ("prop", "value", "message"),
    [
        ("percent", "hot", "“hot” is not a valid integer for “percent”"),
        ("tier", "80", "“tier” is string: it cannot be compared with &gt;"),
        ("scroe", "80", "“lead_submitted” has no property “scroe”"),
    ],
)
def test_a_condition_that_does_not_fit_the_plan_is_refused(admin_client, prop, value, message):
    response = _post(admin_client, value, prop=prop)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Rule.objects.exists()
