"""End of day: overdue, days past due, buckets, penalty after grace, cure, re-runs, catch-up,
interruption and two clusters — with the clock moved, and the ledger reconciled each time."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from loans import reconcile
from loans.models import BusinessDay, Instalment, Loan, LoanTransaction
from loans.services import end_of_day
from loans.services.end_of_day import process_business_date, run_end_of_day
from loans.services.repayments import post_repayment
from tests import factories

DRAWN = date(2026, 1, 15)
DUE = date(2026, 2, 15)  # first instalment: 934.34 principal + 150.00 interest
DAILY_PENALTY = Decimal("0.70")  # 934.34 × 0.0005 × 1.5 = 0.700755


@pytest.fixture
def loan(db):
    with time_machine.travel(DRAWN):
        return factories.loan(on=DRAWN)


def eod(day):
    with time_machine.travel(day):
        return process_business_date(day)


def pay(loan, amount, on, ext):
    with time_machine.travel(on):
        repayment, _ = post_repayment(
            loan=loan, amount=Decimal(amount), channel="bank_card", external_id=ext, value_date=on
        )
    return repayment


def first(loan) -> Instalment:
    return loan.instalments.get(number=1)


def state(loan):
    loan.refresh_from_db()
    return loan.days_past_due, loan.bucket


def penalties():
    return list(LoanTransaction.objects.filter(kind="penalty").values_list("value_date", "penalty"))


def assert_reconciled():
    assert reconcile.differences() == []


def test_due_today_is_not_overdue(loan):
    day = eod(DUE)
    assert first(loan).status == "due"
    assert state(loan) == (0, "current") and penalties() == []
    assert (day.newly_overdue, day.loans_current) == (0, 1)
    assert_reconciled()


def test_paid_within_grace_costs_no_penalty_and_is_cured(loan):
    eod(DUE)
    day1 = eod(DUE + timedelta(days=1))
    assert first(loan).status == "overdue" and state(loan) == (1, "M1")
    assert day1.newly_overdue == 1 and day1.penalty_accrued == 0
    r = pay(loan, "1084.34", DUE + timedelta(days=1), "grace")
    assert r.penalty == 0
    day2 = eod(DUE + timedelta(days=2))
    assert state(loan) == (0, "current") and day2.newly_cured == 1
    assert penalties() == []
    assert_reconciled()


def test_paid_after_grace_costs_penalty_for_every_day_late(loan):
    for n in range(0, 4):
        eod(DUE + timedelta(days=n))
    # Day 2 charges days 1 and 2; day 3 charges day 3.
    assert penalties() == [
        (DUE + timedelta(days=2), DAILY_PENALTY * 2),
        (DUE + timedelta(days=3), DAILY_PENALTY),
    ]
    r = pay(loan, "2000", DUE + timedelta(days=3), "late")
    assert r.penalty == DAILY_PENALTY * 3
    eod(DUE + timedelta(days=4))
    assert state(loan) == (0, "current") and len(penalties()) == 2
    assert_reconciled()


def test_partial_payment_lowers_the_principal_that_penalty_runs_on(loan):
    for n in range(0, 3):
        eod(DUE + timedelta(days=n))
    pay(
        loan, "1001.40", DUE + timedelta(days=2), "part"
    )  # 1.40 penalty, 150 interest, 850 principal
    inst = first(loan)
    assert inst.principal_outstanding == Decimal("84.34") and inst.status == "overdue"
    day = eod(DUE + timedelta(days=3))
    # 84.34 × 0.0005 × 1.5 = 0.0632 → 0.06
    assert day.penalty_accrued == Decimal("0.06")
    assert state(loan) == (3, "M1")
    assert_reconciled()


@pytest.mark.parametrize(
    "dpd, bucket, write_off",
    [
        (0, "current", False),
        (1, "M1", False),
        (30, "M1", False),
        (31, "M2", False),
        (60, "M2", False),
        (61, "M3", False),
        (90, "M3", False),
        (91, "M4+", False),
        (180, "M4+", False),
        (181, "M4+", True),
    ],
)
def test_bucket_boundaries(loan, dpd, bucket, write_off):
    eod(DUE + timedelta(days=dpd))
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.bucket, loan.write_off_candidate) == (dpd, bucket, write_off)
    assert_reconciled()


def test_days_past_due_counts_from_the_oldest_unpaid_instalment(loan):
    eod(DUE + timedelta(days=40))  # instalments 1 and 2 (due 03-15) are both unpaid
    assert state(loan) == (40, "M2")
    assert loan.instalments.filter(status="overdue").count() == 2


def test_re_running_a_date_changes_nothing(loan):
    eod(DUE + timedelta(days=5))
    before = (penalties(), list(Instalment.objects.values_list("status", "penalty_due")))
    assert eod(DUE + timedelta(days=5)) is None
    with time_machine.travel(DUE + timedelta(days=5)):
        call_command("run_end_of_day", "--date", str(DUE + timedelta(days=5)))
    assert (penalties(), list(Instalment.objects.values_list("status", "penalty_due"))) == before
    assert BusinessDay.objects.count() == 1


def test_catch_up_over_missed_days_ends_where_daily_runs_would(loan):
    eod(DUE)
    with time_machine.travel(DUE + timedelta(days=6)):
        days = run_end_of_day(through=DUE + timedelta(days=6))
    assert [d.business_date for d in days] == [DUE + timedelta(days=n) for n in range(1, 7)]
    # Same total as six daily runs: one charge for days 1–2, then one per day.
    assert sum(p for _, p in penalties()) == DAILY_PENALTY * 6
    assert state(loan) == (6, "M1")
    assert_reconciled()


def test_a_run_that_dies_halfway_leaves_no_partial_day(loan, monkeypatch):
    def crash(cursor, business_date):
        raise ConnectionError("connection lost")

    monkeypatch.setattr(end_of_day, "_figures", crash)
    with pytest.raises(ConnectionError):
        eod(DUE + timedelta(days=3))
    assert first(loan).status == "pending" and penalties() == []
    assert state(loan) == (0, "current") and not BusinessDay.objects.exists()
    monkeypatch.undo()
    day = eod(DUE + timedelta(days=3))
    assert day.penalty_accrued == DAILY_PENALTY * 3 and state(loan) == (3, "M1")
    assert_reconciled()


def test_the_day_s_figures(loan):
    with time_machine.travel(DRAWN):
        other = factories.loan(on=DRAWN)
    pay(other, "1084.34", DUE, "on-time")
    day = eod(DUE + timedelta(days=2))
    assert (day.loans_current, day.loans_m1, day.newly_overdue) == (1, 1, 1)
    assert day.overdue_principal == Decimal("934.34")
    assert day.overdue_interest == Decimal("150.00")
    assert day.penalty_accrued == day.overdue_penalty == DAILY_PENALTY * 2
    assert Loan.objects.get(pk=other.pk).bucket == "current"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clusters_never_process_the_same_day_twice():
    with time_machine.travel(DRAWN):
        loan = factories.loan(on=DRAWN)
    day = DUE + timedelta(days=3)
    barrier = threading.Barrier(2)
    results = []

    def cluster():
        try:
            barrier.wait()
            results.append(process_business_date(day))
        finally:
            connection.close()

    threads = [threading.Thread(target=cluster) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r is None for r in results) == [False, True]
    assert penalties() == [(day, DAILY_PENALTY * 3)]
    assert state(loan) == (3, "M1")
    assert_reconciled()


def test_the_day_stores_the_portfolio_by_bucket_and_what_was_paid_out(loan):
    """The dashboard reads these, so no page view scans the loans."""
    second = factories.loan(amount="5000", on=date(2026, 3, 1))
    day = eod(date(2026, 3, 1))
    # The first loan's first instalment (due 15 Feb) is 14 days late: M1; the second is new.
    assert day.active_loans == 2
    assert day.balance_m1 == loan.outstanding_principal
    assert day.balance_current == second.outstanding_principal
    assert day.balance_m2 == day.balance_m3 == day.balance_m4_plus == Decimal("0.00")
    assert day.outstanding_principal == loan.outstanding_principal + second.outstanding_principal
    # The run starts just after midnight: it counts the loans paid out the day before.
    assert day.disbursed_loans == 0
    assert (eod(date(2026, 3, 2)).disbursed_amount, BusinessDay.objects.count()) == (
        Decimal("5000.00"),
        2,
    )
