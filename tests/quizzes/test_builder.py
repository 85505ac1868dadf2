"""The one-page builder: a whole quiz in one save, Publish/Unpublish/Preview on the quiz
page, a friendly closed page, and quizzes started from templates."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leads.models import Lead
from quizzes.models import Attempt, Choice, Question, Quiz
from quizzes.scorecards import TEMPLATES, quiz_from_template
from quizzes.services import quiz_problems, quiz_publish, quiz_unpublish
from tests.quizzes.factories import ScorecardFactory
from tests.visitor import HOT_RUN, answer, result_url, run, start, submit_lead

pytestmark = pytest.mark.django_db

ADD = reverse("admin:quizzes_quiz_add")


def _change(quiz) -> str:
    return reverse("admin:quizzes_quiz_change", args=[quiz.pk])


def _quiz_fields(**extra) -> dict:
    return {
        "title": "Built on one page",
        "slug": "built-on-one-page",
        "description": "",
        "start_label": "Go",
        "lead_form_position": "after",
        "lead_form_title": "Your details",
        "ask_name": "optional",
        "ask_company": "optional",
        "ask_phone": "off",
        "consent_text": "",
        "hidden_fields-TOTAL_FORMS": "0",
        "hidden_fields-INITIAL_FORMS": "0",
        "result_blocks-TOTAL_FORMS": "0",
        "result_blocks-INITIAL_FORMS": "0",
        **extra,
    }


def _question(i: int, *, text: str, category: str, key: str, choices=()) -> dict:
    data = {
        f"questions-{i}-order": str(i + 1),
        f"questions-{i}-kind": "single",
        f"questions-{i}-required": "on",
        f"questions-{i}-text": text,
        f"questions-{i}-category": category,
        f"questions-{i}-builder_key": key,
        f"questions-{i}-rating_min": "0",
        f"questions-{i}-rating_max": "10",
        f"questions-{i}-rating_points_per_step": "1",
        f"questions-{i}-choices-TOTAL_FORMS": str(len(choices)),
        f"questions-{i}-choices-INITIAL_FORMS": "0",
    }
    for j, (label, points, then) in enumerate(choices):
        data |= {
            f"questions-{i}-choices-{j}-order": str(j),
            f"questions-{i}-choices-{j}-label": label,
            f"questions-{i}-choices-{j}-points": str(points),
            f"questions-{i}-choices-{j}-next_question": then,
        }
    return data


def whole_quiz_post(**extra) -> dict:
    """What the builder page posts for a new quiz built without saving in between:
    3 categories, 5 questions each pointing at a new category, a branch from question 1
    to the new question 4, three tiers."""
    data = _quiz_fields(**extra)
    data |= {"categories-TOTAL_FORMS": "3", "categories-INITIAL_FORMS": "0"}
    for i, (name, key) in enumerate(
        [("Reach", "catreach1"), ("Insight", "catinsight1"), ("Action", "cataction1")]
    ):
        data |= {
            f"categories-{i}-order": str(i),
            f"categories-{i}-name": name,
            f"categories-{i}-builder_key": key,
        }
    data |= {"tiers-TOTAL_FORMS": "3", "tiers-INITIAL_FORMS": "0"}
    for i, (name, low, high) in enumerate([("Cold", 0, 49), ("Warm", 50, 79), ("Hot", 80, 100)]):
        data |= {
            f"tiers-{i}-name": name,
            f"tiers-{i}-min_percent": str(low),
            f"tiers-{i}-max_percent": str(high),
            f"tiers-{i}-colour": "#123456",
        }
    categories = ["new:catreach1", "new:catreach1", "new:catinsight1", "new:catinsight1"]
    categories.append("new:cataction1")
    data |= {"questions-TOTAL_FORMS": "5", "questions-INITIAL_FORMS": "0"}
    for i, category in enumerate(categories):
        then = "new:questfour1" if i == 0 else ""
        data |= _question(
            i,
            text=f"Question {i + 1}?",
            category=category,
            key="questfour1" if i == 3 else f"quest{i + 1}key",
            choices=[("No", 0, then), ("Yes", 10, "")],
        )
    return data


def test_a_whole_quiz_is_built_linked_and_publishable_in_one_save(admin_client):
    response = admin_client.post(ADD, whole_quiz_post())
    assert response.status_code == 302, response.content.decode()[-3000:]
    quiz = Quiz.objects.get(slug="built-on-one-page")
    questions = quiz.ordered_questions()
    assert [q.category.name for q in questions] == [
        "Reach",
        "Reach",
        "Insight",
        "Insight",
        "Action",
    ]
    assert {q.category.quiz_id for q in questions} == {quiz.pk}
    branch = Choice.objects.get(question=questions[0], label="No")
    assert branch.next_question == questions[3]
    assert [t.name for t in quiz.tiers.all()] == ["Cold", "Warm", "Hot"]
    assert quiz_problems(quiz=quiz) == []


def test_save_and_publish_builds_and_publishes_at_once(admin_client):
    response = admin_client.post(ADD, whole_quiz_post(_publish="1"), follow=True)
    quiz = Quiz.objects.get(slug="built-on-one-page")
    assert quiz.is_published
    assert f"is live at {quiz.get_absolute_url()}" in response.content.decode()


def test_a_pending_choice_survives_an_error_elsewhere_on_the_page(admin_client):
    response = admin_client.post(ADD, whole_quiz_post(title=""))
    assert response.status_code == 200  # the page again, with the title's error
    page = response.content.decode()
    # The script selects the new category again once it has put the options back.
    assert 'data-pending="new:catreach1"' in page
    assert 'value="catreach1"' in page
    assert not Quiz.objects.exists()


def test_a_choice_pointing_at_a_row_removed_before_saving_is_left_empty(admin_client):
    data = whole_quiz_post()
    data["questions-4-category"] = "new:gonegone1"
    response = admin_client.post(ADD, data, follow=True)
    assert "pointed at a row removed before saving" in response.content.decode()
    quiz = Quiz.objects.get(slug="built-on-one-page")
    assert quiz.ordered_questions()[4].category is None


def test_a_malformed_pending_reference_is_a_form_error_not_a_crash(admin_client):
    data = whole_quiz_post()
    data["questions-0-category"] = "new:<script>"
    response = admin_client.post(ADD, data)
    assert response.status_code == 200
    assert "That choice is not on this page any more." in response.content.decode()
    assert not Quiz.objects.exists()


def test_the_quiz_page_has_publish_preview_and_unpublish_beside_readiness(admin_client):
    quiz = ScorecardFactory(status=Quiz.Status.DRAFT)
    page = admin_client.get(_change(quiz)).content.decode()
    readiness = page[page.index("Ready to publish") :]
    assert 'name="_publish"' in readiness
    assert f'href="{quiz.get_absolute_url()}?preview=1"' in readiness
    assert "Unpublish" not in readiness.split("</fieldset>")[0]
    quiz_publish(quiz=quiz)
    page = admin_client.get(_change(quiz)).content.decode()
    readiness = page[page.index("Ready to publish") :].split("</fieldset>")[0]
    assert reverse("admin:quizzes_quiz_unpublish", args=[quiz.pk]) in readiness
    assert 'name="_publish"' not in readiness


def test_the_publish_button_refuses_a_quiz_with_problems_and_says_why(admin_client):
    response = admin_client.post(ADD, whole_quiz_post(_publish="1") | {"tiers-TOTAL_FORMS": "1"})
    quiz = Quiz.objects.get(slug="built-on-one-page")
    assert not quiz.is_published
    page = admin_client.get(response["Location"]).content.decode()
    assert "was saved but not published" in page
    assert "No tier covers 50–100 %" in page


def test_unpublishing_says_how_many_runs_are_in_progress_and_lets_them_finish(admin_client, client):
    quiz = ScorecardFactory(status=Quiz.Status.DRAFT)
    quiz_publish(quiz=quiz)
    midway = start(client, quiz)
    answer(client, midway, "Do you advertise?", "Yes")
    start(client, quiz)  # a second visitor, on the first question
    finished = run(client, quiz)
    submit_lead(client, finished)

    url = reverse("admin:quizzes_quiz_unpublish", args=[quiz.pk])
    confirm = admin_client.get(url).content.decode()
    assert "2 runs in progress" in confirm
    done = admin_client.post(url, follow=True).content.decode()
    assert "2 runs in progress can still finish" in done
    quiz.refresh_from_db()
    assert not quiz.is_published

    # The visitor mid-run goes on to their result; their lead arrives.
    for text, labels, kwargs in HOT_RUN[1:]:
        assert answer(client, midway, text, *labels, **kwargs).status_code == 302
    assert submit_lead(client, midway).status_code == 302
    assert client.get(result_url(midway)).status_code == 200
    assert Lead.objects.filter(attempt=midway).exists()
    # A new visitor gets the closed page, at the intro and at the start button.
    intro = client.get(quiz.get_absolute_url())
    assert intro.status_code == 410
    assert "This quiz is closed" in intro.content.decode()
    before = Attempt.objects.count()
    gone = client.post(reverse("quizzes:start", args=[quiz.slug]), {"start_key": "x"})
    assert gone.status_code == 410
    assert Attempt.objects.count() == before


def test_a_draft_never_published_stays_unknown_to_the_public(client):
    quiz = ScorecardFactory(status=Quiz.Status.DRAFT)
    assert client.get(quiz.get_absolute_url()).status_code == 404
    quiz_publish(quiz=quiz)
    quiz_unpublish(quiz=quiz)
    assert client.get(quiz.get_absolute_url()).status_code == 410


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_each_template_is_a_complete_quiz_that_publishes_cleanly(name):
    quiz = quiz_from_template(name=name)
    assert quiz.status == Quiz.Status.DRAFT
    assert quiz.categories.count() >= 3
    assert quiz.tiers.count() >= 3
    assert all(t.headline and t.body and t.cta_label for t in quiz.tiers.all())
    assert Choice.objects.filter(question__quiz=quiz, next_question__isnull=False).exists()
    scored = quiz.questions.exclude(kind=Question.Kind.TEXT)
    assert not scored.filter(category=None).exists()
    assert quiz_publish(quiz=quiz) == []
    assert quiz.is_published


def test_a_template_is_copied_as_a_draft_from_the_templates_page(admin_client):
    changelist = admin_client.get(reverse("admin:quizzes_quiz_changelist")).content.decode()
    page_url = reverse("admin:quizzes_quiz_templates")
    assert page_url in changelist and "New quiz from a template" in changelist
    page = admin_client.get(page_url).content.decode()
    assert len(re.findall(r'name="template"', page)) == len(TEMPLATES) >= 3
    response = admin_client.post(page_url, {"template": "sales-readiness"})
    quiz = Quiz.objects.get(slug="sales-readiness")
    assert response["Location"] == _change(quiz)
    assert quiz.status == Quiz.Status.DRAFT
    # A second copy gets its own address.
    admin_client.post(page_url, {"template": "sales-readiness"})
    assert Quiz.objects.filter(slug="sales-readiness-2").exists()
    refused = admin_client.post(page_url, {"template": "\x00nope"}, follow=True)
    assert "Choose one of the templates below." in refused.content.decode()
    assert Quiz.objects.count() == 2


def test_a_20_question_quiz_page_reads_its_options_once(admin_client):
    """A 20-question quiz's page: one query for each question's choices, the drop-downs'
    options read once for the page (135 queries before, 32 then; bench/builder_page.py),
    and the result blocks' with their condition drop-downs' options (tiers, bands,
    choices) read once too: 6 more."""
    quiz = quiz_from_template(name="marketing-measurement")
    for n in range(11):
        question = Question.objects.create(quiz=quiz, order=20 + n, text=f"Extra {n}?")
        for j in range(4):
            Choice.objects.create(question=question, label=f"C{j}", points=j, order=j)
    assert quiz.questions.count() == 20
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get(_change(quiz)).status_code == 200
    assert len(queries) <= 41, len(queries)


def test_auto_advance_is_marked_on_single_picks_only_and_the_page_works_without_it(client):
    quiz = ScorecardFactory(auto_advance=True)
    attempt = start(client, quiz)
    marked = {}
    for question, (text, labels, kwargs) in zip(quiz.ordered_questions(), HOT_RUN, strict=True):
        page = client.get(
            reverse("quizzes:step", args=[quiz.slug, attempt.token, question.pk])
        ).content.decode()
        marked[question.kind] = "data-auto-advance" in page
        assert ">Next<" in page or ">Finish<" in page  # the button stays for no-JS
        answer(client, attempt, text, *labels, **kwargs)
    assert marked == {
        "yes_no": True,
        "single": True,
        "multiple": False,
        "rating": False,
        "text": False,
    }
    Quiz.objects.filter(pk=quiz.pk).update(auto_advance=False)
    again = start(client, quiz)
    first = quiz.ordered_questions()[0]
    page = client.get(reverse("quizzes:step", args=[quiz.slug, again.token, first.pk]))
    assert "data-auto-advance" not in page.content.decode()
