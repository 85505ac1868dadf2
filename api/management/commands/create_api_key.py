"""manage.py create_api_key NAME --scope leads:read,events:write"""

from django.core.management.base import BaseCommand, CommandError

from api.keys import SCOPES, key_create


class Command(BaseCommand):
    help = (
        "Make an API key and print it once, alone on the last line (only its hash is kept). "
        f"Scopes: {', '.join(SCOPES)}."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who or what uses the key, e.g. 'Warehouse export'.")
        parser.add_argument(
            "--scope",
            required=True,
            help=f"Comma-separated scopes: {', '.join(SCOPES)} (or 'all').",
        )

    def handle(self, *args, name: str, scope: str, **options):
        scopes = (
            SCOPES if scope.strip() == "all" else [s.strip() for s in scope.split(",") if s.strip()]
        )
        try:
            key, raw = key_create(name=name, scopes=scopes)
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"API key {key.name!r} ({key.prefix}…) with {', '.join(key.scopes)}. "
            "Keep it now: it is not shown again."
        )
        self.stdout.write(raw)
