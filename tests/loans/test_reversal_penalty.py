"""A reversed payment leaves the loan as if it had never been received (DESIGN §4 "Reversal"):
penalty for the days after its value date is charged again on the restored principal. Each
case runs a twin loan that never received the payment through the same end-of-day runs."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from loans import reconcile
from loans.services.end_of_day import process_business_date
from loans.services.repayments import reverse_repayment
from tests import factories
from tests.loans.test_repayments import DRAWN, pay

pytestmark = pytest.mark.django_db


def twins():
    with time_machine.travel(DRAWN):
        loan = factories.loan(on=DRAWN)
        twin = factories.loan(on=DRAWN, product_obj=loan.product)
    return loan, twin


def end_of_day(day):
    with time_machine.travel(day + timedelta(days=1)):
        process_business_date(day)


def penalties(loan):
    return [(i.number, i.penalty_due, i.status) for i in loan.instalments.order_by("number")]


@pytest.mark.parametrize(
    "amount",
    [
        "500",  # part of the overdue instalment
        "1084.34",  # the overdue instalment in full (no penalty yet charged on it? some is)
        "1200",  # the instalment, its penalty and a little prepayment
        "3000",  # a large prepayment
    ],
)
def test_a_reversed_payment_costs_what_a_loan_without_it_costs(amount):
    loan, twin = twins()
    due = loan.instalments.get(number=1).due_date  # 2026-02-15
    for offset in range(1, 13):
        day = due + timedelta(days=offset)
        if offset == 3:
            payment = pay(loan, amount, day, ext=f"BOUNCE-{amount}")
        if offset == 7:  # end of day has run through due+6
            with time_machine.travel(day):
                reverse_repayment(repayment=payment, reason="card payment bounced")
            assert penalties(loan) == penalties(twin)
        end_of_day(day)
        if offset >= 7:
            assert penalties(loan) == penalties(twin), f"after end of day {day}"
    assert reconcile.differences() == []


def test_the_audit_case_owes_what_its_twin_owes():
    """Pay 500 at due+3, end of day to due+6, reverse, end of day due+7: 4.90, not 4.12."""
    loan, twin = twins()
    due = loan.instalments.get(number=1).due_date
    for offset in range(1, 7):
        day = due + timedelta(days=offset)
        if offset == 3:
            payment = pay(loan, "500", day, ext="BOUNCE")
        end_of_day(day)
    with time_machine.travel(due + timedelta(days=7)):
        reverse_repayment(repayment=payment, reason="bounced")
    end_of_day(due + timedelta(days=7))
    first, twin_first = loan.instalments.get(number=1), twin.instalments.get(number=1)
    assert first.penalty_due == twin_first.penalty_due == Decimal("4.90")
    assert reconcile.differences() == []
