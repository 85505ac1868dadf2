"""Shared setup for the benchmarks: Django on a throwaway PostgreSQL database.

DATABASE_URL names the server (default: the local PostgreSQL on 127.0.0.1);
the benchmark runs in a fresh `test_…` database made and dropped around it,
like the test suite's.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
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


@contextlib.contextmanager
def throwaway_database():
    from django.core.management import call_command

    # A name of its own: a benchmark never touches the test suite's test_… database, nor
    # another checkout's benchmark on the same server (named after DATABASE_URL's database).
    name = f"quizfunnel_bench_{connection.settings_dict['NAME']}"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    print(
        f"database: {connection.vendor} {name} on {connection.settings_dict['HOST']} "
        "(made and dropped around the run)"
    )
    call_command("collectstatic", interactive=False, verbosity=0)  # as production does
    old = setup_databases(verbosity=0, interactive=False)
    try:
        yield
    finally:
        teardown_databases(old, verbosity=0)


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000
