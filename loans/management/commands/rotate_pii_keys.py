from django.core.management.base import BaseCommand
from django.db import transaction

from loans.models import Borrower

FIELDS = ["name", "id_number", "mobile"]


class Command(BaseCommand):
    help = (
        "Re-encrypt every borrower's name, ID number and mobile with the newest key in "
        "PII_ENCRYPTION_KEYS. Run after prepending a new key; then the old key can be removed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args, batch_size: int, **options):
        total = Borrower.objects.count()
        done, last_id = 0, 0
        while True:
            # Values decrypt with any listed key on load and encrypt with the newest on save.
            with transaction.atomic():
                batch = list(
                    Borrower.objects.select_for_update()
                    .filter(pk__gt=last_id)
                    .order_by("pk")
                    .only("pk", *FIELDS)[:batch_size]
                )
                if not batch:
                    break
                Borrower.objects.bulk_update(batch, FIELDS)
            last_id = batch[-1].pk
            done += len(batch)
            self.stdout.write(f"  {done}/{total} re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Done: {done} borrowers re-encrypted."))
