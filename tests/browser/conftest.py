"""Debian's Chromium driven by the playwright package (never `playwright install`)."""

import os
import shutil
import threading
import time

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class InFlight:
    """Wraps the live server's WSGI app to count the requests it is still serving.

    A page that is closed sends its last beacon (tracking.js on `pagehide`) after
    the test's own steps are over; the database must not be flushed under it.
    """

    def __init__(self, app):
        self.app = app
        self.count = 0
        self.last_change = time.monotonic()
        self.lock = threading.Lock()

    def _move(self, step: int) -> None:
        with self.lock:
            self.count += step
            self.last_change = time.monotonic()

    def __call__(self, environ, start_response):
        self._move(+1)
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self._move(-1)
            raise
        return _Closing(result, lambda: self._move(-1))

    def wait_until_idle(self, *, quiet: float = 0.5, timeout: float = 15.0) -> None:
        """Return once nothing has been served or started for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                idle = self.count == 0 and time.monotonic() - self.last_change >= quiet
            if idle:
                return
            time.sleep(0.05)
        raise AssertionError(f"the live server still serves {self.count} request(s)")


class _Closing:
    def __init__(self, result, on_close):
        self.result = result
        self.on_close = on_close

    def __iter__(self):
        return iter(self.result)

    def close(self):
        try:
            if hasattr(self.result, "close"):
                self.result.close()
        finally:
            self.on_close()


@pytest.fixture
def server_requests(live_server, transactional_db) -> InFlight:
    """The live server's in-flight counter (installed once per live server)."""
    httpd = live_server.thread.httpd
    app = httpd.get_app()
    if not isinstance(app, InFlight):
        app = InFlight(app)
        httpd.set_app(app)
    return app


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: apt-get install -y chromium")
        pytest.skip("Chromium is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # tests make around it are still synchronous and safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def _page(browser, server_requests, **options):
    """A phone-sized page, closed before the test database is flushed.

    Leaving the page first lets tracking.js send what it holds; the fixture then
    waits for the live server to finish, so no request outlives the test.
    """
    context = browser.new_context(viewport={"width": 390, "height": 844}, **options)
    page = context.new_page()
    yield page
    try:
        page.goto("about:blank")
    finally:
        context.close()
        server_requests.wait_until_idle()


@pytest.fixture
def phone(browser, server_requests):
    """A phone-sized page with JavaScript (htmx) on."""
    yield from _page(browser, server_requests)


@pytest.fixture
def phone_without_javascript(browser, server_requests):
    yield from _page(browser, server_requests, java_script_enabled=False)
