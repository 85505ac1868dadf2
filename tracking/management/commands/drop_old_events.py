"""Drop the months of events older than TRACKING_EVENT_RETENTION_MONTHS (tracking.retention)."""

from django.core.management.base import BaseCommand, CommandError

from tracking.retention import drop_old_events


class Command(BaseCommand):
    help = (
        "Drop the events table's monthly partitions wholly older than the first day of "
        "(this month − TRACKING_EVENT_RETENTION_MONTHS), UTC, with what points at their "
        "events. A month whose events are not yet rolled up, or have a delivery not "
        "finished, stays, and the output says why (exit status 1)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would go and what stays; drop nothing."
        )

    def handle(self, *args, dry_run=False, **options):
        outcome = drop_old_events(dry_run=dry_run)
        for line in outcome.lines():
            self.stdout.write(line)
        if outcome.dropped_events:
            months = sum(m.dropped for m in outcome.months)
            self.stdout.write(f"Dropped {outcome.dropped_events:,} events in {months} months.")
        kept = [m for m in outcome.months if m.reasons]
        if kept or (outcome.refused and outcome.cutoff):
            raise CommandError(
                f"{len(kept)} month(s) kept, see above." if kept else "Nothing dropped."
            )
