"""Schedule revisions for borrowers in hardship: extension (展期), a new plan (分期), penalty
waiver and 停息挂账 — each keeping the old schedule on record, what is owed today, and the
ledger reconciled through payments under the revised schedule."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loans import penalty, reconcile, selectors
from loans.models import Instalment, Loan, LoanTransaction, ScheduleRevision
from loans.pricing import APR_CAP_PERCENT
from loans.services import restructuring
from loans.services.end_of_day import process_business_date
from loans.services.repayments import post_repayment, reverse_repayment
from tests import factories

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
DRAWN = date(2026, 1, 15)
DAY = date(2026, 4, 20)  # instalments 1–3 (due 02-15, 03-15, 04-15) overdue: DPD 64
Kind = LoanTransaction.Kind


def at(day: date, hour: int = 10):
    return time_machine.travel(datetime.combine(day, dt_time(hour), SHANGHAI))


def eod(day: date):
    with at(day):
        return process_business_date(day)


def pay(loan, amount, day: date, ext: str):
    with at(day):
        repayment, _ = post_repayment(
            loan=loan, amount=Decimal(amount), channel="bank_card", external_id=ext, value_date=day
        )
    return repayment


def revise(loan, day: date = DAY, hour: int = 10, **options):
    with at(day, hour):
        return restructuring.revise_schedule(loan=loan, by=None, reason="hardship", **options)


def payoff(loan, day: date) -> Decimal:
    loan.refresh_from_db()
    return selectors.payoff_amount(loan=loan, on=day)


def rows(loan) -> list[Instalment]:
    return list(Instalment.objects.filter(loan=loan).order_by("number"))


def open_rows(loan) -> list[Instalment]:
    return [i for i in rows(loan) if i.status in Instalment.OPEN_STATUSES]


def owed(loan) -> dict[str, Decimal]:
    return {
        c: sum(
            (getattr(i, f"{c}_due") - getattr(i, f"{c}_paid") for i in open_rows(loan)), Decimal(0)
        )
        for c in ("principal", "interest", "penalty")
    }


def assert_reconciled():
    assert reconcile.differences() == []


@pytest.fixture
def loan():
    """¥10,000 over 10 equal instalments of ¥1,084.34 at 0.05 %/day, nothing paid: on DAY
    three instalments are overdue with their penalty charged."""
    with at(DRAWN):
        loan = factories.loan(on=DRAWN)
    eod(DAY)
    loan.refresh_from_db()
    return loan


def test_an_extension_moves_every_remaining_due_date_and_costs_nothing_more(loan):
    before, settle = rows(loan), payoff(loan, DAY)
    owed_before = owed(loan)
    revision = revise(loan, extension_days=90)
    after = rows(loan)
    assert [i.due_date for i in after] == [i.due_date + timedelta(days=90) for i in before]
    assert all(i.status == "pending" for i in after)
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.bucket) == (0, "current")
    # Same principal and penalty on each instalment; the interest owed up to today (that of
    # the instalments overdue, and five days of the running period's) is due with the first
    # one; settling today costs what it did.
    assert [i.principal_due for i in after] == [i.principal_due for i in before]
    assert [i.penalty_due for i in after] == [i.penalty_due for i in before]
    assert owed(loan) == owed_before and payoff(loan, DAY) == settle
    running = before[3].interest_due - after[3].interest_due
    assert running == Decimal("17.89")  # 7,154.72 × 0.0005 × 5 days
    assert after[0].interest_due == sum((i.interest_due for i in before[:3]), running)
    assert [i.interest_due for i in after[4:]] == [i.interest_due for i in before[4:]]
    assert revision.kinds == ["extension"] and revision.extension_days == 90
    assert [r["due_date"] for r in revision.old_instalments] == [str(i.due_date) for i in before]
    assert_reconciled()


def test_end_of_day_charges_an_extended_instalment_only_after_its_new_grace(loan):
    revise(loan, extension_days=90)
    new_due = rows(loan)[0].due_date  # 2026-05-16
    charged = LoanTransaction.objects.filter(kind=Kind.PENALTY_ACCRUAL).count()
    assert eod(new_due + timedelta(days=1)).penalty_accrued == 0  # within the grace day
    assert LoanTransaction.objects.filter(kind=Kind.PENALTY_ACCRUAL).count() == charged
    day = eod(new_due + timedelta(days=2))
    assert day.penalty_accrued == Decimal("0.70") * 2  # 934.34 × 0.0005 × 1.5, two days
    assert_reconciled()


def test_payments_under_an_extension_and_its_settlement_reconcile(loan):
    revise(loan, extension_days=90)
    first = rows(loan)[0]
    pay(loan, first.total_outstanding, first.due_date, "ext-1")
    assert rows(loan)[0].status == "paid"
    assert_reconciled()
    later = first.due_date + timedelta(days=10)
    settle = payoff(loan, later)
    repayment = pay(loan, settle, later, "ext-settle")
    loan.refresh_from_db()
    assert repayment.settled_loan and loan.status == "settled" and repayment.unapplied == 0
    assert all(not i.total_outstanding for i in rows(loan))
    assert_reconciled()


def test_a_new_plan_spreads_what_is_owed_over_its_instalments_within_the_cap(loan):
    settle, owed_before = payoff(loan, DAY), owed(loan)
    revision = revise(loan, new_term=12)
    plan = open_rows(loan)
    assert [i.number for i in plan] == list(range(1, 13))
    assert plan[0].due_date == date(2026, 5, 20) and plan[-1].due_date == date(2027, 4, 20)
    assert sum((i.principal_due for i in rows(loan)), Decimal(0)) == loan.principal
    assert owed(loan)["principal"] == owed_before["principal"]
    assert owed(loan)["penalty"] == owed_before["penalty"]
    assert payoff(loan, DAY) == settle  # what settles the loan today has not changed
    assert revision.apr_percent == Decimal("18.00") <= APR_CAP_PERCENT
    assert revision.kinds == ["restructure"] and revision.new_term == 12
    assert len(revision.old_instalments) == 10 and len(revision.new_instalments) == 12
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.bucket) == (0, "current")
    assert_reconciled()

    for number, inst in enumerate(plan, start=1):
        pay(loan, inst.total_outstanding, inst.due_date, f"plan-{number}")
    loan.refresh_from_db()
    assert loan.status == "settled" and loan.outstanding_principal == 0
    assert_reconciled()


def test_a_plan_shorter_than_the_overdue_instalments_moves_their_penalty(loan):
    penalty_before = owed(loan)["penalty"]
    revise(loan, new_term=2)
    plan = open_rows(loan)
    assert [i.number for i in plan] == [1, 2]
    closed = [i for i in rows(loan) if i.number > 2]
    assert all(i.status == "paid" and not i.total_outstanding for i in closed)
    assert all(i.due_date > plan[-1].due_date for i in closed)
    assert sum((i.penalty_outstanding for i in plan), Decimal(0)) == penalty_before
    moved = LoanTransaction.objects.filter(kind=Kind.RESCHEDULE)
    assert moved.count() == 2 and sum(t.penalty for t in moved) == 0
    assert_reconciled()
    # A move that does not add up to nothing is found.
    LoanTransaction.objects.create(
        loan=loan, instalment=plan[0], kind=Kind.RESCHEDULE, value_date=DAY, penalty=1
    )
    Instalment.objects.filter(pk=plan[0].pk).update(penalty_due=plan[0].penalty_due + 1)
    assert any("schedule revisions moved" in d for d in reconcile.differences())


def test_a_new_plan_above_the_apr_cap_or_the_loans_rate_is_refused(loan):
    before = rows(loan)
    Loan.objects.filter(pk=loan.pk).update(daily_rate=Decimal("0.000900"))  # about 32 %
    with pytest.raises(ValidationError, match="above the 24% cap"):
        revise(loan, new_term=12)
    with pytest.raises(ValidationError, match="more than the loan's own daily rate"):
        revise(loan, new_term=12, daily_rate=Decimal("0.001"))
    assert rows(loan) == before
    assert [i.due_date for i in rows(loan)] == [i.due_date for i in before]
    assert not ScheduleRevision.objects.exists()


def test_an_interest_first_loan_gets_equal_instalments_beyond_twelve_months():
    with at(DRAWN):
        loan = factories.loan(on=DRAWN, method="interest_first")
    eod(DAY)
    revise(loan, new_term=24)
    loan.refresh_from_db()
    assert loan.method == "equal_instalment" and len(open_rows(loan)) == 24
    assert_reconciled()


def test_a_penalty_waiver_forgives_the_oldest_penalty_first(loan):
    penalties = [i.penalty_due for i in rows(loan)[:3]]
    revise(loan, penalty_waiver=penalties[0] + Decimal("1.00"))
    after = rows(loan)
    assert after[0].penalty_due == 0 and after[1].penalty_due == penalties[1] - 1
    waivers = LoanTransaction.objects.filter(kind=Kind.WAIVER)
    assert sum(t.penalty for t in waivers) == penalties[0] + 1 and waivers.count() == 2
    assert_reconciled()
    left = owed(loan)["penalty"]
    with pytest.raises(ValidationError, match="more than the penalty owed"):
        revise(loan, penalty_waiver=left + Decimal("0.01"))
    revise(loan, penalty_waiver=left)
    assert owed(loan)["penalty"] == 0
    assert_reconciled()


def test_stopping_accrual_charges_no_more_penalty_or_interest(loan):
    due_interest = owed(loan)["interest"] - sum(
        (i.interest_due for i in rows(loan)[3:]), Decimal(0)
    )
    revision = revise(loan, stop_accrual=True)
    loan.refresh_from_db()
    assert loan.accrual_stopped_on == DAY and loan.daily_rate == 0
    assert revision.interest_waived == sum(
        (t.interest for t in LoanTransaction.objects.filter(kind=Kind.WAIVER)), Decimal(0)
    )
    # The interest already due stays owed (挂账); none is scheduled after today.
    assert owed(loan)["interest"] == due_interest
    assert all(not i.interest_outstanding for i in rows(loan)[3:])
    charged = list(LoanTransaction.objects.filter(kind=Kind.PENALTY_ACCRUAL))
    day = eod(DAY + timedelta(days=60))
    assert day.penalty_accrued == 0
    assert list(LoanTransaction.objects.filter(kind=Kind.PENALTY_ACCRUAL)) == charged
    later = DAY + timedelta(days=61)
    assert payoff(loan, later) == sum(owed(loan).values())  # no interest since the stop
    repayment = pay(loan, payoff(loan, later), later, "stopped-settle")
    assert repayment.settled_loan
    assert_reconciled()


def test_several_operations_make_one_revision_in_order(loan):
    revision = revise(
        loan, penalty_waiver=Decimal("10.00"), stop_accrual=True, new_term=6, extension_days=30
    )
    assert revision.kinds == ["penalty_waiver", "stop_accrual", "restructure", "extension"]
    assert revision.apr_percent == 0  # the new plan charges no interest
    plan = open_rows(loan)
    assert len(plan) == 6 and plan[0].due_date == date(2026, 5, 20) + timedelta(days=30)
    assert ScheduleRevision.objects.count() == 1
    assert_reconciled()
    first = plan[0]
    pay(loan, first.total_outstanding, first.due_date, "combined-1")
    eod(first.due_date + timedelta(days=45))  # the second instalment falls 14 days behind
    assert_reconciled()


def test_a_payment_from_before_a_revision_can_no_longer_be_reversed(loan):
    early = pay(loan, "500.00", DAY, "before-plan")
    revise(loan, hour=11, extension_days=30)
    with at(DAY, 12), pytest.raises(ValidationError, match="revised"):
        reverse_repayment(repayment=early, reason="bounced")
    with at(DAY, 12):
        later, _ = post_repayment(
            loan=loan, amount=Decimal("200"), channel="alipay", external_id="after", value_date=DAY
        )
        reverse_repayment(repayment=later, reason="bounced")
    assert_reconciled()


@pytest.mark.parametrize(
    "options, message",
    [
        ({}, "Choose at least one"),
        ({"extension_days": 91}, "1 to 90 days"),
        ({"extension_days": 0}, "1 to 90 days"),
        ({"new_term": 37}, "1 to 36 monthly"),
        ({"penalty_waiver": Decimal("0")}, "positive"),
    ],
)
def test_limits_of_each_operation(loan, options, message):
    with pytest.raises(ValidationError, match=message):
        revise(loan, **options)
    assert not ScheduleRevision.objects.exists()


def test_only_an_active_loan_is_revised_and_only_as_of_a_date_up_to_today(loan):
    with at(DAY), pytest.raises(ValidationError, match="up to today"):
        restructuring.extend_due_dates(
            loan=loan, days=10, by=None, reason="x", as_of=DAY + timedelta(days=1)
        )
    pay(loan, payoff(loan, DAY), DAY, "settle")
    with pytest.raises(ValidationError, match="only an active loan"):
        revise(loan, extension_days=10)


# --- The penalty rule twice: a stopped loan -------------------------------------------------


@dataclass(frozen=True)
class Stopped:
    overdue_days: int  # run date − due date
    accrued: int | None  # accrued through, days after the due date
    stop: int  # accrual stopped, days after the due date


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    case=st.builds(
        Stopped,
        overdue_days=st.integers(min_value=1, max_value=40),
        accrued=st.none() | st.integers(min_value=0, max_value=40),
        stop=st.integers(min_value=-3, max_value=45),
    ),
    grace=st.integers(min_value=0, max_value=3),
)
def test_end_of_day_and_the_python_penalty_agree_on_a_stopped_loan(loan, case, grace):
    on = DAY + timedelta(days=30)
    due = on - timedelta(days=case.overdue_days)
    through = (
        None if case.accrued is None else due + timedelta(days=min(case.accrued, case.overdue_days))
    )
    stopped = due + timedelta(days=case.stop)
    with transaction.atomic():
        Loan.objects.filter(pk=loan.pk).update(grace_days=grace, accrual_stopped_on=stopped)
        Instalment.objects.filter(loan=loan).exclude(number=1).update(status="paid", due_date=DRAWN)
        Instalment.objects.filter(loan=loan, number=1).update(
            status="overdue", due_date=due, penalty_due=0, penalty_accrued_through=through
        )
        days = penalty.accrual_days(
            due_date=due, accrued_through=through, through=on, grace_days=grace, stopped_on=stopped
        )
        expected = penalty.penalty_for_days(
            overdue_principal=Decimal("934.34"),
            daily_rate=loan.daily_rate,
            multiplier=loan.penalty_multiplier,
            days=days,
        )
        charged = eod(on).penalty_accrued
        inst = Instalment.objects.get(loan=loan, number=1)
        assert (charged, inst.penalty_due) == (expected, expected), case
        assert inst.penalty_accrued_through == (on if days else through), case
        transaction.set_rollback(True)
