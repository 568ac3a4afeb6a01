"""协商还款 (hardship plans): proposed by the borrower or staff, decided by a supervisor who is
not the proposer; approval re-schedules the loan (old schedule on record, APR within the cap)
and texts the borrower; the plan lapses after a plan instalment is more than 30 days overdue,
or completes with the loan — the ledger reconciled throughout."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase

from debt_collection.models import CaseStatus, CollectionCase, HardshipPlan
from debt_collection.models.help import PLAN_LAPSE_DPD
from debt_collection.services import hardship
from loans import reconcile
from loans.models import BusinessDay, Instalment, LoanTransaction
from loans.pricing import APR_CAP_PERCENT
from notifications.models import SmsMessage
from tests import factories

from .casework import at, eod, grant, loan, pay

pytestmark = pytest.mark.django_db
DAY = date(2026, 4, 20)  # instalments 1–3 overdue (DPD 64), their penalty charged
Status = HardshipPlan.Status


def assert_reconciled():
    assert reconcile.differences() == []


@pytest.fixture
def overdue():
    """A loan 64 days past due on DAY, after end of day: its case is open."""
    overdue = loan()
    eod(DAY)
    return overdue


@pytest.fixture
def collector():
    return grant(factories.staff(), "add_hardshipplan", "work_case")


@pytest.fixture
def supervisors():
    return tuple(
        grant(factories.staff(), "add_hardshipplan", "decide_hardshipplan", "supervise_case")
        for _ in range(2)
    )


def case_of(loan) -> CollectionCase | None:
    return CollectionCase.objects.open().filter(loan=loan).first()


def propose(loan, *, staff=None, day=DAY, **options):
    with at(day):
        return hardship.propose_plan(
            loan=loan,
            reason="失业，收入中断",
            staff=staff,
            by_borrower=staff is None,
            **options,
        )


def decide(plan, staff, *, approve=True, note="", day=DAY):
    with at(day), TestCase.captureOnCommitCallbacks(execute=True):
        return hardship.decide_plan(plan=plan, staff=staff, approve=approve, note=note)


def check(day):
    with at(day):
        return hardship.check_plans(business_date=day)


def decided_sms(loan):
    return SmsMessage.objects.filter(template="hardship_decided", borrower=loan.borrower)


def test_the_borrower_proposes_and_the_case_waits_for_a_decision(overdue):
    assert case_of(overdue).status == CaseStatus.NEW
    plan = propose(overdue, extension_days=30)
    assert (plan.status, plan.proposed_by, plan.proposed_by_borrower) == (
        Status.PROPOSED,
        None,
        True,
    )
    assert plan.case == case_of(overdue)
    assert case_of(overdue).status == CaseStatus.HARDSHIP_REQUESTED
    with pytest.raises(ValidationError, match="already has a hardship plan"):
        propose(overdue, new_term=12)


@pytest.mark.parametrize(
    "options, message",
    [
        ({}, "Choose at least one"),
        ({"extension_days": 91}, "1 to 90 days"),
        ({"new_term": 37}, "1 to 36 monthly"),
        ({"new_term": 0}, "1 to 36 monthly"),
        ({"penalty_waiver": Decimal("-1")}, "positive"),
        ({"penalty_waiver": Decimal("1000.00")}, "more than the penalty owed"),
    ],
)
def test_a_proposal_is_refused_with_a_clear_reason(overdue, options, message):
    with pytest.raises(ValidationError, match=message):
        propose(overdue, **options)
    assert not HardshipPlan.objects.exists()


def test_only_staff_allowed_to_may_propose_and_only_for_an_active_loan(overdue, collector):
    with pytest.raises(PermissionDenied):
        propose(overdue, staff=factories.staff(), extension_days=30)
    with at(DAY), pytest.raises(PermissionDenied):
        hardship.propose_plan(loan=overdue, extension_days=30)  # neither borrower nor staff
    with at(DAY):
        pay(overdue, "20000", DAY)  # settles it; the rest is to refund
    with pytest.raises(ValidationError, match="only for an active loan"):
        propose(overdue, staff=collector, extension_days=30)


def test_the_proposer_cannot_approve_and_a_collector_cannot_decide(overdue, supervisors, collector):
    own = propose(overdue, staff=supervisors[0], new_term=12)
    with pytest.raises(PermissionDenied, match="someone other than"):
        decide(own, supervisors[0])
    with pytest.raises(PermissionDenied, match="Only a supervisor"):
        decide(own, collector)
    own.refresh_from_db()
    assert own.status == Status.PROPOSED and own.revision is None
    assert not overdue.schedule_revisions.exists() and not decided_sms(overdue).exists()


OPTIONS = {
    "extension": {"extension_days": 60},
    "new plan": {"new_term": 12},
    "waiver": {"penalty_waiver": Decimal("20.00")},
    "stop": {"stop_interest": True},
    "waiver and new plan": {"penalty_waiver": Decimal("73.96"), "new_term": 24},
    "everything": {
        "extension_days": 30,
        "new_term": 6,
        "penalty_waiver": Decimal("10.00"),
        "stop_interest": True,
    },
}


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
def test_approval_reschedules_with_the_old_schedule_on_record(
    overdue, collector, supervisors, options
):
    before = list(
        Instalment.objects.filter(loan=overdue)
        .order_by("number")
        .values_list("number", "due_date", "principal_due", "interest_due", "penalty_due")
    )
    plan = decide(propose(overdue, staff=collector, **options), supervisors[1])
    assert plan.status == Status.APPROVED and plan.decided_by == supervisors[1]
    revision = plan.revision
    assert revision.loan == overdue and revision.by == supervisors[1]
    assert [
        (r["number"], r["due_date"], r["principal_due"], r["interest_due"], r["penalty_due"])
        for r in revision.old_instalments
    ] == [(n, str(d), str(p), str(i), str(pen)) for n, d, p, i, pen in before]
    assert plan.apr_percent == revision.apr_percent <= APR_CAP_PERCENT
    if options.get("stop_interest"):
        assert plan.apr_percent == 0
    assert case_of(overdue).status == CaseStatus.HARDSHIP_PLAN
    [sms] = decided_sms(overdue)
    assert sms.purpose == SmsMessage.Purpose.TRANSACTIONAL
    assert overdue.contract.number in sms.text and "已获批准" in sms.text
    assert_reconciled()

    # Payments under the plan: the next instalment, then a part payment.
    nxt = Instalment.objects.open().filter(loan=overdue).order_by("due_date").first()
    pay(overdue, nxt.total_outstanding, max(nxt.due_date, DAY))
    pay(overdue, "300.00", max(nxt.due_date, DAY) + timedelta(days=3))
    assert_reconciled()


def test_rejection_needs_a_reason_and_sends_the_case_back_to_work(overdue, supervisors):
    plan = propose(overdue, new_term=12)
    with pytest.raises(ValidationError, match="Say why"):
        decide(plan, supervisors[0], approve=False)
    plan = decide(plan, supervisors[0], approve=False, note="收入证明不足")
    assert plan.status == Status.REJECTED and plan.revision is None
    assert case_of(overdue).status == CaseStatus.IN_PROGRESS
    [sms] = decided_sms(overdue)
    assert "未获批准" in sms.text
    assert not overdue.schedule_revisions.exists()
    with pytest.raises(ValidationError, match="already"):
        decide(plan, supervisors[1])


def test_a_new_plan_lapses_after_an_instalment_more_than_30_days_overdue(overdue, supervisors):
    plan = decide(propose(overdue, new_term=6), supervisors[0])
    first = Instalment.objects.open().filter(loan=overdue).order_by("due_date").first()
    assert first.due_date == date(2026, 5, 20)
    eod(DAY + timedelta(days=1))  # nothing overdue any more: the case is closed as cured
    assert case_of(overdue) is None
    on_limit = first.due_date + timedelta(days=PLAN_LAPSE_DPD)
    eod(on_limit)
    assert check(on_limit) == {"plans_completed": 0, "plans_lapsed": 0}
    assert HardshipPlan.objects.get(pk=plan.pk).status == Status.APPROVED
    lapse_day = on_limit + timedelta(days=1)
    eod(lapse_day)  # end of day's after-work checks the plans
    plan.refresh_from_db()
    assert (plan.status, plan.ended_on) == (Status.LAPSED, lapse_day)
    # Normal collection resumes: the loan has an open case again, not held by the plan.
    assert case_of(overdue).status == CaseStatus.NEW
    assert check(lapse_day)["plans_lapsed"] == 0  # once
    assert_reconciled()


def test_a_waiver_plan_lapses_and_its_case_goes_back_to_work(overdue, supervisors):
    """The old instalments stay overdue; the plan's own are those due after its approval."""
    plan = decide(propose(overdue, penalty_waiver=Decimal("50.00")), supervisors[0])
    case = case_of(overdue)
    assert case.status == CaseStatus.HARDSHIP_PLAN
    fourth = Instalment.objects.get(loan=overdue, number=4)  # due 2026-05-15
    day = fourth.due_date + timedelta(days=PLAN_LAPSE_DPD + 1)
    eod(day)  # end of day's after-work checks the plans
    assert check(day)["plans_lapsed"] == 0  # already ended: once
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS
    assert case.events.filter(status=CaseStatus.IN_PROGRESS, text__contains="lapsed").exists()
    assert HardshipPlan.objects.get(pk=plan.pk).status == Status.LAPSED
    assert_reconciled()


def test_a_plan_kept_to_the_end_completes(overdue, supervisors):
    plan = decide(propose(overdue, new_term=2, penalty_waiver=Decimal("73.96")), supervisors[0])
    for inst in Instalment.objects.open().filter(loan=overdue).order_by("due_date"):
        pay(overdue, inst.total_outstanding, inst.due_date)
    overdue.refresh_from_db()
    assert overdue.status == "settled"
    day = overdue.settled_on + timedelta(days=1)
    eod(day)  # end of day's after-work checks the plans
    assert check(day) == {"plans_completed": 0, "plans_lapsed": 0}  # already completed
    plan.refresh_from_db()
    assert (plan.status, plan.ended_on) == (Status.COMPLETED, day)
    assert_reconciled()


def test_with_accrual_stopped_end_of_day_charges_no_penalty(overdue, supervisors):
    decide(propose(overdue, stop_interest=True), supervisors[0])
    charged = LoanTransaction.objects.filter(loan=overdue, kind="penalty").count()
    for n in (1, 15, 45):
        eod(DAY + timedelta(days=n))
    assert LoanTransaction.objects.filter(loan=overdue, kind="penalty").count() == charged
    assert BusinessDay.objects.get(business_date=DAY + timedelta(days=45)).penalty_accrued == 0
    overdue.refresh_from_db()
    assert overdue.days_past_due == 64 + 45  # still overdue: collection resumes if it lapses
    assert_reconciled()
