"""A visitor's mistake re-renders only the quiz card: the page keeps its styles and the
honeypot stays hidden, with htmx and without JavaScript, with DEBUG on and off."""

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from tests.quizzes.factories import ScorecardFactory
from tests.visitor import HOT_RUN, details_url, question, run, start, step_url

pytestmark = pytest.mark.browser


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings):
    # In DEBUG, django-htmx's error handler puts a 400 (and 403, 404, 500) over the
    # whole document: the card alone, unstyled, honeypot showing.
    settings.DEBUG = request.param
    return request.param


@pytest.fixture(params=["htmx", "no javascript"])
def page(request) -> Page:
    return request.getfixturevalue(
        "phone" if request.param == "htmx" else "phone_without_javascript"
    )


def _page_is_still_styled(page: Page) -> None:
    # The stylesheet still applies: the card keeps its white background on the grey page.
    assert page.locator("link[rel=stylesheet]").count() == 1
    background = page.locator("#quiz-card").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(255, 255, 255)"
    assert page.locator("main #quiz-card").count() == 1


def test_an_invalid_email_shows_the_message_in_the_card(page, debug, live_server):
    quiz = ScorecardFactory()
    attempt = run(Client(), quiz)
    page.goto(live_server.url + details_url(attempt))
    page.locator("#id_email").fill("a@b")
    page.get_by_role("button", name="See my result").click()

    expect(page.get_by_text("Please enter a valid email address")).to_be_visible()
    _page_is_still_styled(page)
    expect(page.locator("input[name=website]")).not_to_be_in_viewport()
    assert page.locator(".hp").bounding_box()["x"] < 0
    expect(page.locator("#id_email")).to_have_value("a@b")  # what was typed is kept


def test_a_missing_answer_shows_the_message_in_the_card(page, debug, live_server):
    quiz = ScorecardFactory()
    attempt = start(Client(), quiz)
    url = live_server.url + step_url(attempt, question(quiz, "Do you advertise?"))
    page.goto(url)
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_text("Please answer this question to continue.")).to_be_visible()
    _page_is_still_styled(page)
    assert page.url == url
    expect(page.get_by_role("heading", name="Do you advertise?")).to_be_visible()


def test_a_long_text_answer_is_counted_live_and_refused_with_a_message(phone, live_server):
    quiz = ScorecardFactory()
    attempt = run(Client(), quiz, steps=HOT_RUN[:-1])  # up to the text question
    page = phone
    page.goto(live_server.url + step_url(attempt, question(quiz, "Anything else?")))
    counter = page.locator("#answer-limit")
    expect(counter).to_have_text("0 of 1,000 characters.")  # "Up to 1,000" without JS
    box = page.locator("#quiz-card textarea")
    box.fill("x" * 990)
    expect(counter).to_have_text("990 of 1,000 characters.")
    box.press_sequentially("y" * 15)  # typing on is not cut off: the counter says so
    expect(counter).to_have_text("1,005 of 1,000 characters: 5 too many.")
    assert len(box.input_value()) == 1005
    page.get_by_role("button", name="Finish").click()
    expect(
        page.get_by_text("Keep the answer to 1,000 characters or fewer (it has 1,005).")
    ).to_be_visible()
    _page_is_still_styled(page)
    expect(counter).to_have_text("1,005 of 1,000 characters: 5 too many.")  # after the swap too
