"""罚息 (penalty interest) exists twice: pure Python (`loans.penalty`, used when a payment is
posted or a reversal re-charges) and one set-based SQL statement in end of day. Fed the same
instalments, both must charge the same penalty to the fen (DESIGN §3 "One home for each rule").
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from loans import penalty
from loans.models import BusinessDay, Instalment, Loan, LoanTransaction
from loans.pricing import APR_CAP_PERCENT
from loans.services.end_of_day import run_end_of_day
from tests import factories

DRAWN = date(2026, 1, 15)
TERM = 10
# Any rate a product can carry: a nominal daily rate above APR cap / 360 cannot pass the cap.
MAX_RATE_MILLIONTHS = int(APR_CAP_PERCENT / 100 / 360 * 1_000_000)
FAR = timedelta(days=400)  # instalments not in a case fall due long after the business date
PENDING, DUE, OVERDUE = (
    Instalment.Status.PENDING.value,
    Instalment.Status.DUE.value,
    Instalment.Status.OVERDUE.value,
)


@dataclass(frozen=True)
class Case:
    """One instalment as end of day finds it; amounts in fen, dates relative to the run."""

    principal: int
    principal_paid: int
    interest: int
    interest_paid: int
    penalty: int
    penalty_paid: int
    days_past_due_date: int  # business date − due date (≤ 0: not yet overdue)
    accrued_through: int | None  # days after the due date; None: never accrued
    status: str


@st.composite
def cases(draw, grace: int) -> Case:
    principal = draw(
        st.integers(min_value=1, max_value=20_000_000) | st.integers(10_000, 5_000_000)
    )
    interest = draw(st.integers(min_value=0, max_value=500_000))
    penalty_before = draw(st.integers(min_value=0, max_value=2_000_000))
    # Often right at the end of the grace, where a day more or less changes everything.
    past = draw(st.integers(min_value=-3, max_value=75) | st.integers(grace, grace + 2))
    # Never accrued, or accrued through a day on or after the due date (a payment posted on a
    # later date than the run, in a catch-up, accrues past it); a date before the due date (no
    # path writes one) must still charge from the due date on both sides.
    accrued = draw(st.none() | st.integers(min_value=-5, max_value=max(past, 0) + 3))
    if past > 0:
        status = draw(st.sampled_from([PENDING, DUE, OVERDUE]))
    else:
        status = DUE if past == 0 else PENDING
        accrued = None  # nothing accrues before the due date has passed
    return Case(
        principal=principal,
        # Partial payments, sometimes the whole component.
        principal_paid=draw(st.sampled_from([0, principal]) | st.integers(0, principal)),
        interest=interest,
        interest_paid=draw(st.sampled_from([0, interest]) | st.integers(0, interest)),
        penalty=penalty_before,
        penalty_paid=draw(st.integers(0, penalty_before)),
        days_past_due_date=past,
        accrued_through=accrued,
        status=status,
    )


def fen(n: int) -> Decimal:
    return Decimal(n).scaleb(-2)


def python_charge(case: Case, *, on: date, rate: Decimal, multiplier: Decimal, grace: int):
    """What the pure functions charge for this instalment through `on`, and for how many
    days (the accrual date moves only when a day is charged)."""
    due = on - timedelta(days=case.days_past_due_date)
    through = None if case.accrued_through is None else due + timedelta(case.accrued_through)
    days = penalty.accrual_days(due_date=due, accrued_through=through, through=on, grace_days=grace)
    outstanding = fen(case.principal - case.principal_paid)
    if not outstanding:  # nothing to charge on: the accrual date stays where it was
        days = 0
    charge = penalty.penalty_for_days(
        overdue_principal=outstanding, daily_rate=rate, multiplier=multiplier, days=days
    )
    return charge, days, due, through


@pytest.fixture
def loan(db):
    with time_machine.travel(DRAWN):
        return factories.loan(on=DRAWN, term=TERM)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rate_millionths=st.integers(min_value=1, max_value=MAX_RATE_MILLIONTHS),
    multiplier_hundredths=st.integers(min_value=100, max_value=200),  # product rule: 1 to 2
    grace_and_instalments=st.integers(min_value=0, max_value=5).flatmap(
        lambda grace: st.tuples(st.just(grace), st.lists(cases(grace), min_size=1, max_size=5))
    ),
    on=st.dates(min_value=date(2026, 3, 1), max_value=date(2028, 12, 31)),
)
# 250.00 and 50.00 × 0.000100 × 1.00 = 0.025 and 0.005 a day: half up gives 0.03 and 0.01
# (half even would give 0.02 and 0.00).
@example(
    rate_millionths=100,
    multiplier_hundredths=100,
    grace_and_instalments=(
        1,
        [
            Case(25_000, 0, 0, 0, 0, 0, 5, None, OVERDUE),
            Case(5_000, 0, 0, 0, 0, 0, 4, 2, OVERDUE),
        ],
    ),
    on=date(2026, 6, 10),
)
# The day after the grace: charged from the day after the due date, two days at once.
@example(
    rate_millionths=500,
    multiplier_hundredths=150,
    grace_and_instalments=(
        1,
        [
            Case(93_434, 0, 15_000, 0, 0, 0, 2, None, OVERDUE),
            Case(93_434, 0, 15_000, 0, 0, 0, 1, None, DUE),  # inside the grace: nothing
        ],
    ),
    on=date(2026, 6, 10),
)
def test_end_of_day_charges_what_the_python_penalty_charges(
    loan, rate_millionths, multiplier_hundredths, grace_and_instalments, on
):
    grace, instalments = grace_and_instalments
    rate = Decimal(rate_millionths).scaleb(-6)
    multiplier = Decimal(multiplier_hundredths).scaleb(-2)
    with transaction.atomic():
        Loan.objects.filter(pk=loan.pk).update(
            daily_rate=rate, penalty_multiplier=multiplier, grace_days=grace
        )
        expected = {}
        ordered = sorted(instalments, key=lambda c: -c.days_past_due_date)
        for number in range(1, TERM + 1):
            rows = Instalment.objects.filter(loan=loan, number=number)
            if number > len(ordered):
                rows.update(due_date=on + FAR * number, status=PENDING)
                continue
            case = ordered[number - 1]
            charge, days, due, through = python_charge(
                case, on=on, rate=rate, multiplier=multiplier, grace=grace
            )
            rows.update(
                due_date=due,
                status=case.status,
                principal_due=fen(case.principal),
                principal_paid=fen(case.principal_paid),
                interest_due=fen(case.interest),
                interest_paid=fen(case.interest_paid),
                penalty_due=fen(case.penalty),
                penalty_paid=fen(case.penalty_paid),
                penalty_accrued_through=through,
            )
            expected[number] = (fen(case.penalty) + charge, on if days else through, charge)

        with time_machine.travel(on):
            [day] = run_end_of_day(through=on)

        got = {
            i.number: (i.penalty_due, i.penalty_accrued_through)
            for i in Instalment.objects.filter(loan=loan, number__in=expected)
        }
        ledger = dict(
            LoanTransaction.objects.filter(
                loan=loan, kind=LoanTransaction.Kind.PENALTY_ACCRUAL
            ).values_list("instalment__number", "penalty")
        )
        context = f"rate {rate} × {multiplier}, grace {grace}, run {on}"
        for number, (penalty_due, accrued_through, charge) in expected.items():
            assert got[number] == (penalty_due, accrued_through), (
                f"#{number} {ordered[number - 1]}: SQL wrote {got[number]}, Python says "
                f"{(penalty_due, accrued_through)} ({context})"
            )
            assert ledger.get(number, Decimal("0")) == charge, f"#{number} ledger ({context})"
        assert day.penalty_accrued == sum(c for _, _, c in expected.values()), context
        assert BusinessDay.objects.count() == 1
        transaction.set_rollback(True)
