from django.core.management.base import BaseCommand
from django.db import transaction

from tickets import secrets
from tickets.models import TicketSecret


class Command(BaseCommand):
    help = (
        "Re-encrypt stored access data with the first key of HELPDESK_SECRET_ENCRYPTION_KEYS. "
        "Put the new key first, run this, then remove the old key."
    )

    def handle(self, *args, **options):
        rotated = 0
        ids = list(TicketSecret.objects.values_list("id", flat=True))
        for start in range(0, len(ids), 500):
            with transaction.atomic():
                for stored in TicketSecret.objects.select_for_update().filter(id__in=ids[start : start + 500]):
                    stored.ciphertext = secrets.rotate(stored.ciphertext)
                    stored.save(update_fields=["ciphertext"])
                    rotated += 1
            self.stdout.write(f"{rotated} of {len(ids)} re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Done: {rotated} access data records use the current key."))
