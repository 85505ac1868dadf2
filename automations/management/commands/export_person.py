"""Everything stored about an e-mail, as one JSON file: manage.py export_person EMAIL."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from automations.privacy import InvalidEmail, person_export_json


class Command(BaseCommand):
    help = "Write everything stored about the person with this e-mail as JSON."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("-o", "--output", help="Write to this file instead of stdout.")

    def handle(self, *args, email, output=None, **options):
        try:
            data = person_export_json(email=email)
        except InvalidEmail as error:
            raise CommandError(error.messages[0]) from None
        if output:
            Path(output).write_text(data + "\n", encoding="utf-8")
            self.stdout.write(self.style.SUCCESS(f"Wrote {output}."))
        else:
            self.stdout.write(data)
