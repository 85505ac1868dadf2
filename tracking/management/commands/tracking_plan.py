"""Write docs/tracking-plan.md from tracking/plan.py (and the demo's custom events)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from tracking import plan
from tracking.demo import demo_specs

PLAN_DOC = Path(settings.BASE_DIR) / "docs" / "tracking-plan.md"


class Command(BaseCommand):
    help = (
        "Write docs/tracking-plan.md from the tracking plan, with the demo's custom events; "
        "--declared prints this installation's plan, with the custom events declared in admin."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--declared",
            action="store_true",
            help="Print the plan with the custom events declared in this database instead.",
        )

    def handle(self, *args, declared: bool = False, **options):
        if declared:
            self.stdout.write(plan.as_markdown(tuple(plan.declared().values())), ending="")
            return
        PLAN_DOC.parent.mkdir(parents=True, exist_ok=True)
        PLAN_DOC.write_text(plan.as_markdown(demo_specs()))
        self.stdout.write(f"Wrote {PLAN_DOC.relative_to(settings.BASE_DIR)}")
