"""Test data built through the same services staff and borrowers use."""

import itertools
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from loans.demo import make_id_number
from loans.models import Borrower, Consent
from loans.services import borrowers as borrower_services

_seq = itertools.count(1)


def id_number(*, birth: date = date(1990, 1, 15), region: str = "110101", male=True) -> str:
    n = next(_seq)
    # 100 numbers per birth date; beyond that move the date on, so numbers never repeat.
    sequence = f"{n % 100:02d}{(2 * n + (1 if male else 0)) % 10}"
    return make_id_number(region, birth + timedelta(days=n // 100), sequence)


def mobile() -> str:
    return f"138{next(_seq):08d}"


def borrower(
    *,
    name: str = "张三",
    birth: date = date(1990, 1, 15),
    region: str = "110101",
    income: str = "12000",
    debts: str = "1000",
    activity: int | None = 80,
    consents=(Consent.Kind.DATA_PROCESSING, Consent.Kind.CREDIT_QUERY),
    report: tuple[int, int, int] | None = (0, 0, 1),
    **fields,
) -> Borrower:
    b = borrower_services.register_borrower(
        name=name,
        id_number=fields.pop("id_number", None) or id_number(birth=birth, region=region),
        mobile=fields.pop("mobile", None) or mobile(),
        monthly_income=Decimal(income),
        monthly_debt_payments=Decimal(debts),
        account_activity_score=activity,
        consents=consents,
        **fields,
    )
    if report is not None:
        overdue, worst, inquiries = report
        borrower_services.record_credit_report(
            borrower=b,
            current_overdue_accounts=overdue,
            worst_dpd_24m=worst,
            inquiries_3m=inquiries,
        )
    return b


def staff(group_name: str | None = None, *, username: str | None = None, superuser=False):
    user = get_user_model().objects.create_user(
        username=username or f"staff{next(_seq)}",
        password="pw-for-tests-2026",
        is_staff=True,
        is_superuser=superuser,
    )
    if group_name:
        user.groups.add(Group.objects.get(name=group_name))
    return user
