from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notifications.reminders import queue_reminders

USAGE_ERROR = 2


class Command(BaseCommand):
    help = (
        "Queue the due reminders, overdue notices and credit-report notices the cadence asks "
        "for on a business date (default: today). Running it again queues nothing new."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="business date, YYYY-MM-DD (default: today)")

    def handle(self, *args, **options):
        try:
            day = date.fromisoformat(options["date"]) if options["date"] else None
        except ValueError:
            raise CommandError(
                f"--date must be a date as YYYY-MM-DD, got {options['date']!r}",
                returncode=USAGE_ERROR,
            ) from None
        day = day or timezone.localdate()
        counts = queue_reminders(business_date=day)
        for kind, n in counts.items():
            self.stdout.write(f"  {kind:<20} {n}")
        self.stdout.write(self.style.SUCCESS(f"{day}: {sum(counts.values())} messages queued."))
