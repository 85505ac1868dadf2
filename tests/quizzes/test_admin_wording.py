"""What the quiz builder says reads as written: no stray punctuation, plurals, real counts."""

import re

import pytest
from django.urls import reverse

from tests.leads.factories import LeadFactory
from tests.quizzes.factories import AttemptFactory, ScorecardFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:quizzes_quiz_changelist")


def _change_page(client, quiz) -> str:
    return client.get(reverse("admin:quizzes_quiz_change", args=[quiz.pk])).content.decode()


def test_the_slug_help_shows_where_the_quiz_lives(admin_client):
    page = admin_client.get(reverse("admin:quizzes_quiz_add")).content.decode()
    assert "/q/this-slug/" in page
    assert "/q//" not in page


def test_the_readiness_label_has_no_stray_colon(admin_client, scorecard):
    page = _change_page(admin_client, scorecard)
    assert "Ready to publish:" in page
    assert "?:" not in page


@pytest.mark.parametrize(("count", "message"), [(1, "1 quiz taken"), (2, "2 quizzes taken")])
def test_unpublishing_says_quiz_or_quizzes(admin_client, count, message):
    quizzes = [ScorecardFactory() for _ in range(count)]
    response = admin_client.post(
        CHANGELIST,
        {"action": "unpublish", "_selected_action": [q.pk for q in quizzes]},
        follow=True,
    )
    page = response.content.decode()
    assert f"{message} offline." in page
    assert "quiz(zes)" not in page


def test_then_go_to_offers_only_the_later_questions(admin_client, scorecard):
    page = _change_page(admin_client, scorecard)
    offered = {}  # question form prefix -> the questions its choices may go to
    for prefix, options in re.findall(
        r'<select name="(questions-\d+)-choices-\d+-next_question"[^>]*>(.*?)</select>', page, re.S
    ):
        offered[prefix] = set(re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', options))
    # The inline lists the questions in order: 0 "Do you advertise?", 1 "How do you tag links?".
    assert offered["questions-0"] == {
        "How do you tag links?",
        "What do you track?",
        "How confident are you?",
        "Anything else?",
    }
    assert offered["questions-1"] == {
        "What do you track?",
        "How confident are you?",
        "Anything else?",
    }


def test_the_leads_column_leaves_out_preview_runs(admin_client, scorecard):
    LeadFactory(attempt=AttemptFactory(quiz=scorecard))
    LeadFactory(attempt=AttemptFactory(quiz=scorecard, is_preview=True), is_preview=True)
    page = admin_client.get(CHANGELIST).content.decode()
    assert re.search(r'<td class="field-lead_total">1</td>', page), page


def test_no_branch_reads_as_the_next_question(admin_client, scorecard):
    page = admin_client.get(f"/admin/quizzes/quiz/{scorecard.pk}/change/").content.decode()
    assert '<option value="" selected>The next question</option>' in page
