from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from loans.fields import EncryptedTextField


def encrypted_columns():
    """Every model with encrypted personal data (borrowers, bank cards, the SMS outbox, ...),
    found through the app registry so that no app has to list another's models."""
    for model in apps.get_models():
        fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            yield model, fields


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted value (names, ID numbers, mobiles, card numbers, phones in "
        "the SMS outbox) with the newest key in PII_ENCRYPTION_KEYS. Run after prepending a new "
        "key; then the old key can be removed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args, batch_size: int, **options):
        for model, fields in encrypted_columns():
            label = model._meta.label
            total = model.objects.count()
            done, last_id = 0, 0
            while True:
                # Values decrypt with any listed key on load and encrypt with the newest on save.
                with transaction.atomic():
                    batch = list(
                        model.objects.select_for_update()
                        .filter(pk__gt=last_id)
                        .order_by("pk")
                        .only("pk", *fields)[:batch_size]
                    )
                    if not batch:
                        break
                    model.objects.bulk_update(batch, fields)
                last_id = batch[-1].pk
                done += len(batch)
                self.stdout.write(f"  {label}: {done}/{total} re-encrypted")
            self.stdout.write(self.style.SUCCESS(f"Done: {done} {label} rows re-encrypted."))
