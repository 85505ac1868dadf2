"""Partition the events table by month on PostgreSQL (idempotent; see tracking.partitions)."""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from tracking import partitions


class Command(BaseCommand):
    help = (
        "Turn the events table into one range-partitioned by month (PostgreSQL), online: "
        "the existing table becomes the partition of everything before next month without "
        "being copied, keys for exactly-once are written beside it, and the months ahead "
        "are made. Run again to finish an interrupted run, or to make the months ahead."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--from",
            dest="first",
            metavar="YYYY-MM",
            help="Also make the months from this one on (for events imported with older "
            "times, which the default partition holds otherwise).",
        )
        parser.add_argument(
            "--undo",
            action="store_true",
            help="Make it one table again (copies every event, under a lock: a way back).",
        )

    def handle(self, *args, first=None, undo=False, **options):
        try:
            if undo:
                self.stdout.write(partitions.unpartition())
                return
            seconds = partitions.convert(out=self.stdout.write)
            if seconds:
                self.stdout.write(
                    "Took "
                    + ", ".join(f"{step} {value:.1f} s" for step, value in seconds.items())
                    + " (only “locked” held the table)."
                )
            if first:
                try:
                    month = datetime.strptime(first, "%Y-%m").replace(tzinfo=UTC)
                except ValueError:
                    raise CommandError(f"--from {first!r} is not a month: use YYYY-MM.") from None
                made = partitions.months_back(month)
                self.stdout.write(
                    f"Made {', '.join(made)}." if made else "No earlier month to make."
                )
        except partitions.PartitionError as error:
            raise CommandError(str(error)) from None
