import sys

from django.core.management.base import BaseCommand

from loans import reconcile
from loans.models import Loan


class Command(BaseCommand):
    help = (
        "Check that every instalment, loan and credit line balance equals what the loan "
        "transactions say. Exits 1 on any difference."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loan", type=int, action="append", help="Only these loan ids.")

    def handle(self, *args, loan=None, **options):
        loans = Loan.objects.filter(pk__in=loan) if loan else Loan.objects.all()
        found = reconcile.differences(loans)
        for line in found:
            self.stderr.write(line)
        if found:
            self.stderr.write(self.style.ERROR(f"{len(found)} differences."))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(f"{loans.count()} loans reconciled: no differences."))
