"""Which database a query goes to: the dashboard's reports may read a replica.

With REPORTS_DATABASE_URL set there is a second alias, `reports`. The dashboard's
views read inside `reports_database()`, and the router sends every read made there
to that alias; everything else (the visitor's steps, sales, the worker, every write)
stays on `default`. Without the alias the router has no opinion and all is `default`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connections

REPORTS = "reports"
_reading_reports: ContextVar[bool] = ContextVar("reading_reports", default=False)


@contextmanager
def reports_database() -> Iterator[None]:
    """Reads made inside go to the `reports` alias, when there is one."""
    token = _reading_reports.set(True)
    try:
        yield
    finally:
        _reading_reports.reset(token)


def reads_reports(view):
    """A view whose reads go to the reports alias (put it below the access checks, so
    the session and the user are read from `default`)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        with reports_database():
            return view(*args, **kwargs)

    return wrapped


class ReportsRouter:
    """DATABASE_ROUTERS: reads inside reports_database() go to `reports`; the rest is
    left to the default routing. The replica is never migrated (it follows its primary)."""

    def db_for_read(self, model, **hints) -> str | None:
        if _reading_reports.get() and REPORTS in connections.settings:
            return REPORTS
        return None

    def db_for_write(self, model, **hints) -> str | None:
        return None

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # The replica holds the same rows as default: objects read from either relate.
        return True if {obj1._state.db, obj2._state.db} <= {"default", REPORTS} else None

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool | None:
        return False if db == REPORTS else None
