"""Re-encrypt stored secrets under the first FIELD_ENCRYPTION_KEY (key rotation)."""

from django.core.management.base import BaseCommand, CommandError

from automations.crypto import InvalidToken, reencrypt
from automations.models import HubSpotConnection


class Command(BaseCommand):
    help = (
        "Re-encrypt the stored HubSpot token under the first key of FIELD_ENCRYPTION_KEY. "
        "Rotate by putting the new key first (new,old), running this, then removing the old."
    )

    def handle(self, *args, **options):
        done = 0
        for connection in HubSpotConnection.objects.exclude(token_encrypted=""):
            try:
                connection.token_encrypted = reencrypt(connection.token_encrypted)
            except InvalidToken:
                raise CommandError(
                    "The stored HubSpot token opens with none of the keys in "
                    "FIELD_ENCRYPTION_KEY: keep the old key in the list (after the new one)."
                ) from None
            connection.save(update_fields=["token_encrypted"])
            done += 1
        self.stdout.write(f"{done} secret(s) re-encrypted under the first key.")
