"""Log filters: the log says what happened, and stays quiet when nothing did.

Wired in `settings.LOGGING`; a test in tests/test_logging.py reads the lines they leave.
"""

from __future__ import annotations

import logging

# Periodic housekeeping that runs every few seconds and is news only when it found
# work; the task itself logs a line then.
QUIET_TASKS = frozenset(
    {
        "automations.tasks.sweep_deliveries",
        "tracking.tasks.record_abandoned_runs",
        "tracking.tasks.flush_rollups",
    }
)


class OneLineForRefusals(logging.Filter):
    """A 4xx answer (403 for someone without the right, 404 for a page gone) is the site
    working as meant: Django's one line says so; its traceback would only bury real errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True


class QuietHousekeeping(logging.Filter):
    """Drop Celery's "received" and "succeeded" lines for the tasks in QUIET_TASKS.

    Their failures are logged at ERROR by Celery and pass through.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        args = record.args if isinstance(record.args, dict) else {}
        return args.get("name") not in QUIET_TASKS
