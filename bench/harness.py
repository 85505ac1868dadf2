"""Shared setup for the benchmarks: Django on a throwaway PostgreSQL database.

DATABASE_URL names the server (default: the local PostgreSQL on 127.0.0.1);
the benchmark runs in a fresh `test_…` database made and dropped around it,
like the test suite's.
"""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-" + "x" * 30)
os.environ.setdefault("HTTPS", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
# Outbox rows are written, but only the latency benchmark sends them to a broker.
os.environ.setdefault("AUTOMATIONS_QUEUE", "false")

import django

django.setup()

from django.db import connection
from django.test.utils import setup_databases, teardown_databases


def collect_static() -> None:
    """collectstatic, as production does, unless the files collected are newer than every
    source (each run of it compresses every file again: a minute on a busy machine, for
    each benchmark)."""
    from django.conf import settings
    from django.contrib.staticfiles import finders
    from django.core.management import call_command

    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.exists():
        newest = max(
            (
                os.path.getmtime(storage.path(path))
                for finder in finders.get_finders()
                for path, storage in finder.list([])
            ),
            default=0,
        )
        if manifest.stat().st_mtime >= newest:
            return
    call_command("collectstatic", interactive=False, verbosity=0)


@contextlib.contextmanager
def kept_database():
    """The database a run with keep=True left (BENCH_DATABASE), as it is."""
    name = os.environ.get("BENCH_DATABASE", "quizfunnel_bench")
    connection.close()
    connection.settings_dict["NAME"] = name
    print(f"database: {connection.vendor} {name}, kept by an earlier run (left as it is)")
    yield


@contextlib.contextmanager
def throwaway_database(keep: bool = False):

    # A name of its own: a benchmark never touches the test suite's test_… database
    # (BENCH_DATABASE: another name, when several checkouts share one server).
    name = os.environ.get("BENCH_DATABASE", "quizfunnel_bench")
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    print(
        f"database: {connection.vendor} {name} on {connection.settings_dict['HOST']} "
        "(made and dropped around the run)"
    )
    collect_static()  # as production does
    old = setup_databases(verbosity=0, interactive=False)
    try:
        yield
    finally:
        if not keep:
            teardown_databases(old, verbosity=0)


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


# --- a visitor's run of a quiz (bench/load.py over HTTP, bench/request_cpu.py in WSGI) ---

KINDS = ["intro", "start", "question", "answer", "lead form", "lead submit", "result"]


def kind_of(method: str, path: str) -> str:
    """Which of KINDS a visitor's request is, by its method and path."""
    if path.endswith("/start/"):
        return "start"
    if path.endswith("/details/"):
        return "lead submit" if method == "POST" else "lead form"
    if "/q/" in path and "/t/" in path:
        return "answer" if method == "POST" else "question"
    if "/r/" in path:
        return "result"
    return "intro"


class RunFailed(Exception):
    """A run that did not reach its result page, and where it stopped."""


def form_field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    if found is None:
        raise RunFailed(f"no {name} on {page[:200]!r}")
    return found[1]


def quiz_run(request: Callable[..., str], slug: str, answers: dict[int, list[str]]) -> str:
    """A complete run of the quiz `slug` as one visitor, intro to result; the result page.

    `request(method, path, form=None, *, hx=True)` makes a request (with htmx's headers
    unless hx is false), follows its redirects and returns the last page's HTML. The intro
    is a page load; each question the pages show is answered with `answers` (question id
    -> the values to post), then the lead form is sent with a new e-mail address.
    """
    page = request("GET", f"/q/{slug}/", hx=False)
    csrf = form_field(page, "csrfmiddlewaretoken")
    page = request(
        "POST",
        f"/q/{slug}/start/",
        {"csrfmiddlewaretoken": csrf, "start_key": form_field(page, "start_key")},
    )
    for _ in range(50):
        action = re.search(r'<form method="post" action="([^"]+)"', page)
        if action is None:
            raise RunFailed(f"no form on {page[:200]!r}")
        path = action[1]
        if path.endswith("/details/"):
            break
        question_id = int(re.search(r"/q/(\d+)/$", path)[1])
        page = request("POST", path, {"csrfmiddlewaretoken": csrf, "answer": answers[question_id]})
    else:
        raise RunFailed(f"no lead form after 50 questions: {page[:200]!r}")
    form = {
        "csrfmiddlewaretoken": csrf,
        "email": f"visitor-{uuid.uuid4().hex}@example.com",
        "name": "Bench",
        "company": "Bench",
        "website": "",
    }
    page = request("POST", path, form)
    if "result" not in page.lower():
        raise RunFailed(f"no result page: {page[:200]!r}")
    return page
