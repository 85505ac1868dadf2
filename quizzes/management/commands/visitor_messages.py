"""Update locale/*/LC_MESSAGES/django.po from the visitor-facing sources (quizzes.catalogues);
translate what is new, then `manage.py compilemessages` (make messages does both)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from quizzes.catalogues import LANGUAGES, extract


class Command(BaseCommand):
    help = "Update the shipped catalogues (locale/) from the visitor-facing sources."

    def handle(self, *args, **options):
        extract(settings.BASE_DIR / "locale", LANGUAGES)
        self.stdout.write(f"Updated locale/{{{','.join(LANGUAGES)}}}/LC_MESSAGES/django.po")
