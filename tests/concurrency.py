"""Run requests at the same moment, each in its own thread and database connection."""

import threading

import pytest
from django.conf import settings
from django.db import connection

on_postgres = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="real row locks and concurrent connections need PostgreSQL (run with DATABASE_URL)",
)


def at_once(calls):
    """Call each function in its own thread, released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def worker(i, call):
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results
