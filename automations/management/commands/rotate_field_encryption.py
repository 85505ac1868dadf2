"""Re-encrypt stored secrets under the first FIELD_ENCRYPTION_KEY (key rotation)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from automations.crypto import InvalidToken, Unreadable, reencrypt
from automations.models import Action, HubSpotConnection

OLD_KEY = "keep the old key in the list (after the new one)."


class Command(BaseCommand):
    help = (
        "Re-encrypt the stored secrets (the HubSpot token; the actions' webhook signing "
        "secrets, Meta access tokens and GA4 API secrets) under the first key of "
        "FIELD_ENCRYPTION_KEY. Rotate by putting the new key first (new,old), running "
        "this, then removing the old."
    )

    def handle(self, *args, **options):
        connections = list(HubSpotConnection.objects.exclude(token_encrypted=""))
        actions = list(Action.objects.select_related("rule"))
        for action in actions:  # all checked before anything is written
            for name in Action.SECRET_FIELDS:
                if isinstance(getattr(action, name), Unreadable):
                    raise CommandError(
                        f"The {Action._meta.get_field(name).verbose_name} of “{action}” "
                        f"opens with none of the keys in FIELD_ENCRYPTION_KEY: {OLD_KEY}"
                    )
        done = 0
        with transaction.atomic():
            for connection in connections:
                try:
                    connection.token_encrypted = reencrypt(connection.token_encrypted)
                except InvalidToken:
                    raise CommandError(
                        "The stored HubSpot token opens with none of the keys in "
                        f"FIELD_ENCRYPTION_KEY: {OLD_KEY}"
                    ) from None
                connection.save(update_fields=["token_encrypted"])
                done += 1
            for action in actions:
                # Read with any key, written with the first (EncryptedField).
                stored = [n for n in Action.SECRET_FIELDS if getattr(action, n)]
                if stored:
                    action.save(update_fields=stored)
                    done += len(stored)
        self.stdout.write(f"{done} secret(s) re-encrypted under the first key.")
