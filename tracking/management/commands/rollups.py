"""Roll pending events up for the reports now, or rebuild the rollups from nothing."""

import time

from django.core.management.base import BaseCommand

from tracking import rollups
from tracking.models import PendingEvent


class Command(BaseCommand):
    help = (
        "Roll the pending events up for the dashboard's reports (the worker does it every "
        "ROLLUP_SECONDS); with --rebuild, empty the rollups and roll every event up again "
        "(the reports stay exact meanwhile, only slower)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild", action="store_true", help="Roll every event up again, from nothing."
        )

    def handle(self, *args, rebuild=False, **options):
        started = time.perf_counter()
        done = rollups.rebuild() if rebuild else rollups.flush()
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"Rolled up {done:,} events in {seconds:.1f} s; "
            f"{PendingEvent.objects.count():,} pending now."
        )
