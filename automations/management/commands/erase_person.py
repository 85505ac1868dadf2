"""Erase a person by e-mail: manage.py erase_person EMAIL."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from automations.privacy import InvalidEmail, email_normalise, person_erase


class Command(BaseCommand):
    help = (
        "Erase everything stored about the person with this e-mail: their leads, notes, the "
        "words of their answers, the personal data of their events and deliveries, and their "
        "contact at HubSpot (sent by a worker). Events stay, anonymous, so funnels keep "
        "their counts. Cannot be undone."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--by", help="Username of the staff member who asked (the audit).")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Do not ask for confirmation.",
        )

    def handle(self, *args, email, by=None, interactive=True, **options):
        try:
            email = email_normalise(email)
        except InvalidEmail as error:
            raise CommandError(error.messages[0]) from None
        user = None
        if by:
            user = get_user_model().objects.filter(username=by).first()
            if user is None:
                raise CommandError(f"No user named {by!r}.")
        if interactive:
            answer = input(f"Erase everything about {email}? This cannot be undone. [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("Nothing erased.")
        erasure = person_erase(email=email, by=user, by_label=by or "manage.py erase_person")
        counts = ", ".join(f"{n} {what}" for what, n in erasure.counts.items())
        self.stdout.write(self.style.SUCCESS(f"Erased ({counts})."))
        self.stdout.write(f"HubSpot: {erasure.get_crm_status_display()}.")
