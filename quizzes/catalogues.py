"""The product's catalogues (locale/): which sources hold visitor-facing words, and
extracting them.

``manage.py visitor_messages`` (``make messages``) updates locale/{de,fr,es}/.../django.po
from these sources; tests/quizzes/test_catalogues.py extracts the same into a temporary
folder and fails when a msgid is missing, untranslated or fuzzy in a shipped catalogue,
or a .mo is older than its .po. Staff pages (admin, sales, dashboard, automations, API)
are English only: their sources are left out.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.test.utils import override_settings

# Shipped catalogues besides the source language (English).
LANGUAGES = tuple(code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE)

# Where the visitor's words are: the visitor's templates and apps.
SOURCES = ("templates", "quizzes", "leads", "core")
# Staff-only pages and files without visitor text.
IGNORE = (
    "admin",
    "sales",
    "tracking",
    "automations",
    "api",
    "_staff_nav.html",
    "admin.py",
    "migrations",
    "management",
    "demo*.py",
    "__pycache__",
)


def extract(locale_dir: Path, languages: tuple[str, ...] = LANGUAGES) -> None:
    """Write (or merge into) ``locale_dir/<lang>/LC_MESSAGES/django.po`` the msgids of the
    visitor-facing sources, keeping translations already there."""
    locale_dir = Path(locale_dir).resolve()
    locale_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in SOURCES:
            os.symlink(Path(settings.BASE_DIR) / name, root / name)
        os.symlink(locale_dir, root / "locale")
        with override_settings(LOCALE_PATHS=[root / "locale"]), contextlib.chdir(root):
            call_command(
                "makemessages",
                locale=list(languages),
                symlinks=True,
                ignore_patterns=list(IGNORE),
                no_location=True,
                no_obsolete=True,
                verbosity=0,
            )
