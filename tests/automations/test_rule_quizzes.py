"""A rule can be limited to some quizzes; with none chosen it applies to every quiz."""

import pytest

from automations.delivery import rule_dry_run
from automations.models import Action, Delivery, Rule
from tests.automations.factories import ActionFactory, RuleFactory
from tests.quizzes.factories import ScorecardFactory
from tests.visitor import run, submit_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_quizzes():
    return ScorecardFactory(title="Ads scorecard"), ScorecardFactory(title="SEO scorecard")


def _lead_from(client, quiz, email):
    response = submit_lead(client, run(client, quiz), email=email)
    assert response.status_code == 302, response.content.decode()[:500]


def _rule(*quizzes) -> Rule:
    rule = RuleFactory(name="Every lead to sales")
    ActionFactory(rule=rule, kind=Action.Kind.EMAIL)
    rule.quizzes.set(quizzes)
    return rule


def test_a_rule_limited_to_one_quiz_leaves_the_other_quizzes_leads_alone(client, two_quizzes):
    ads, seo = two_quizzes
    _rule(ads)
    _lead_from(client, ads, "ada@example.com")
    _lead_from(client, seo, "grace@example.com")
    assert [d.lead.email for d in Delivery.objects.all()] == ["ada@example.com"]


def test_a_rule_without_quizzes_applies_to_every_quiz(client, two_quizzes):
    ads, seo = two_quizzes
    _rule()
    _lead_from(client, ads, "ada@example.com")
    _lead_from(client, seo, "grace@example.com")
    emails = sorted(d.lead.email for d in Delivery.objects.all())
    assert emails == ["ada@example.com", "grace@example.com"]


def test_a_rule_can_be_limited_to_several_quizzes(client, two_quizzes):
    ads, seo = two_quizzes
    third = ScorecardFactory(title="Email scorecard")
    _rule(ads, seo)
    for quiz, email in [(ads, "a@example.com"), (seo, "b@example.com"), (third, "c@example.com")]:
        _lead_from(client, quiz, email)
    assert sorted(d.lead.email for d in Delivery.objects.all()) == [
        "a@example.com",
        "b@example.com",
    ]


def test_the_dry_run_counts_only_the_chosen_quizzes_events(client, two_quizzes):
    ads, seo = two_quizzes
    _lead_from(client, ads, "ada@example.com")
    _lead_from(client, seo, "grace@example.com")
    _lead_from(client, seo, "linus@example.com")
    assert rule_dry_run(rule=_rule(seo), days=7) == (2, 2)
    assert rule_dry_run(rule=_rule(), days=7) == (3, 3)


def test_marketers_choose_the_quizzes_from_a_list_in_admin(admin_client, two_quizzes):
    _ads, seo = two_quizzes
    page = admin_client.get("/admin/automations/rule/add/").content.decode()
    assert 'name="quizzes"' in page and "Ads scorecard" in page and "SEO scorecard" in page
    response = admin_client.post(
        "/admin/automations/rule/add/",
        {
            "name": "SEO leads to sales",
            "enabled": "on",
            "trigger": "lead_submitted",
            "quizzes": [str(seo.pk)],
            "conditions-TOTAL_FORMS": "0",
            "conditions-INITIAL_FORMS": "0",
            "actions-TOTAL_FORMS": "0",
            "actions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(Rule.objects.get().quizzes.all()) == [seo]
    listing = admin_client.get("/admin/automations/rule/").content.decode()
    assert "SEO scorecard" in listing
