"""Create the demo: the scorecard, its automations, a demo admin and a sales user.

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
        if not no_admin:
            self._users()

    def _users(self) -> None:
        User = get_user_model()
        username = os.environ.get("DEMO_ADMIN_USER", "admin")
        saved = Path(settings.VAR_DIR) / "demo-admin-password"
        if User.objects.filter(username=username).exists():
            note = f"password in {saved}" if saved.exists() else "password as set before"
            self.stdout.write(f"Demo admin “{username}” already there ({note}).")
            return
        password = os.environ.get("DEMO_ADMIN_PASSWORD")
        if not password:
            password = secrets.token_urlsafe(12)
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_text(password + "\n")
            saved.chmod(0o600)
        User.objects.create_superuser(username=username, email="", password=password)
        seller = User.objects.create_user(
            "sales", email="sales@example.com", password=password, is_staff=True
        )
        seller.groups.add(Group.objects.get(name="Sales"))
        self.stdout.write(
            f"Demo admin created: user “{username}”, password “{password}” "
            "(and “sales”, in the Sales group, with the same password)."
        )
