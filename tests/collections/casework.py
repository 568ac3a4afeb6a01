"""What the case and promise tests share: the clock, end of day with what follows it, loans
that fall overdue, collectors."""

import itertools
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine
from django.contrib.auth.models import Permission
from django.test import TestCase

from debt_collection.models import Collector
from loans.services.end_of_day import process_business_date
from loans.services.repayments import post_repayment, reverse_repayment
from tests import factories

SHANGHAI = ZoneInfo("Asia/Shanghai")
DRAWN = date(2026, 1, 15)
DUE = date(2026, 2, 15)  # instalment 1: 934.34 principal + 150.00 interest
DAILY_PENALTY = Decimal("0.70")  # 934.34 × 0.0005 × 1.5, once past the 1-day grace
_numbers = itertools.count(1)


def at(day: date):
    return time_machine.travel(datetime.combine(day, dt_time(10), SHANGHAI))


def eod(day: date):
    """End of day for `day`, committed: the collections work after it runs too."""
    with time_machine.travel(datetime.combine(day, dt_time(0, 5), SHANGHAI)):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return process_business_date(day)


def loan(on: date = DRAWN):
    with at(on):
        return factories.loan(on=on)


def pay(loan, amount, on: date, ext: str | None = None):
    """A payment through the gateway path, with what follows its commit (receivers)."""
    with at(on), TestCase.captureOnCommitCallbacks(execute=True):
        repayment, _ = post_repayment(
            loan=loan,
            amount=Decimal(amount),
            channel="bank_card",
            external_id=ext or f"T{next(_numbers)}",
            value_date=on,
        )
    return repayment


def reverse(repayment, on: date):
    with at(on), TestCase.captureOnCommitCallbacks(execute=True):
        return reverse_repayment(repayment=repayment, reason="bounced")


def grant(user, *codenames):
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="collections", codename=codename)
        )
    return type(user).objects.get(pk=user.pk)  # no stale permission cache


def collector(queue: str = "M1", *, on_leave: bool = False, number: str | None = None):
    return Collector.objects.create(
        user=factories.staff(),
        staff_number=number or f"C{next(_numbers):04d}",
        queue=queue,
        on_leave=on_leave,
    )


def supervisor():
    return grant(factories.staff(), "supervise_case")


def days(n: int) -> timedelta:
    return timedelta(days=n)
