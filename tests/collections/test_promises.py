"""承诺还款 (promises to pay): kept at once when the money arrives, partly kept or broken the day
after their date; a broken promise sends the case to "broken promise" at the top of its
collector's queue; a reversed payment takes back what it counted."""

from decimal import Decimal

import pytest

from debt_collection.models import CaseStatus, CollectionCase, PromiseToPay
from debt_collection.promises import evaluate_promises
from debt_collection.services import cases

from .casework import DUE, at, collector, days, eod, loan, pay, reverse

pytestmark = pytest.mark.django_db
TODAY = DUE + days(2)
BY = TODAY + days(5)
Status = PromiseToPay.Status


@pytest.fixture
def case():
    worker = collector("M1")
    first = loan()
    eod(TODAY)
    case = CollectionCase.objects.get(loan=first)
    with at(TODAY):
        cases.make_promise(case=case, amount=Decimal("600.00"), promised_on=BY, staff=worker.user)
    return case


def state(case):
    case.refresh_from_db()
    p = case.promises.get()
    return p.status, p.paid, p.resolved_on, case.status


def test_a_promise_is_kept_as_soon_as_the_payments_reach_it(case):
    pay(case.loan, "400.00", TODAY + days(1))
    assert state(case) == (Status.OPEN, Decimal("400.00"), None, CaseStatus.PROMISE_TO_PAY)
    pay(case.loan, "200.00", BY)  # on its date still counts
    assert state(case) == (Status.KEPT, Decimal("600.00"), BY, CaseStatus.IN_PROGRESS)
    eod(BY + days(1))
    assert state(case)[0] == Status.KEPT


def test_a_promise_partly_paid_is_partly_kept_the_day_after_its_date(case):
    pay(case.loan, "250.00", BY)
    eod(BY)  # its own date: still open
    assert state(case)[0] == Status.OPEN
    eod(BY + days(1))
    assert state(case) == (
        Status.PARTLY_KEPT,
        Decimal("250.00"),
        BY + days(1),
        CaseStatus.IN_PROGRESS,
    )


def test_a_promise_with_nothing_paid_is_broken_and_its_case_goes_first(case):
    pay(case.loan, "600.00", BY + days(1))  # too late: after its date
    eod(BY + days(1))
    assert state(case) == (Status.BROKEN, Decimal("0.00"), BY + days(1), CaseStatus.BROKEN_PROMISE)
    case.refresh_from_db()
    assert case.next_action_on == BY + days(1)  # the top of the collector's queue today


def test_money_before_the_promise_was_made_does_not_count(case):
    """Window: from the day it was made. A payment dated the day before is not in it."""
    PromiseToPay.objects.update(made_on=TODAY + days(1))
    pay(case.loan, "600.00", TODAY)
    with at(BY + days(1)):
        assert evaluate_promises(business_date=BY + days(1)) == {
            "kept": 0,
            "partly_kept": 0,
            "broken": 1,
        }


def test_a_paused_case_stays_paused_when_its_promise_breaks(case):
    cases.pause_cases(borrower=case.borrower, reason_text="complaint")
    eod(BY + days(1))
    assert state(case)[0::3] == (Status.BROKEN, CaseStatus.PAUSED)


def test_a_reversed_payment_reopens_the_promise_it_had_kept(case):
    repayment = pay(case.loan, "600.00", TODAY + days(1))
    assert state(case)[0] == Status.KEPT
    reverse(repayment, TODAY + days(2))
    assert state(case) == (Status.OPEN, Decimal("0.00"), None, CaseStatus.PROMISE_TO_PAY)
    eod(BY + days(1))
    assert state(case)[0::3] == (Status.BROKEN, CaseStatus.BROKEN_PROMISE)


def test_a_reversal_after_the_date_breaks_a_promise_it_had_kept(case):
    repayment = pay(case.loan, "600.00", BY)
    eod(BY + days(1))
    assert state(case)[0] == Status.KEPT
    reverse(repayment, BY + days(2))
    assert state(case) == (
        Status.BROKEN,
        Decimal("0.00"),
        BY + days(2),
        CaseStatus.BROKEN_PROMISE,
    )
