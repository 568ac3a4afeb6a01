"""Prepayment rules a borrower would notice (DESIGN §4 "Prepayment"): equal instalments stay
equal, and no instalment is ever left owing 0.00."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loans import reconcile, schedules, selectors
from loans.models import Instalment, Loan, Repayment
from loans.services.end_of_day import process_business_date, run_end_of_day
from tests.loans.test_repayments import DRAWN, make_loan, pay

pytestmark = pytest.mark.django_db


def still_owed(inst: Instalment) -> Decimal:
    return inst.total_outstanding


def test_equal_instalments_pay_the_same_after_a_prepayment():
    loan = make_loan(method="equal_instalment", term=10)  # ¥10,000, drawn 2026-01-15
    pay(loan, "1084.34", date(2026, 2, 15))
    pay(loan, "3000", date(2026, 3, 1))
    loan.refresh_from_db()
    remaining = list(loan.instalments.filter(number__gte=2).order_by("number"))
    level = schedules.annuity_payment(loan.outstanding_principal, Decimal("0.015"), 9)
    # #2 (the 684.06 of the audit) and #3 onwards (733.10) now all owe A'.
    assert [still_owed(i) for i in remaining[:-1]] == [level] * 8
    assert sum(i.principal_due for i in loan.instalments.all()) == Decimal("10000.00")
    assert reconcile.differences() == []


def test_a_loan_with_five_fen_left_never_goes_overdue_on_empty_instalments():
    """The audit's case: equal principal, 10 instalments, a prepayment leaving 0.05."""
    loan = make_loan(method="equal_principal", term=10)
    first = loan.instalments.get(number=1)
    pay(loan, first.total_due, first.due_date)
    on = date(2026, 2, 20)
    with time_machine.travel(on):
        payoff = selectors.payoff_amount(loan=loan, on=on)
    pay(loan, payoff - Decimal("0.05"), on)
    loan.refresh_from_db()
    assert loan.outstanding_principal == Decimal("0.05")
    assert not [i.number for i in loan.instalments.open() if not still_owed(i)]

    # Months later, every instalment that still owes something is overdue; the loan's DPD is
    # counted from the oldest one that owes something, and paying what is owed closes it.
    later = date(2026, 9, 1)
    with time_machine.travel(later):
        run_end_of_day(through=later)
    loan.refresh_from_db()
    oldest = loan.instalments.overdue().order_by("due_date")[0]
    assert loan.days_past_due == (later - oldest.due_date).days
    owed = sum(still_owed(i) for i in loan.instalments.open())
    pay(loan, owed, later)
    loan.refresh_from_db()
    assert loan.status == Loan.Status.SETTLED
    assert Repayment.objects.filter(loan=loan, unapplied__gt=0).count() == 0
    assert reconcile.differences() == []


def test_end_of_day_never_marks_overdue_an_instalment_that_owes_nothing():
    loan = make_loan(method="equal_principal", term=5)
    last = loan.instalments.order_by("-number")[0]
    # A schedule written before the re-computation rule: an instalment owing 0.00.
    Instalment.objects.filter(pk=last.pk).update(principal_due=0, interest_due=0)
    day = last.due_date + timedelta(days=2)
    with time_machine.travel(day):
        run_end_of_day(through=day)
    last.refresh_from_db()
    assert last.status == Instalment.Status.PAID


payment_steps = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=120),  # days after the previous payment
        # an amount in fen, or (negative) the day's settlement amount less that many fen
        st.one_of(
            st.integers(min_value=1, max_value=600_000), st.integers(min_value=-12, max_value=-1)
        ),
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(["equal_instalment", "equal_principal", "interest_first"]),
    steps=payment_steps,
)
def test_no_open_instalment_ever_owes_nothing(method, steps):
    with transaction.atomic():
        loan = make_loan(method=method, term=5)
        on = DRAWN
        for number, (days, fen) in enumerate(steps):
            on += timedelta(days=days)
            loan.refresh_from_db()
            if loan.status != Loan.Status.ACTIVE:
                break
            with time_machine.travel(on):
                process_business_date(on)  # one run charges every day not yet charged
            amount = Decimal(fen).scaleb(-2)
            if fen < 0:
                amount += selectors.payoff_amount(loan=loan, on=on)
            if amount <= 0:
                continue
            pay(loan, amount, on, ext=f"P-{number}")
            empty = [i.number for i in loan.instalments.open() if still_owed(i) <= 0]
            assert empty == [], f"open instalments owing nothing after paying on {on}"
            assert reconcile.differences() == []
        transaction.set_rollback(True)
