"""Test data built through the same services staff and borrowers use."""

import itertools
from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from stdnum import luhn

from loans.demo import make_id_number
from loans.models import Borrower, Consent
from loans.services import borrowers as borrower_services

_seq = itertools.count(1)


def id_number(*, birth: date = date(1990, 1, 15), region: str = "110101", male=True) -> str:
    # 500 different numbers per birth date, region and sex: plenty within one test.
    sequence = f"{(next(_seq) % 500) * 2 + (1 if male else 0):03d}"
    return make_id_number(region, birth, sequence)


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


def card_number(*, last4: str | None = None) -> str:
    """A 19-digit UnionPay-style number, different each call, whose Luhn check digit is right
    (ending in `last4` if given: the sandbox gateway fails a card ending 0000)."""
    if last4 is None:
        body = f"622202{next(_seq):012d}"
        return body + luhn.calc_check_digit(body)
    n = next(_seq) % 10**8  # one body, ten tries at the digit before last4
    for d in range(10):
        number = f"622202{n:08d}{d}{last4}"
        if luhn.is_valid(number):
            return number
    raise AssertionError("unreachable: one of ten digits always fixes the check")


def bank_card(borrower_obj, *, bank_name: str = "招商银行", number: str | None = None, **kwargs):
    """A card the gateway has bound and verified for the borrower, made the default. Through
    `bind_bank_card`, the gateway-side path, so no verification SMS is sent: tests of the
    texted-code flow use start/confirm_card_binding themselves."""
    from loans.services import cards

    return cards.bind_bank_card(
        borrower=borrower_obj,
        bank_name=bank_name,
        card_number=number or card_number(),
        token=f"tok-{next(_seq)}",
        **kwargs,
    )


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


def product(**fields):
    from loans.models import LoanProduct

    defaults = {"code": f"p{next(_seq)}", "name": "微粒贷"}
    defaults.update(fields)
    p = LoanProduct(**defaults)
    p.full_clean()
    p.save()
    return p


def loan(
    *,
    amount: str = "10000",
    term: int = 10,
    method: str = "equal_instalment",
    on: date = date(2026, 1, 15),
    daily_rate: str | None = "0.0005",
    borrower_obj=None,
    product_obj=None,
    **product_fields,
):
    """A disbursed loan, taken through apply → sign and disburse as a borrower would, paid to
    the borrower's verified card (one is bound first if they have none)."""
    from loans.models import CreditLine
    from loans.services import cards, credit, lending

    b = borrower_obj or borrower(income="50000")
    if not CreditLine.objects.filter(borrower=b).exists():
        credit.assess_credit(borrower=b, as_of=on)
    if daily_rate is not None:
        CreditLine.objects.filter(borrower=b).update(daily_rate=Decimal(daily_rate))
    p = product_obj or product(
        methods=["equal_instalment", "equal_principal", "interest_first"]
        if term <= 12
        else ["equal_instalment", "equal_principal"],
        terms=[term],
        **product_fields,
    )
    application = lending.apply_for_loan(
        borrower=b, product=p, amount=Decimal(amount), term=term, method=method, as_of=on
    )
    if cards.default_card(borrower=b) is None:
        bank_card(b)
    return lending.sign_and_disburse(
        contract=application.contract, ip_address="127.0.0.1", user_agent="t", on=on
    )
