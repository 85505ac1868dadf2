"""A visitor takes the demo quiz to its result in Chromium: with htmx, and without JavaScript."""

import re
import time

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from leads.models import Lead
from tracking.models import ConversionEvent, EventEnrichment

pytestmark = pytest.mark.browser

PROGRESS = re.compile(r"Question (\d+) of (\d+)")


@pytest.fixture
def demo(live_server, transactional_db):
    call_command("seed_demo", "--no-admin")
    return live_server.url + "/q/marketing-measurement/"


def _progress(page: Page) -> tuple[int, int]:
    label = page.locator("#progress-label").inner_text()
    match = PROGRESS.search(label)
    assert match, label
    return int(match[1]), int(match[2])


def _choose(page: Page, step: int) -> str:
    """Pick an answer on the current step; returns the label of the chosen option."""
    card = page.locator("#quiz-card")
    options = card.locator("label.option, label.scale-option")
    if options.count():
        # Vary the picks: the last option ("No" on the first step takes the branch
        # the first time through the loop, the best answer elsewhere).
        option = options.nth(options.count() - 1 if step % 2 else 0)
        option.click()
        # The option's own words (its <span>), not the key hint quiz-keys.js adds beside them.
        return option.locator("span").first.inner_text().strip()
    card.locator("textarea").fill("Trustworthy lead counts")
    return "text"


def _take_the_quiz(page: Page, url: str, *, htmx: bool) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Marketing Measurement Scorecard")
    if htmx:
        page.evaluate("window.sameDocument = true")
    page.get_by_role("button", name="Get my score").click()

    seen, urls = [], []
    went_back = False
    while page.locator("#progress-label").inner_text().startswith("Question"):
        position, total = _progress(page)
        if htmx:
            # The card was swapped, not the page reloaded; focus went to the question.
            assert page.evaluate("window.sameDocument") is True
            page.wait_for_function("document.activeElement?.id === 'question-heading'")
        # Each step has its own address (pushed by htmx, or reached by redirect).
        assert re.search(r"/t/[\w-]+/q/\d+/$", page.url), page.url
        assert page.url not in urls
        urls.append(page.url)
        seen.append((position, total))
        chosen = _choose(page, len(seen))
        page.get_by_role("button", name=re.compile("Next|Finish")).click()

        if len(seen) == 3 and not went_back:
            went_back = True
            expect(page.locator("#progress-label")).not_to_have_text(
                f"Question {position} of {total}"
            )
            page.get_by_role("link", name="Back").click()
            expect(page.locator("#progress-label")).to_have_text(f"Question {position} of {total}")
            checked = page.locator("#quiz-card input:checked")
            expect(checked).to_have_count(1)
            label = checked.locator("xpath=..").locator("span").first
            assert label.inner_text().strip() == chosen
            page.get_by_role("button", name=re.compile("Next|Finish")).click()
        expect(page.locator("#progress-label")).not_to_have_text(f"Question {position} of {total}")

    positions = [p for p, _ in seen]
    assert positions == list(range(1, len(seen) + 1)), seen
    assert seen[-1][0] == seen[-1][1]  # the bar ends on "Question N of N"
    assert len(seen) < 9  # "No" to paid ads skipped the ad questions: the path is shorter

    page.get_by_label("Email").fill("not-an-email")
    page.get_by_role("button", name="See my result").click()
    expect(page.get_by_text("Please enter a valid email address")).to_be_visible()
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_role("button", name="See my result").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Your score: \d+%"))
    expect(page.locator(".tier-badge")).to_have_text(re.compile("Cold|Warm|Hot"))
    assert "/r/" in page.url
    if htmx:
        assert page.evaluate("window.sameDocument") is True
    lead = Lead.objects.get()
    # The ad questions were skipped, so their category has no bar.
    expect(page.locator(".categories li")).to_have_count(len(lead.category_scores))
    assert len(lead.category_scores) == 2
    assert lead.email == "ada@example.com"
    assert f"Your score: {lead.score_percent}%" in page.content()


def _wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_the_demo_quiz_with_htmx_swaps_each_step_without_reloading(phone, demo):
    _take_the_quiz(phone, demo, htmx=True)
    # tracking.js added the time on each question to the server's events, by their ids,
    # across the swaps: no second question_viewed, one enrichment per question left.
    viewed = ConversionEvent.objects.filter(name="question_viewed")
    enriched = EventEnrichment.objects.filter(event__name="question_viewed")
    assert _wait_for(lambda: enriched.count() >= viewed.count())
    assert {e.event_id for e in enriched} == set(viewed.values_list("id", flat=True))
    assert all(e.properties["time_visible_ms"] >= 0 for e in enriched)

    # Leaving the result page sends its time on screen and how far it was read.
    phone.goto("about:blank")
    result = ConversionEvent.objects.get(name="result_viewed")
    assert _wait_for(lambda: EventEnrichment.objects.filter(event=result).exists())
    read = EventEnrichment.objects.get(event=result).properties
    assert read["time_visible_ms"] > 0
    assert 0 < read["read_depth_percent"] <= 100
    assert ConversionEvent.objects.filter(source="client").count() == 0


def test_the_demo_quiz_works_without_javascript(phone_without_javascript, demo):
    _take_the_quiz(phone_without_javascript, demo, htmx=False)
