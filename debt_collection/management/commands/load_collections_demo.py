from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from django.utils import timezone

from debt_collection.management import demo, demo_work
from debt_collection.models import CaseStatus, CollectionCase, ContactAttempt


class Command(BaseCommand):
    help = (
        "Load demo collections (催收) after load_demo_data: overdue loans whose cases are in "
        "every status, worked through the collections services. Safe to run again: nothing "
        "is duplicated."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (never in production)."
        )

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Demo data creates logins with a published password; it only runs with DEBUG on."
            )
        if not get_user_model().objects.filter(username="collector").exists():
            raise CommandError("Run load_demo_data first: it creates the demo staff logins.")
        today = timezone.localdate()
        # No transaction around it all: each end of day must commit for the case sync after it.
        users = demo.staff()
        made = demo.create_loans(today=today)
        if made:
            self.stdout.write(f"  {made} overdue demo loans")
        days = demo.catch_up(today=today)
        if days:
            self.stdout.write(f"  end of day and reminders for {days} business date(s)")
        if not demo.worked_already():
            if demo.cases_open():
                for line in demo_work.work(today=today, users=users):
                    self.stdout.write(line)
            else:
                self.stdout.write(
                    "  End of day had already run today: the demo cases open after tonight's;"
                    " run this command again tomorrow to work them."
                )
        by_status = dict(
            CollectionCase.objects.order_by()
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        blocked = ContactAttempt.objects.filter(allowed=False).count()
        self.stdout.write(
            self.style.SUCCESS(
                "Collections demo ready: "
                + ", ".join(
                    f"{status} {by_status[status]}"
                    for status in CaseStatus.values
                    if status in by_status
                )
                + f"; {blocked} blocked contact attempts in the log."
            )
        )
