"""Case sync after end of day: cases open past the grace days with their overdue amounts
split, update, and close on cure, settlement and (after recovery) write-off; a loan that falls
overdue again gets a new case; the sync and assignment are a bounded number of statements;
new cases go to the collectors of their bucket's queue towards the fewest open cases, never to
one on leave; a bucket move sends a case to the new queue."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from debt_collection import tasks
from debt_collection.assignment import assign_new_cases, quotas
from debt_collection.models import CaseEvent, CaseStatus, CloseReason, CollectionCase
from debt_collection.sync import sync_cases
from loans import selectors
from loans.models import Loan
from loans.services import write_offs
from loans.services.end_of_day import process_business_date, run_end_of_day
from loans.services.repayments import unrecovered_amount
from tests import factories

from .casework import DAILY_PENALTY, DUE, at, collector, days, eod, loan, pay

pytestmark = pytest.mark.django_db
Kind = CaseEvent.Kind


def case_of(loan_obj) -> CollectionCase:
    return CollectionCase.objects.get(loan=loan_obj, closed_on__isnull=True)


def kinds(case) -> list[str]:
    return list(case.events.values_list("kind", flat=True))


def test_a_case_opens_once_dpd_exceeds_the_grace_days_with_its_amounts_split():
    first = loan()
    eod(DUE)
    eod(DUE + days(1))  # DPD 1: within the grace day
    assert not CollectionCase.objects.exists()

    eod(DUE + days(2))
    case = case_of(first)
    assert (case.status, case.bucket, case.days_past_due) == (CaseStatus.NEW, "M1", 2)
    assert case.borrower_id == first.borrower_id
    assert (case.overdue_principal, case.overdue_interest, case.overdue_penalty) == (
        Decimal("934.34"),
        Decimal("150.00"),
        DAILY_PENALTY * 2,
    )
    assert case.overdue_total == Decimal("1085.74")
    assert (case.opened_on, case.next_action_on, case.closed_on) == (DUE + days(2),) * 2 + (None,)
    assert kinds(case) == [Kind.OPENED]

    eod(DUE + days(3))
    case.refresh_from_db()
    assert (case.days_past_due, case.overdue_penalty) == (3, DAILY_PENALTY * 3)
    assert case.overdue_total == Decimal("1086.44") and case.updated_on == DUE + days(3)
    assert CollectionCase.objects.count() == 1  # one case per overdue episode


def test_re_running_a_date_changes_nothing_and_a_loan_has_one_open_case():
    first = loan()
    eod(DUE + days(2))
    with at(DUE + days(2)):
        again = sync_cases(business_date=DUE + days(2))
    assert again == {"opened": 0, "updated": 0, "closed": 0, "assigned": 0}
    assert CollectionCase.objects.count() == 1 and CaseEvent.objects.count() == 1
    case = case_of(first)
    with pytest.raises(IntegrityError), transaction.atomic():
        CollectionCase.objects.create(
            loan=first,
            borrower=first.borrower,
            bucket="M1",
            days_past_due=2,
            opened_on=case.opened_on,
            updated_on=case.opened_on,
        )


def test_a_cured_loan_closes_its_case_and_falling_overdue_again_opens_a_new_one():
    first = loan()
    eod(DUE + days(2))
    pay(first, "1085.74", DUE + days(2))  # instalment 1 in full, penalty included
    eod(DUE + days(3))
    old = CollectionCase.objects.get(loan=first)
    assert (old.status, old.close_reason, old.closed_on) == (
        CaseStatus.CLOSED,
        CloseReason.CURED,
        DUE + days(3),
    )
    assert kinds(old) == [Kind.OPENED, Kind.CLOSED]

    second_due = date(2026, 3, 15)
    eod(second_due + days(2))
    new = case_of(first)
    assert new.pk != old.pk and new.opened_on == second_due + days(2)
    assert new.overdue_principal < Decimal("1000") and new.days_past_due == 2
    assert CollectionCase.objects.filter(loan=first).count() == 2
    assert CollectionCase.objects.open().filter(loan=first).count() == 1


def test_a_settled_loan_closes_its_case_as_settled():
    first = loan()
    eod(DUE + days(2))
    with at(DUE + days(2)):
        payoff = selectors.payoff_amount(loan=first, on=DUE + days(2))
    pay(first, payoff, DUE + days(2))
    first.refresh_from_db()
    assert first.status == Loan.Status.SETTLED
    eod(DUE + days(3))
    case = CollectionCase.objects.get(loan=first)
    assert (case.status, case.close_reason) == (CaseStatus.CLOSED, CloseReason.SETTLED)


def test_a_written_off_loan_keeps_its_case_open_for_recovery_until_it_is_recovered():
    first = loan()
    eod(DUE + days(2))
    day = date(2026, 8, 20)  # DPD 186
    eod(day)
    with at(day):
        proposal = write_offs.propose_write_off(
            loan=first, actor=factories.staff(), reason="no contact"
        )
        write_off = write_offs.approve_write_off(
            write_off=proposal, actor=factories.staff("风控专员 Risk officer")
        )
    eod(day + days(1))
    case = case_of(first)
    assert (case.status, case.bucket, case.days_past_due) == (CaseStatus.NEW, "M4+", 186)
    assert case.overdue_total == write_off.total
    assert (case.overdue_principal, case.overdue_interest, case.overdue_penalty) == (
        write_off.principal,
        write_off.interest,
        write_off.penalty,
    )

    # A recovery is counted against penalty first, then interest, then principal.
    recovered = write_off.penalty + Decimal("10.00")
    pay(first, recovered, day + days(2))
    eod(day + days(3))
    case.refresh_from_db()
    assert case.overdue_total == unrecovered_amount(loan=first) == write_off.total - recovered
    assert (case.overdue_principal, case.overdue_interest, case.overdue_penalty) == (
        write_off.principal,
        write_off.interest - Decimal("10.00"),
        Decimal("0.00"),
    )

    pay(first, case.overdue_total, day + days(4))
    eod(day + days(5))
    case.refresh_from_db()
    assert (case.status, case.close_reason, case.closed_on) == (
        CaseStatus.CLOSED,
        CloseReason.WRITTEN_OFF,
        day + days(5),
    )


def test_the_sync_is_a_bounded_number_of_statements(django_assert_max_num_queries):
    loans = [loan() for _ in range(16)]
    collector("M1"), collector("M1"), collector("M2")
    with at(DUE + days(2)):
        process_business_date(DUE + days(2))  # not committed: no sync yet
        with django_assert_max_num_queries(24):
            counts = sync_cases(business_date=DUE + days(2))
    assert counts == {"opened": 16, "updated": 0, "closed": 0, "assigned": 16}
    assert CaseEvent.objects.filter(kind=Kind.OPENED).count() == 16
    assert CaseEvent.objects.filter(kind=Kind.ASSIGNED).count() == 16

    # The next run closes four settled loans' cases, moves the rest to M2 and reassigns them.
    for settled in loans[:4]:
        with at(DUE + days(2)):
            payoff = selectors.payoff_amount(loan=settled, on=DUE + days(2))
        pay(settled, payoff, DUE + days(2))
    day = DUE + days(31)
    with at(day):
        process_business_date(day)
        with django_assert_max_num_queries(24):
            counts = sync_cases(business_date=day)
    assert counts == {"opened": 0, "updated": 12, "closed": 4, "assigned": 12}
    m2 = (
        CollectionCase.objects.open()
        .order_by()
        .values_list("bucket", "assigned_to__queue")
        .distinct()
    )
    assert list(m2) == [("M2", "M2")]


def test_water_filling_quotas():
    assert quotas([0, 3], 5) == [4, 1]  # both end on 4
    assert quotas([2, 2, 2], 4) == [2, 1, 1]
    assert quotas([5, 0], 2) == [0, 2]
    assert quotas([10, 1, 4], 3) == [0, 3, 0]
    assert quotas([], 3) == [] and quotas([1], 0) == [0]


def test_new_cases_go_towards_the_fewest_open_cases_and_never_to_one_on_leave():
    a = collector("M1", number="A0001")
    first = loan()
    eod(DUE + days(2))
    assert case_of(first).assigned_to == a
    b = collector("M1", number="B0001")
    away = collector("M1", number="C0001", on_leave=True)
    other_queue = collector("M2", number="D0001")
    later = [loan(on=DUE) for _ in range(3)]  # due 2026-03-15
    eod(date(2026, 3, 17))
    assert {case_of(x).assigned_to for x in later} == {a, b}
    counts = {c: c.cases.open().count() for c in (a, b, away, other_queue)}
    assert counts == {a: 2, b: 2, away: 0, other_queue: 0}
    event = case_of(later[0]).events.get(kind=Kind.ASSIGNED)
    assert (event.collector, event.actor, event.text) == (case_of(later[0]).assigned_to, None, "M1")


def test_a_queue_without_collectors_leaves_its_cases_unassigned_for_supervisors():
    first = loan()
    collector("M2")
    eod(DUE + days(2))
    case = case_of(first)
    assert case.assigned_to is None and kinds(case) == [Kind.OPENED]
    there = collector("M1")
    with at(DUE + days(2)):
        assert assign_new_cases(business_date=DUE + days(2)) == 1
    assert case_of(first).assigned_to == there


def test_a_case_moving_bucket_goes_to_the_new_queue():
    m1, m2 = collector("M1"), collector("M2")
    first, second = loan(), loan()
    eod(DUE + days(2))
    assert case_of(first).assigned_to == m1
    m2.on_leave = True
    m2.save()
    eod(DUE + days(31))  # DPD 31: M2
    case = case_of(first)
    assert (case.bucket, case.assigned_to) == ("M2", None)  # nobody in M2 is at work
    move = case.events.get(kind=Kind.BUCKET)
    assert (move.text, move.collector) == ("M1 → M2", m1)

    m2.on_leave = False
    m2.save()
    eod(DUE + days(32))
    assert case_of(first).assigned_to == case_of(second).assigned_to == m2
    assert kinds(case_of(first)) == [Kind.OPENED, Kind.ASSIGNED, Kind.BUCKET, Kind.ASSIGNED]


def test_a_case_sits_with_a_collector_of_its_bucket_even_when_reassigned_by_hand():
    """A supervisor gave an M1 case to an M2 collector: when the case reaches M2 it stays."""
    collector("M1")
    m2 = collector("M2")
    first = loan()
    eod(DUE + days(2))
    CollectionCase.objects.filter(loan=first).update(assigned_to=m2)
    eod(DUE + days(31))
    assert case_of(first).assigned_to == m2


@pytest.mark.django_db(transaction=True)
def test_a_failing_case_sync_is_logged_and_end_of_day_goes_on(monkeypatch, caplog):
    first = loan()
    eod(DUE)

    def broken(**kwargs):
        raise RuntimeError("case sync down")

    monkeypatch.setattr("debt_collection.sync.sync_cases", broken)
    with at(DUE + days(3)):
        done = run_end_of_day(through=DUE + days(3))
    assert [d.business_date for d in done] == [DUE + days(n) for n in (1, 2, 3)]
    assert "case sync down" in caplog.text and not CollectionCase.objects.exists()

    monkeypatch.undo()  # the operator's re-run catches up with the last business date
    with at(DUE + days(3)):
        assert tasks.sync_last_business_day().startswith(f"{DUE + days(3)}: opened 1")
    assert case_of(first).days_past_due == 3
