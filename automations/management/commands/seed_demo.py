"""Create the demo: the scorecard, its automations, its custom events (demo_booked,
deal_won), a demo admin and a sales user.

Running it again changes nothing.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from automations.demo import demo_rules_create
from quizzes.demo import demo_quiz_create
from tracking.demo import demo_custom_events_create


class Command(BaseCommand):
    help = "Create the demo quiz, its automations and demo users; a second run changes nothing."

    def add_arguments(self, parser):
        parser.add_argument("--no-admin", action="store_true", help="Do not create demo users.")

    def handle(self, *args, no_admin: bool = False, **options):
        quiz, created = demo_quiz_create()
        self.stdout.write(
            f"Demo quiz “{quiz.title}” {'created' if created else 'already there'}: "
            f"{quiz.get_absolute_url()}"
        )
        rules = demo_rules_create()
        if rules:
            self.stdout.write(f"Demo automations created: {', '.join(r.name for r in rules)}.")
        declared = demo_custom_events_create()
        if declared:
            self.stdout.write(
                f"Demo custom events declared: {', '.join(e.name for e in declared)}."
            )
        if not no_admin:
            self._users()

    def _users(self) -> None:
        """A demo admin and a demo sales user, sharing one password (printed, or given)."""
        User = get_user_model()
        username = os.environ.get("DEMO_ADMIN_USER", "admin")
        saved = Path(settings.VAR_DIR) / "demo-admin-password"
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or (
            saved.read_text().strip() if saved.exists() else ""
        )
        if not password:
            password = secrets.token_urlsafe(12)
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_text(password + "\n")
            saved.chmod(0o600)
        for name, make in ((username, self._admin), ("sales", self._seller)):
            if User.objects.filter(username=name).exists():
                self.stdout.write(f"Demo user “{name}” already there.")
            else:
                make(User, name, password)
                self.stdout.write(f"Demo user “{name}” created, password “{password}”.")

    def _admin(self, User, name: str, password: str) -> None:
        User.objects.create_superuser(username=name, email="", password=password)

    def _seller(self, User, name: str, password: str) -> None:
        seller = User.objects.create_user(
            name, email="sales@example.com", password=password, is_staff=True
        )
        seller.groups.add(Group.objects.get(name="Sales"))
