from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from loans.services.end_of_day import run_end_of_day

USAGE_ERROR = 2


class Command(BaseCommand):
    help = (
        "Run end of day (overdue, days past due, buckets, penalty interest) for a business "
        "date, first catching up any dates missed since the last run. Re-running a date that "
        "is done changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="business date, YYYY-MM-DD (default: today)")

    def handle(self, *args, **options):
        try:
            through = date.fromisoformat(options["date"]) if options["date"] else None
        except ValueError:
            raise CommandError(
                f"--date must be a date as YYYY-MM-DD, got {options['date']!r}",
                returncode=USAGE_ERROR,
            ) from None
        through = through or timezone.localdate()
        days = run_end_of_day(through=through)
        if not days:
            self.stdout.write(f"Nothing to do: business dates up to {through} are already done.")
            return
        for day in days:
            self.stdout.write(
                f"{day.business_date}: {day.seconds:.2f}s · current {day.loans_current}, "
                f"M1 {day.loans_m1}, M2 {day.loans_m2}, M3 {day.loans_m3}, "
                f"M4+ {day.loans_m4_plus} · newly overdue {day.newly_overdue}, "
                f"cured {day.newly_cured} · penalty ¥{day.penalty_accrued} · "
                f"overdue principal ¥{day.overdue_principal} · "
                f"write-off candidates {day.write_off_candidates}"
            )
        self.stdout.write(self.style.SUCCESS(f"{len(days)} business date(s) processed."))
