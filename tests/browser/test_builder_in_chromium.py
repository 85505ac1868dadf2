"""A marketer builds a whole quiz on one admin page, choosing new categories and a branch
to a new question before anything is saved, and previews its result blocks; visitors'
keyboard and auto-advance."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from leads.models import Lead
from quizzes.models import BlockCondition, Choice, HiddenField, Quiz, ResultBlock
from quizzes.services import quiz_problems
from tests.quizzes.factories import ScorecardFactory

pytestmark = pytest.mark.browser

CATEGORIES = ["Reach", "Insight", "Action"]
# (text, category) for five questions; question 1's "No" skips to question 4.
QUESTIONS = [
    ("Do you advertise?", "Reach"),
    ("Do you tag your links?", "Reach"),
    ("Do you track conversions?", "Insight"),
    ("Do you report weekly?", "Insight"),
    ("Do you follow up within an hour?", "Action"),
]


def _log_in(page: Page, live_server, next_url: str) -> None:
    User.objects.create_superuser("marketer", "m@example.com", "pass-for-tests")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/login/?next={next_url}")
    page.fill("#id_username", "marketer")
    page.fill("#id_password", "pass-for-tests")
    page.click("input[type=submit]")


def _add(page: Page, model: str, parent: str = "") -> None:
    page.locator(f"{parent} a.djn-add-handler.djn-model-quizzes-{model}".strip()).last.click()


def test_a_whole_quiz_is_built_on_one_page_with_one_save(phone, live_server, transactional_db):
    page = phone
    _log_in(page, live_server, "/admin/quizzes/quiz/add/")
    page.fill("#id_title", "Built in the browser")
    page.press("#id_title", "Tab")
    expect(page.locator("#id_slug")).to_have_value("built-in-the-browser")  # from the title

    for i, name in enumerate(CATEGORIES):
        _add(page, "category")
        page.fill(f"#id_categories-{i}-name", name)
    for i, (name, low, high) in enumerate([("Cold", 0, 49), ("Warm", 50, 79), ("Hot", 80, 100)]):
        _add(page, "tier")
        page.fill(f"#id_tiers-{i}-name", name)
        page.fill(f"#id_tiers-{i}-min_percent", str(low))
        page.fill(f"#id_tiers-{i}-max_percent", str(high))

    for i, (text, category) in enumerate(QUESTIONS):
        _add(page, "question")
        row = page.locator(f"#questions-{i}")
        row.locator(f"#id_questions-{i}-kind").select_option("single")
        row.locator(f"#id_questions-{i}-text").fill(text)
        # The category added above, not saved yet, is offered at once.
        row.locator(f"#id_questions-{i}-category").select_option(label=f"New: {category}")
        for j, (label, points) in enumerate([("No", 0), ("Yes", 10)]):
            _add(page, "choice", f"#questions-{i}")
            row.locator(f"#id_questions-{i}-choices-{j}-label").fill(label)
            row.locator(f"#id_questions-{i}-choices-{j}-points").fill(str(points))

    # A branch to a question that is also new: only later questions are offered.
    then = page.locator("#id_questions-0-choices-0-next_question")
    expect(then.locator("option:not([hidden])")).to_have_text(
        ["The next question"] + [f"New: {text}" for text, _ in QUESTIONS[1:]]
    )
    then.select_option(label=f"New: {QUESTIONS[3][0]}")
    # A category renamed on the page is renamed in the drop-downs too.
    page.fill("#id_categories-2-name", "Follow-up")
    expect(page.locator("#id_questions-4-category option:checked")).to_have_text("New: Follow-up")

    # Questions fold to one line.
    first = page.locator("#questions-0")
    first.locator("button.qf-fold").click()
    expect(first.locator("#id_questions-0-text")).to_be_hidden()
    expect(first.locator("h3")).to_contain_text("1. Do you advertise?")
    first.locator("button.qf-fold").click()

    page.locator("input[name=_continue]").last.click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")

    quiz = Quiz.objects.get(slug="built-in-the-browser")
    questions = quiz.ordered_questions()
    assert [q.text for q in questions] == [text for text, _ in QUESTIONS]
    assert [q.category.name for q in questions] == [
        "Reach",
        "Reach",
        "Insight",
        "Insight",
        "Follow-up",
    ]
    assert Choice.objects.get(question=questions[0], label="No").next_question == questions[3]
    assert [t.name for t in quiz.tiers.all()] == ["Cold", "Warm", "Hot"]
    assert quiz_problems(quiz=quiz) == []

    # The saved quiz's page opens with its questions folded, and publishes in one click.
    expect(page.locator("#questions-0")).to_have_class(re.compile("qf-folded"))
    page.locator("button[name=_publish]").click()
    expect(page.locator(".messagelist")).to_contain_text("is live at /q/built-in-the-browser/")
    expect(page.locator("a[data-action=unpublish]")).to_be_visible()


def _visitor(page: Page, live_server, quiz) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})  # a desktop, with a keyboard
    page.goto(live_server.url + quiz.get_absolute_url())
    page.get_by_role("button", name="Start the quiz").click()
    expect(page.locator("#progress-label")).to_have_text("Question 1 of 5")


def test_auto_advance_goes_on_after_a_single_pick_but_not_a_multiple_choice(
    phone, live_server, transactional_db
):
    quiz = ScorecardFactory(auto_advance=True)
    page = phone
    _visitor(page, live_server, quiz)
    page.get_by_text("Yes", exact=True).click()  # yes/no: goes on by itself
    expect(page.locator("#progress-label")).to_have_text("Question 2 of 5")
    page.get_by_text("Always", exact=True).click()  # single choice: the same
    expect(page.locator("#progress-label")).to_have_text("Question 3 of 5")
    page.get_by_text("Forms", exact=True).click()  # multiple choice waits for Next
    page.wait_for_timeout(800)
    expect(page.locator("#progress-label")).to_have_text("Question 3 of 5")
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#progress-label")).to_have_text("Question 4 of 5")
    answers = {a.question.text: a.display for a in quiz.attempts.get().answers.all()}
    assert answers == {
        "Do you advertise?": "Yes",
        "How do you tag links?": "Always",
        "What do you track?": "Forms",
    }


def test_keys_choose_and_enter_goes_on(phone, live_server, transactional_db):
    quiz = ScorecardFactory()  # no auto-advance: keys pick, Enter sends
    page = phone
    _visitor(page, live_server, quiz)
    expect(page.locator("#quiz-card .key-hint")).to_have_text(["A", "B"])
    page.keyboard.press("b")  # the second option: No (branches past question 2)
    expect(page.locator("#quiz-card input:checked + span")).to_have_text("No")
    page.keyboard.press("Enter")
    expect(page.locator("#progress-label")).to_have_text("Question 2 of 4")
    page.keyboard.press("1")  # Forms
    page.keyboard.press("3")  # Revenue
    page.keyboard.press("1")  # Forms again: off
    expect(page.locator("#quiz-card input:checked + span")).to_have_text(["Revenue"])
    page.keyboard.press("Enter")
    expect(page.locator("#progress-label")).to_have_text("Question 3 of 4")
    page.keyboard.press("7")  # a rating takes its own digit
    expect(page.locator("#quiz-card input:checked")).to_have_value("7")
    page.keyboard.press("Enter")
    expect(page.locator("#progress-label")).to_have_text("Question 4 of 4")
    box = page.locator("#quiz-card textarea")
    box.fill("Line one")
    box.press("Enter")  # a new line, not a send
    expect(page.locator("#progress-label")).to_have_text("Question 4 of 4")
    box.press("Control+Enter")
    expect(page).to_have_url(re.compile(r"/details/$"))
    attempt = quiz.attempts.get()
    assert {a.question.text: a.display for a in attempt.answers.all()} == {
        "Do you advertise?": "No",
        "What do you track?": "Revenue",
        "How confident are you?": "7 of 10",
        "Anything else?": "Line one",
    }
    assert not Lead.objects.exists()


def test_the_builder_previews_which_result_blocks_a_set_of_answers_shows(
    phone, live_server, transactional_db
):
    quiz = ScorecardFactory()
    HiddenField.objects.create(quiz=quiz, name="plan", pattern="free|pro")
    hot = ResultBlock.objects.create(quiz=quiz, order=1, headline="Book your strategy call")
    BlockCondition.objects.create(block=hot, kind="tier", tier=quiz.tiers.get(name="Hot"))
    pro = ResultBlock.objects.create(quiz=quiz, order=2, headline="Welcome, Pro customer")
    BlockCondition.objects.create(block=pro, kind="hidden", field_name="plan", value="pro")
    page = phone
    _log_in(page, live_server, f"/admin/quizzes/quiz/{quiz.pk}/change/")

    panel = page.locator("#qf-blocks-preview")
    panel.get_by_label("1. Do you advertise?").select_option(label="Yes")
    panel.get_by_label("2. How do you tag links?").select_option(label="Always")
    result = page.locator("#qf-blocks-preview-result")
    expect(result).to_contain_text("Score 100 %, tier Hot")
    expect(result).to_contain_text("1 of 2 result blocks would show")
    expect(result).to_contain_text("Book your strategy call")

    panel.get_by_label("Hidden field plan").fill("pro")
    panel.get_by_role("button", name="Preview result blocks").click()
    expect(result).to_contain_text("2 of 2 result blocks would show")
    expect(result.locator("li").nth(1)).to_have_text("Welcome, Pro customer")
    # The preview's inputs are not the quiz's: the page still saves as it was.
    page.locator("input[name=_continue]").first.click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")


def test_the_result_blocks_preview_is_usable_on_a_phone_and_on_a_desktop(
    phone, live_server, transactional_db
):
    quiz = ScorecardFactory()
    HiddenField.objects.create(quiz=quiz, name="plan", pattern="free|pro")
    page = phone
    _log_in(page, live_server, f"/admin/quizzes/quiz/{quiz.pk}/change/")
    panel = page.locator("#qf-blocks-preview")
    rows = panel.locator(".qf-preview-answers tr")

    page.set_viewport_size({"width": 390, "height": 844})
    expect(panel.locator("select").first).to_be_visible()
    width = panel.bounding_box()["width"]
    for row in rows.all():
        label, field = row.locator("th").bounding_box(), row.locator("td").bounding_box()
        assert label["y"] + label["height"] <= field["y"] + 1  # the question above its answers
    for field in panel.locator("select, input[type=text]").all():
        assert field.bounding_box()["width"] >= width - 40  # the whole width, but the padding
    panel.get_by_label("4. How confident are you?").select_option("7")
    expect(page.locator("#qf-blocks-preview-result")).to_contain_text("Score")
    panel.locator("xpath=ancestor::fieldset[1]").screenshot(path="/tmp/blocks-preview-phone.png")

    page.set_viewport_size({"width": 1280, "height": 900})
    for row in rows.all():
        label, field = row.locator("th").bounding_box(), row.locator("td").bounding_box()
        assert label["x"] + label["width"] <= field["x"] + 1  # the question beside its answers
    for field in panel.locator("select").all():
        assert field.bounding_box()["width"] >= 240  # long answers readable, not cut to "—"
    panel.locator("xpath=ancestor::fieldset[1]").screenshot(path="/tmp/blocks-preview-desktop.png")
