"""The marketer builds, checks, publishes, duplicates and previews quizzes in admin."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from quizzes.models import Choice, Question, Quiz
from quizzes.services import quiz_duplicate, quiz_problems
from tests.quizzes.factories import (
    ChoiceFactory,
    QuestionFactory,
    ScorecardFactory,
    TierFactory,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:quizzes_quiz_changelist")


def _act(client, action, *quizzes):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [q.pk for q in quizzes]},
        follow=True,
    )


def test_a_complete_quiz_has_no_problems(scorecard):
    assert quiz_problems(quiz=scorecard) == []


def test_an_empty_quiz_needs_questions_and_tiers(draft_quiz):
    problems = quiz_problems(quiz=draft_quiz)
    assert "Add at least one question." in problems
    assert any("Add tiers that cover 0–100 %" in p for p in problems)


def test_a_choice_question_needs_two_choices(scorecard):
    lonely = QuestionFactory(quiz=scorecard, order=9, text="Lonely?")
    ChoiceFactory(question=lonely, label="Only")
    assert quiz_problems(quiz=scorecard) == ["Question 6 (“Lonely?”) needs at least two choices."]


@pytest.mark.parametrize(
    ("bands", "problem"),
    [
        ([(0, 49), (55, 100)], "No tier covers 50–54 % (between “T0” and “T1”)."),
        ([(0, 60), (50, 100)], "Tiers “T0” and “T1” overlap: 50–60 % is in both."),
        ([(5, 100)], "No tier covers 0–4 %: the lowest must start at 0."),
        ([(0, 90)], "No tier covers 91–100 %: the highest must end at 100."),
    ],
)
def test_tiers_must_cover_0_to_100_without_gap_or_overlap(draft_quiz, bands, problem):
    for i, (low, high) in enumerate(bands):
        TierFactory(quiz=draft_quiz, name=f"T{i}", min_percent=low, max_percent=high)
    assert problem in quiz_problems(quiz=draft_quiz)


def test_a_branch_must_lead_to_a_later_question_of_the_same_quiz(scorecard):
    first = scorecard.questions.get(order=1)
    tagging = scorecard.questions.get(order=2)
    tagging.choices.filter(label="Never").update(next_question=first)
    foreign = QuestionFactory()
    tagging.choices.filter(label="Always").update(next_question=foreign)
    problems = quiz_problems(quiz=scorecard)
    assert (
        "Question 2 (“How do you tag links?”): choice “Never” must lead to a later question, "
        "not to question 1."
    ) in problems
    assert (
        "Question 2 (“How do you tag links?”): choice “Always” leads to a question of another quiz."
    ) in problems


def test_publishing_a_quiz_with_problems_says_what_is_wrong(admin_client, draft_quiz):
    page = _act(admin_client, "publish", draft_quiz).content.decode()
    assert "was not published" in page and "Add at least one question." in page
    draft_quiz.refresh_from_db()
    assert draft_quiz.status == Quiz.Status.DRAFT


def test_publishing_makes_a_quiz_reachable_and_unpublishing_closes_it(admin_client, client):
    quiz = ScorecardFactory(status=Quiz.Status.DRAFT)
    assert client.get(quiz.get_absolute_url()).status_code == 404
    page = _act(admin_client, "publish", quiz).content.decode()
    assert f"is live at {quiz.get_absolute_url()}" in page
    assert client.get(quiz.get_absolute_url()).status_code == 200
    _act(admin_client, "unpublish", quiz)
    closed = client.get(quiz.get_absolute_url())
    assert closed.status_code == 410
    assert "This quiz is closed" in closed.content.decode()


def test_duplicate_is_a_deep_draft_copy_with_branches_remapped(admin_client, scorecard):
    _act(admin_client, "duplicate", scorecard)
    copy = Quiz.objects.exclude(pk=scorecard.pk).get()
    assert copy.status == Quiz.Status.DRAFT
    assert copy.slug == f"{scorecard.slug}-copy"
    assert copy.questions.count() == scorecard.questions.count()
    assert Choice.objects.filter(question__quiz=copy).count() == 8
    assert [t.name for t in copy.tiers.all()] == ["Cold", "Warm", "Hot"]
    branch = Choice.objects.get(question__quiz=copy, label="No")
    assert branch.next_question.quiz == copy
    assert branch.next_question.text == "What do you track?"
    assert {q.category.quiz_id for q in copy.questions.exclude(category=None)} == {copy.pk}
    assert quiz_problems(quiz=copy) == []
    assert quiz_duplicate(quiz=scorecard).slug == f"{scorecard.slug}-copy-2"


def test_preview_opens_the_visitor_flow_marked_as_preview(admin_client, draft_quiz):
    response = _act(admin_client, "preview", draft_quiz)
    assert response.redirect_chain[-1][0] == draft_quiz.get_absolute_url() + "?preview=1"
    assert "Preview: this run is marked as a preview" in response.content.decode()


def test_the_quiz_page_shows_whether_it_is_ready(admin_client, draft_quiz):
    page = admin_client.get(reverse("admin:quizzes_quiz_change", args=[draft_quiz.pk]))
    assert page.status_code == 200
    assert "Add at least one question." in page.content.decode()


def test_the_builder_saves_questions_with_nested_choices_on_one_page(admin_client):
    """Post the quiz page as the admin form would, with a question and its choices inside."""
    data = {
        "title": "Built in admin",
        "slug": "built-in-admin",
        "description": "",
        "start_label": "Go",
        "lead_form_title": "Your details",
        "lead_form_position": "after",
        "ask_name": "optional",
        "ask_company": "optional",
        "ask_phone": "off",
        "consent_text": "",
        "scorecard_subject": "Your {quiz} scorecard",
    }
    for prefix in ("categories", "tiers", "questions", "hidden_fields", "result_blocks"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    data |= {
        "tiers-TOTAL_FORMS": "1",
        "tiers-0-name": "All",
        "tiers-0-min_percent": "0",
        "tiers-0-max_percent": "100",
        "tiers-0-colour": "#123456",
        "questions-TOTAL_FORMS": "1",
        "questions-0-order": "1",
        "questions-0-kind": "yes_no",
        "questions-0-required": "on",
        "questions-0-text": "Ready?",
        "questions-0-rating_min": "0",
        "questions-0-rating_max": "10",
        "questions-0-rating_points_per_step": "1",
        "questions-0-choices-TOTAL_FORMS": "0",
        "questions-0-choices-INITIAL_FORMS": "0",
    }
    response = admin_client.post(reverse("admin:quizzes_quiz_add"), data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    quiz = Quiz.objects.get(slug="built-in-admin")
    question = quiz.questions.get()
    # A yes/no question saved without choices gets "Yes" and "No" to edit.
    # Worth 10 and 0 points, as the other questions' best and worst answers.
    assert [(c.label, c.points) for c in question.choices.all()] == [("Yes", 10), ("No", 0)]
    assert quiz_problems(quiz=quiz) == []


def test_the_groups_give_marketers_quizzes_and_sales_leads(client):
    marketer = User.objects.create_user("mia", password="pw-mia-123456", is_staff=True)
    marketer.groups.add(Group.objects.get(name="Marketers"))
    seller = User.objects.create_user("sam", password="pw-sam-123456", is_staff=True)
    seller.groups.add(Group.objects.get(name="Sales"))

    assert marketer.has_perms(["quizzes.add_quiz", "quizzes.delete_question", "leads.view_lead"])
    assert not marketer.has_perm("leads.change_lead")
    assert seller.has_perms(["leads.view_lead", "leads.change_lead"])
    assert not seller.has_perm("quizzes.change_quiz")

    client.force_login(marketer)
    assert client.get(CHANGELIST).status_code == 200
    client.force_login(seller)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(reverse("admin:leads_lead_changelist")).status_code == 200


def test_question_kinds_score_as_documented(db):
    rating = QuestionFactory.build(
        kind=Question.Kind.RATING, rating_min=1, rating_max=5, rating_points_per_step=2
    )
    assert rating.max_points() == 8
    assert rating.points_for(rating=4) == 6
    text = QuestionFactory.build(kind=Question.Kind.TEXT)
    assert text.max_points() == 0
