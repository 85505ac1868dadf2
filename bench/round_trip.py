"""Benchmark: click-to-next-card in Chromium, one round trip per step against two.

Serves the app (production settings, the demo quiz) from a threaded WSGI server on
127.0.0.1 and drives Debian's Chromium (playwright, /usr/bin/chromium) through the
quiz. For each answer that leads to another question it times, inside the page, from
the form's submit to htmx settling the next card. Two ways, interleaved run by run:

- one round trip: the htmx POST answers with the next card (as shipped);
- post/redirect/get: the same htmx POST, but the server is made to answer as it did
  before (a redirect the browser follows, then a GET for the card): the `HX-Request`
  header is taken off answer POSTs only, so the view takes its no-JavaScript path.

Once on loopback, and once with a phone's network emulated through the DevTools
protocol (Network.emulateNetworkConditions: 100 ms latency per request).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/round_trip.py [runs]
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import threading

from harness import throwaway_database

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 6
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SLUG = "marketing-measurement"
PHONE_LATENCY_MS = 100
MODES = ("one round trip", "post/redirect/get")


class TwoRoundTrips:
    """WSGI wrapper: while `on`, answer POSTs reach the view without HX-Request, so it
    redirects (the old behaviour); the browser's GET that follows keeps the header."""

    def __init__(self, app) -> None:
        self.app = app
        self.on = False

    def __call__(self, environ, start_response):
        if self.on and environ["REQUEST_METHOD"] == "POST" and "/t/" in environ["PATH_INFO"]:
            environ.pop("HTTP_HX_REQUEST", None)
        return self.app(environ, start_response)


# In the page: submit the card's form with an answer chosen, resolve with the
# milliseconds until htmx has settled the card that replaced it.
ANSWER_AND_TIME = """
() => new Promise((resolve) => {
  const form = document.querySelector('#quiz-card form');
  const choice = form.querySelector('input[name=answer]:not([type=hidden])');
  if (choice && (choice.type === 'radio' || choice.type === 'checkbox')) choice.checked = true;
  else if (choice) choice.value = choice.max || '5';
  const text = form.querySelector('textarea[name=answer]');
  if (text) text.value = 'Everything, measured';
  const started = performance.now();
  document.body.addEventListener('htmx:afterSettle', () => resolve({
    ms: performance.now() - started,
    next: document.querySelector('#quiz-card form')?.getAttribute('action') || '',
  }), {once: true});
  form.requestSubmit();
})
"""


def serve():
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    app = TwoRoundTrips(WSGIHandler())
    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet, allow_reuse_address=True)
    server.set_app(app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, app


def quiz_run(page, base: str) -> list[float]:
    """One visitor from the intro to the lead form; click-to-next-card of each answer
    that brings another question."""
    page.context.clear_cookies()
    page.goto(f"{base}/q/{SLUG}/")
    page.click("#quiz-card button[type=submit]")
    page.wait_for_selector("#quiz-card form[action*='/t/']")
    times = []
    while True:
        result = page.evaluate(ANSWER_AND_TIME)
        if "/details/" in result["next"] or not result["next"]:
            return times  # the lead form: a redirect either way, not counted
        times.append(result["ms"])


def main() -> None:
    if not os.path.exists(CHROMIUM):
        raise SystemExit("Chromium is missing: apt-get install -y chromium")
    from django.core.management import call_command
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # playwright's loop in this thread
    with throwaway_database():
        call_command("seed_demo", "--no-admin", verbosity=0)
        server, app = serve()
        base = f"http://127.0.0.1:{server.server_port}"
        from django.conf import settings

        settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
        results: dict[tuple[str, str], list[float]] = {}
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM,
                    args=[
                        "--no-sandbox",
                        "--disable-background-networking",
                        "--disable-component-update",
                    ],
                )
                context = browser.new_context(viewport={"width": 390, "height": 844})
                page = context.new_page()
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                for network, latency in (("loopback", 0), ("phone, 100 ms", PHONE_LATENCY_MS)):
                    cdp.send(
                        "Network.emulateNetworkConditions",
                        {
                            "offline": False,
                            "latency": latency,
                            "downloadThroughput": -1,
                            "uploadThroughput": -1,
                        },
                    )
                    for mode in MODES if not latency else ():  # warm up both paths, once
                        app.on = mode != MODES[0]
                        quiz_run(page, base)
                    for i in range(RUNS):
                        for mode in MODES[i % 2 :] + MODES[: i % 2]:
                            app.on = mode != MODES[0]
                            results.setdefault((network, mode), []).extend(quiz_run(page, base))
                browser.close()
        finally:
            server.shutdown()
            server.server_close()

    print(f"click-to-next-card in Chromium, {RUNS} runs of the demo quiz per way, interleaved")
    for network in ("loopback", f"phone, {PHONE_LATENCY_MS} ms"):
        one = statistics.median(results[(network, MODES[0])])
        two = statistics.median(results[(network, MODES[1])])
        print(
            f"{network + ':':15s} one round trip {one:6.1f} ms, post/redirect/get {two:6.1f} ms "
            f"(median of {len(results[(network, MODES[0])])} clicks): "
            f"ratio {one / two:.2f} (target < 1: one round trip is faster)"
        )


if __name__ == "__main__":
    main()
