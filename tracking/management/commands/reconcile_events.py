"""Check that events and leads agree; exit 1 on any mismatch."""

from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date

from tracking.reconcile import reconcile_and_record


class Command(BaseCommand):
    help = (
        "Check that every lead has exactly one lead_submitted with the same score and tier, "
        "every such event has its lead, once-only events are unique and no event points at "
        "nothing; then the CRM: every lead an enabled HubSpot rule matched has its delivery, "
        "every delivered one holds its contact and task ids, and with --remote HubSpot's "
        "contacts have the lead's e-mail, score and tier. Exits non-zero on any mismatch."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="Only leads and events from this date (YYYY-MM-DD).")
        parser.add_argument(
            "--remote",
            action="store_true",
            help="Also read the contacts back from HubSpot (batch read, within the rate limit).",
        )

    def handle(self, *args, since=None, remote=False, **options):
        moment = None
        if since:
            day = parse_date(since)
            if day is None:
                raise CommandError(f"--since {since!r} is not a date: use YYYY-MM-DD.")
            moment = timezone.make_aware(datetime.combine(day, time.min))
        run = reconcile_and_record(since=moment, remote=remote)
        for check in run.summary["checks"]:
            mark = "ok " if not check["problems"] else "FAIL"
            self.stdout.write(
                f"[{mark}] {check['name']}: {check['checked']} checked, "
                f"{check['problems']} problem(s)"
            )
            for example in check["examples"]:
                self.stdout.write(f"       - {example}")
        if not run.ok:
            raise CommandError("Events, leads and the CRM do not reconcile.", returncode=1)
        self.stdout.write(self.style.SUCCESS("Events, leads and the CRM reconcile."))
