import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from automations.models import Action, Rule
from quizzes.models import Category, Choice, Question, Quiz, Tier
from quizzes.services import quiz_problems

pytestmark = pytest.mark.django_db


def _counts():
    return [m.objects.count() for m in (Quiz, Category, Question, Choice, Tier, User, Rule, Action)]


def test_the_demo_is_a_real_scorecard_and_a_second_run_changes_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "demo-pass-for-tests")
    call_command("seed_demo")
    first = _counts()
    call_command("seed_demo")
    assert _counts() == first

    quiz = Quiz.objects.get(slug="marketing-measurement")
    assert quiz.is_published and quiz_problems(quiz=quiz) == []
    assert quiz.categories.count() >= 3
    assert quiz.questions.count() >= 8
    assert Choice.objects.filter(question__quiz=quiz, next_question__isnull=False).exists()
    bands = [(t.name, t.min_percent, t.max_percent) for t in quiz.tiers.all()]
    assert bands == [("Cold", 0, 49), ("Warm", 50, 79), ("Hot", 80, 100)]
    assert User.objects.get(username="admin").check_password("demo-pass-for-tests")
    assert User.objects.get(username="sales").groups.filter(name="Sales").exists()
    hubspot = Rule.objects.get(name__contains="HubSpot")
    assert hubspot.enabled  # its deliveries are held until a HubSpot token is set
    assert [str(c) for c in hubspot.conditions.all()] == ["percent > 80"]
    email = Rule.objects.get(name__contains="e-mail")
    assert email.enabled and [a.kind for a in email.actions.all()] == ["assign", "email"]
