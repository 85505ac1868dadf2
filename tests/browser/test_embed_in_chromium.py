"""The demo quiz embedded on another site, in Chromium with third-party cookies blocked.

The embedding page is served from http://localhost:PORT_A/ (a small HTTP server of the
test), the quiz from http://127.0.0.1:PORT_B/ (the live server): two sites. Over plain
HTTP the quiz's cookies are SameSite=Lax (Partitioned needs HTTPS, see core.cookies),
so inside the frame no cookie of the quiz is kept at all: the run lives in its URL
token, and the answers post with the run's own CSRF proof (core.csrf).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from leads.models import Lead
from quizzes.demo import SLUG
from quizzes.models import Quiz
from tests.browser.conftest import CHROMIUM
from tracking.models import ConversionEvent

pytestmark = pytest.mark.browser

LISTEN = """<script>
  window.received = [];
  ["started", "completed", "lead", "result"].forEach(function (name) {
    document.addEventListener("quizfunnel:" + name, function (event) {
      window.received.push({ type: event.type, detail: event.detail });
    });
  });
</script>"""


class ParentSite:
    """The marketer's own site: pages that embed the quiz with the snippet."""

    def __init__(self, quiz_host: str):
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = urlsplit(self.path).path
                headers = {"Content-Type": "text/html; charset=utf-8"}
                if path == "/probe":
                    # An ordinary third-party cookie: kept only if the browser allows them.
                    headers["Set-Cookie"] = "probe=1; SameSite=None; Secure; Path=/"
                    body = "<p>probe</p>"
                else:
                    body = site.page(path)
                data = body.encode()
                self.send_response(200)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.quiz_host = quiz_host
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "localhost") -> str:
        return f"http://{host}:{self.port}{path}"

    def page(self, path: str) -> str:
        mode = path.strip("/") or "inline"
        if mode == "raw":  # the quiz framed by hand, without embed.js
            embed = f'<iframe id="raw" src="{self.quiz_host}/q/{SLUG}/"></iframe>'
        elif mode == "probe-frame":
            embed = f'<iframe src="{self.url("/probe", host="127.0.0.1")}"></iframe>'
        else:
            embed = (
                f'<script src="{self.quiz_host}/embed.js" data-quiz="{SLUG}" data-mode="{mode}" '
                'data-button-text="Take the test" data-title="Marketing scorecard" async></script>'
            )
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Our blog</title></head><body><h1>Our blog</h1>{LISTEN}"
            f"<p>Read on, then take the quiz.</p>{embed}<p>After the quiz.</p></body></html>"
        )

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def parent(live_server, transactional_db):
    call_command("seed_demo", "--no-admin")
    # Only localhost may embed: 127.0.0.1:PORT_A is a site that is not listed.
    Quiz.objects.filter(slug=SLUG).update(embed_origins="http://localhost:*")
    # The live server answers on 127.0.0.1 as well: another site than localhost.
    port = urlsplit(live_server.url).port
    site = ParentSite(f"http://127.0.0.1:{port}")
    yield site
    site.stop()


@pytest.fixture(scope="module")
def blocking_browser():
    """Chromium with third-party cookies blocked (the flag; recent builds block by default)."""
    import os

    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-component-update",
                "--test-third-party-cookie-phaseout",
            ],
        )
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def context(blocking_browser, parent, server_requests):
    context = blocking_browser.new_context(viewport={"width": 390, "height": 844})
    yield context
    context.close()
    server_requests.wait_until_idle()


def test_the_browser_really_blocks_third_party_cookies(context, parent):
    page = context.new_page()
    page.goto(parent.url("/probe-frame"))
    page.wait_for_timeout(500)
    assert not [c for c in context.cookies() if c["name"] == "probe"]  # refused in a frame
    page.goto(parent.url("/probe", host="127.0.0.1"))  # the same cookie, first-party
    assert [c for c in context.cookies() if c["name"] == "probe"]


def _frame_fits(page: Page) -> None:
    """The frame is as tall as its content: no inner scroll bar, nothing cut off."""
    page.wait_for_function(
        """() => {
          const iframe = document.querySelector("iframe.quizfunnel-frame");
          return iframe && iframe.getBoundingClientRect().height > 150;
        }"""
    )
    frame = page.frame_locator("iframe.quizfunnel-frame")
    for _ in range(40):
        outer = page.evaluate(
            "document.querySelector('iframe.quizfunnel-frame').getBoundingClientRect().height"
        )
        inner = frame.locator("body").evaluate(
            "b => [document.documentElement.scrollHeight, window.innerHeight]"
        )
        if inner[0] <= inner[1] + 1 and abs(outer - inner[1]) <= 1:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the frame ({outer}px) does not fit its content {inner}")


def _answer_until_the_lead_form(frame, page: Page, heights: list[float]) -> None:
    while frame.locator("#progress-label").inner_text().startswith("Question"):
        label = frame.locator("#progress-label").inner_text()
        options = frame.locator("#quiz-card label.option, #quiz-card label.scale-option")
        if options.count():
            options.first.click()
        else:
            frame.locator("textarea").fill("More budget")
        frame.locator("button[type=submit]").click()
        expect(frame.locator("#progress-label")).not_to_have_text(label)
        _frame_fits(page)
        heights.append(
            page.evaluate(
                "document.querySelector('iframe.quizfunnel-frame').getBoundingClientRect().height"
            )
        )


def test_a_visitor_takes_the_embedded_quiz_to_its_result_with_cookies_blocked(context, parent):
    page = context.new_page()
    page.goto(parent.url("/inline?utm_source=parentnews&plan=pro"))
    frame = page.frame_locator("iframe.quizfunnel-frame")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Marketing Measurement Scorecard")
    _frame_fits(page)
    heights = [
        page.evaluate(
            "document.querySelector('iframe.quizfunnel-frame').getBoundingClientRect().height"
        )
    ]
    frame.get_by_role("button", name="Get my score").click()
    expect(frame.locator("#progress-label")).to_contain_text("Question 1")
    _frame_fits(page)
    _answer_until_the_lead_form(frame, page, heights)

    frame.get_by_label("Email").fill("embedded@example.com")
    frame.get_by_role("button", name="See my result").click()
    expect(frame.get_by_role("heading", level=1)).to_contain_text("Your score")
    _frame_fits(page)
    heights.append(
        page.evaluate(
            "document.querySelector('iframe.quizfunnel-frame').getBoundingClientRect().height"
        )
    )
    # The frame followed its content: the long result is far taller than the intro.
    assert heights[-1] > heights[0] + 300, heights
    assert len({round(h) for h in heights}) > 2, heights

    lead = Lead.objects.get(email="embedded@example.com")
    assert lead.attribution["first_source"] == "parentnews"  # the parent page's utm_source
    assert lead.hidden_fields == {"plan": "pro"}
    assert lead.attempt.embedded_on.startswith(parent.url("/inline"))
    event = ConversionEvent.objects.get(name="lead_submitted", lead=lead)
    page.wait_for_function("window.received.some(e => e.type === 'quizfunnel:lead')")
    received = page.evaluate("window.received")
    [told] = [e for e in received if e["type"] == "quizfunnel:lead"]
    assert told["detail"]["event_id"] == str(event.event_id)
    assert told["detail"]["tier"] == lead.tier_name
    assert [e["type"] for e in received].count("quizfunnel:started") == 1  # deduplicated
    # The run never needed a cookie: the browser kept none of the quiz's.
    quiz_host = urlsplit(parent.quiz_host).hostname
    assert [c["name"] for c in context.cookies() if c["domain"] == quiz_host] == []
    # The call to action opens in the top window.
    # Every call to action (the tier's, the result blocks') opens in the top window.
    ctas = frame.locator("a.cta")
    for number in range(ctas.count()):
        assert ctas.nth(number).get_attribute("target") == "_top"


def test_messages_from_a_foreign_origin_are_ignored(context, parent):
    page = context.new_page()
    page.goto(parent.url("/inline"))
    frame = page.frame_locator("iframe.quizfunnel-frame")
    expect(frame.get_by_role("button", name="Get my score")).to_be_visible()
    _frame_fits(page)
    height = "document.querySelector('iframe.quizfunnel-frame').style.height"
    before = page.evaluate(height)
    # The page itself (another origin than the quiz's) forges the frame's messages.
    page.evaluate(
        """() => {
          const forged = { source: "quizfunnel", event_id: "forged", tier: "Hot" };
          window.postMessage({ ...forged, type: "quizfunnel:lead" }, "*");
          window.postMessage({ ...forged, type: "quizfunnel:resize", height: 5 }, "*");
        }"""
    )
    page.wait_for_timeout(500)
    assert page.evaluate("window.received") == []
    assert page.evaluate(height) == before


def test_a_site_that_is_not_listed_is_refused(context, parent):
    page = context.new_page()
    # embed.js on an unlisted site: the frame says why, and holds no quiz.
    page.goto(parent.url("/inline", host="127.0.0.1"))
    frame = page.frame_locator("iframe.quizfunnel-frame")
    expect(frame.get_by_role("heading", level=1)).to_have_text(
        "This quiz can't be shown on this site"
    )
    expect(frame.get_by_role("button", name="Get my score")).to_have_count(0)
    # Framed by hand on that site, the browser itself refuses the quiz (frame-ancestors).
    responses = []
    page.on("response", lambda r: responses.append(r) if f"/q/{SLUG}/" in r.url else None)
    page.goto(parent.url("/raw", host="127.0.0.1"))
    page.wait_for_timeout(800)
    assert responses and "frame-ancestors 'self' http://localhost:*" in (
        responses[0].headers.get("content-security-policy", "")
    )
    raw = page.frame_locator("#raw")
    expect(raw.get_by_role("button", name="Get my score")).to_have_count(0)
    # On a listed site the same hand-made frame shows the quiz.
    page.goto(parent.url("/raw"))
    expect(page.frame_locator("#raw").get_by_role("button", name="Get my score")).to_be_visible()


@pytest.mark.parametrize("mode", ["popup", "slider"])
def test_the_popup_and_the_slider_open_take_a_step_and_close(context, parent, mode):
    page = context.new_page()
    page.goto(parent.url(f"/{mode}?utm_source=parentnews"))
    button = page.get_by_role("button", name="Take the test")
    dialog = page.get_by_role("dialog", name="Marketing scorecard")
    expect(dialog).to_be_hidden()
    button.click()
    expect(dialog).to_be_visible()
    close = page.get_by_role("button", name="Close the quiz")
    expect(close).to_be_focused()
    # Focus stays in the dialog: Tab goes to the frame, Shift+Tab from the close button
    # wraps to the frame too, never to the page behind.
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.tagName") == "IFRAME"
    frame = page.frame_locator("iframe.quizfunnel-frame")
    frame.get_by_role("button", name="Get my score").click()
    expect(frame.locator("#progress-label")).to_contain_text("Question 1")
    frame.locator("#quiz-card label.option").first.click()
    frame.locator("button[type=submit]").click()
    expect(frame.locator("#progress-label")).to_contain_text("Question 2")
    # Escape inside the frame closes the dialog and gives focus back to the button.
    frame.locator("#quiz-card label.option").first.focus()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()
    # Opened again (here from a script), the run is where the visitor left it.
    page.evaluate(f"Quizfunnel.open({SLUG!r})")
    expect(dialog).to_be_visible()
    expect(frame.locator("#progress-label")).to_contain_text("Question 2")
    close.click()
    expect(dialog).to_be_hidden()
    received = page.evaluate("window.received")
    assert [e["type"] for e in received] == ["quizfunnel:started"]
