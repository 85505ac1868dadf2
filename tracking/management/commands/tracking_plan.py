"""Write docs/tracking-plan.md from tracking/plan.py."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from tracking.plan import as_markdown

PLAN_DOC = Path(settings.BASE_DIR) / "docs" / "tracking-plan.md"


class Command(BaseCommand):
    help = "Write docs/tracking-plan.md from the tracking plan."

    def handle(self, *args, **options):
        PLAN_DOC.parent.mkdir(parents=True, exist_ok=True)
        PLAN_DOC.write_text(as_markdown())
        self.stdout.write(f"Wrote {PLAN_DOC.relative_to(settings.BASE_DIR)}")
