from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from loans import demo, demo_loans
from loans.models import Borrower
from loans.models.borrowers import id_number_index
from loans.scorecard import MAX_DAILY_RATE
from loans.services import borrowers as borrower_services
from loans.services import credit as credit_services


class Command(BaseCommand):
    help = "Load demo staff logins and borrowers. Safe to run again: nothing is duplicated."

    def add_arguments(self, parser):
        parser.add_argument("--list-logins", action="store_true", help="Only print the logins.")
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (never in production)."
        )

    def handle(self, *args, list_logins=False, force=False, **options):
        if list_logins:
            for username, _group, role in demo.STAFF:
                self.stdout.write(f"    {username:<11} {role}")
            self.stdout.write(
                "\n  Demo borrowers (portal /login/: the mobile, then the texted code, which"
                "\n  this console prints):"
            )
            for mobile, name, situation in demo.PORTAL_LOGINS:
                self.stdout.write(f"    {mobile}  {name}  {situation}")
            return
        if not settings.DEBUG and not force:
            raise CommandError(
                "Demo data creates logins with a published password; it only runs with DEBUG on."
            )
        with transaction.atomic():
            users = self._staff()
            created = self._borrowers(admin=users["admin"])
            loans = demo_loans.create_loans(
                today=timezone.localdate(),
                admin=users["admin"],
                id_numbers={spec.name: spec.id_number for spec in demo.BORROWERS},
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(users)} staff logins, {created} new borrowers "
                f"({Borrower.objects.count()} in all), {loans} new loans and applications."
            )
        )

    def _staff(self):
        User = get_user_model()
        users = {}
        for username, group_name, _role in demo.STAFF:
            user, created = User.objects.get_or_create(
                username=username, defaults={"is_staff": True, "is_superuser": group_name is None}
            )
            if created:
                user.set_password(demo.DEMO_PASSWORD)
                user.save()
            if group_name:
                user.groups.add(Group.objects.get(name=group_name))
            users[username] = user
        return users

    def _borrowers(self, *, admin) -> int:
        created = 0
        for spec in demo.BORROWERS:
            if Borrower.objects.filter(id_number_index=id_number_index(spec.id_number)).exists():
                continue
            borrower = borrower_services.register_borrower(
                name=spec.name,
                id_number=spec.id_number,
                mobile=spec.mobile,
                monthly_income=Decimal(spec.income),
                monthly_debt_payments=Decimal(spec.debts),
                employer=spec.employer,
                occupation=spec.occupation,
                id_expiry_date=spec.id_expiry,
                civil_capacity=spec.civil_capacity,
                account_activity_score=spec.activity,
                consents=spec.consents,
            )
            if spec.report:
                overdue, worst, inquiries = spec.report
                borrower_services.record_credit_report(
                    borrower=borrower,
                    current_overdue_accounts=overdue,
                    worst_dpd_24m=worst,
                    inquiries_3m=inquiries,
                )
            assessment = credit_services.assess_credit(borrower=borrower)
            if "freeze" in spec.after:
                credit_services.freeze_credit_line(
                    credit_line=borrower.credit_line,
                    reason="借款人申请临时冻结 Borrower asked for a temporary freeze",
                    actor=admin,
                )
            if "review" in spec.after:
                credit_services.request_manual_review(
                    assessment=assessment, note="我有兼职收入，请人工复核。I have part-time income."
                )
            if "override" in spec.after:
                credit_services.request_manual_review(
                    assessment=assessment,
                    note="我刚换了手机，账户活跃度低。New phone, low activity.",
                )
                assessment = credit_services.override_assessment(
                    assessment=assessment,
                    decision="approved",
                    credit_limit=Decimal("1000"),
                    daily_rate=MAX_DAILY_RATE,
                    reason="人工复核：工资流水稳定。Manual review: steady salary statements.",
                    actor=admin,
                )
            self.stdout.write(f"  {borrower}: {assessment.get_final_decision_display()}")
            created += 1
        return created
