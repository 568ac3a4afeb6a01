"""核销 (write-off): only past DPD 180, proposed by one person and approved by another; what is
owed moves exactly to write-off rows, the line closes, accrual stops, end of day leaves the loan
out, and later money is a recovery — reconciled throughout."""

from datetime import date, datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from loans import delinquency, reconcile, selectors, signals
from loans.models import (
    CreditLine,
    CreditLineEvent,
    Instalment,
    Loan,
    LoanTransaction,
    Repayment,
    WriteOff,
)
from loans.services import refunds, write_offs
from loans.services.end_of_day import process_business_date
from loans.services.repayments import post_repayment, reverse_repayment, unrecovered_amount
from tests import factories

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
DRAWN = date(2026, 1, 15)
DUE = date(2026, 2, 15)  # instalment 1; ten monthly instalments, the last due 2026-11-15
DAY = date(2026, 8, 20)  # DPD 186: instalments 1–7 owed, 8–10 still to come
RISK = "风控专员 Risk officer"
Kind = LoanTransaction.Kind


def at(day: date):
    return time_machine.travel(datetime.combine(day, dt_time(10), SHANGHAI))


def eod(day: date):
    with at(day):
        return process_business_date(day)


@pytest.fixture
def risk():
    return factories.staff(RISK), factories.staff(RISK)


@pytest.fixture
def loan():
    """Part of instalment 1 paid on its due date, nothing since."""
    with at(DRAWN):
        loan = factories.loan(on=DRAWN)
    with at(DUE):
        post_repayment(
            loan=loan,
            amount=Decimal("500.00"),
            channel="wechat_pay",
            external_id="P1",
            value_date=DUE,
        )
    return loan


def written_off(loan, risk):
    proposer, approver = risk
    eod(DAY)
    with at(DAY):
        proposal = write_offs.propose_write_off(loan=loan, actor=proposer, reason="no contact")
        return write_offs.approve_write_off(write_off=proposal, actor=approver)


def assert_reconciled():
    assert reconcile.differences() == []


def test_the_threshold_and_buckets_have_one_home():
    assert delinquency.WRITE_OFF_DPD == 180
    assert [delinquency.bucket_for(d) for d in (0, 1, 30, 31, 60, 61, 90, 91, 181)] == [
        "current", "M1", "M1", "M2", "M2", "M3", "M3", "M4+", "M4+"
    ]  # fmt: skip
    assert not delinquency.is_write_off_candidate(180)
    assert delinquency.is_write_off_candidate(181)


def test_a_write_off_is_refused_below_dpd_181(loan, risk):
    proposer, _ = risk
    day_180 = DUE + timedelta(days=180)
    eod(day_180)
    with at(day_180), pytest.raises(ValidationError, match="180 days past due"):
        write_offs.propose_write_off(loan=loan, actor=proposer, reason="no contact")
    assert not WriteOff.objects.exists()
    eod(day_180 + timedelta(days=1))
    with at(day_180 + timedelta(days=1)):
        proposal = write_offs.propose_write_off(loan=loan, actor=proposer, reason="no contact")
    assert proposal.days_past_due == 181 and proposal.status == WriteOff.Status.PROPOSED
    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE  # a proposal changes nothing yet


def test_a_write_off_is_refused_to_its_proposer_and_proposed_only_once(loan, risk):
    proposer, approver = risk
    eod(DAY)
    with at(DAY):
        proposal = write_offs.propose_write_off(loan=loan, actor=proposer, reason="no contact")
        with pytest.raises(ValidationError, match="already been proposed"):
            write_offs.propose_write_off(loan=loan, actor=approver, reason="again")
        with pytest.raises(ValidationError, match="someone other than its proposer"):
            write_offs.approve_write_off(write_off=proposal, actor=proposer)
    proposal.refresh_from_db()
    loan.refresh_from_db()
    assert proposal.status == WriteOff.Status.PROPOSED and loan.status == Loan.Status.ACTIVE
    assert not LoanTransaction.objects.filter(kind=Kind.WRITE_OFF).exists()


def test_approval_moves_exactly_what_is_owed_to_write_off_rows(
    loan, risk, django_capture_on_commit_callbacks
):
    eod(DAY)
    loan.refresh_from_db()
    with at(DAY):
        owed = selectors.payoff_amount(loan=loan, on=DAY)  # what would settle it today
    principal = loan.outstanding_principal
    before = {
        i.pk: (i.principal_outstanding, i.interest_outstanding, i.penalty_outstanding)
        for i in loan.instalments.all()
    }
    rows_before = LoanTransaction.objects.count()
    announced = []

    def receiver(sender, loan, write_off, **kwargs):
        announced.append((loan.pk, write_off.pk))

    signals.loan_written_off.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            write_off = written_off(loan, risk)
    finally:
        signals.loan_written_off.disconnect(receiver)
    assert announced == [(loan.pk, write_off.pk)]

    rows = LoanTransaction.objects.filter(loan=loan, kind=Kind.WRITE_OFF)
    total = sum(r.principal + r.interest + r.penalty + r.fee for r in rows)
    assert total == owed == write_off.total and write_off.principal == principal
    # Due instalments move whole; of those to come, principal and only the interest accrued:
    # 5 days since the 08-15 due date on the principal of instalments 8–10.
    to_come = [i for i in loan.instalments.all() if i.due_date > DAY]
    accrued = (sum(before[i.pk][0] for i in to_come) * Decimal("0.0005") * 5).quantize(
        Decimal("0.01")
    )
    due = [i for i in loan.instalments.all() if i.due_date <= DAY]
    assert write_off.interest == sum(before[i.pk][1] for i in due) + accrued
    assert write_off.penalty == sum(before[i.pk][2] for i in due) > 0
    for row in rows:
        if row.instalment.due_date <= DAY:
            assert (row.principal, row.interest, row.penalty) == before[row.instalment_id]

    loan.refresh_from_db()
    assert loan.status == Loan.Status.WRITTEN_OFF and loan.written_off_on == DAY
    assert loan.outstanding_principal == 0 and not loan.write_off_candidate
    assert loan.days_past_due == 186 and loan.bucket == "M4+"  # as it was written off
    assert set(loan.instalments.values_list("status", flat=True)) == {Instalment.Status.WRITTEN_OFF}
    assert loan.instalments.count() == 10  # nothing deleted
    assert LoanTransaction.objects.count() == rows_before + rows.count()
    assert (write_off.status, write_off.written_off_on) == (WriteOff.Status.APPROVED, DAY)
    assert_reconciled()


def test_the_credit_line_closes_with_its_history(loan, risk):
    write_off = written_off(loan, risk)
    line = CreditLine.objects.get(pk=loan.credit_line_id)
    assert line.status == CreditLine.Status.CLOSED and line.outstanding_principal == 0
    event = line.events.get(kind=CreditLineEvent.Kind.CLOSED)
    assert event.actor == write_off.decided_by and str(loan) in event.reason
    assert_reconciled()


def test_end_of_day_no_longer_accrues_and_its_figures_leave_the_loan_out(loan, risk):
    eod(DAY - timedelta(days=1))
    day_before = eod(DAY)
    assert day_before.loans_m4_plus == 1 and day_before.write_off_candidates == 1
    assert day_before.overdue_principal > 0
    with at(DAY):
        proposal = write_offs.propose_write_off(loan=loan, actor=risk[0], reason="no contact")
        write_offs.approve_write_off(write_off=proposal, actor=risk[1])
    penalty_rows = LoanTransaction.objects.filter(loan=loan, kind=Kind.PENALTY_ACCRUAL).count()
    days = [eod(DAY + timedelta(days=n)) for n in range(1, 6)]
    assert LoanTransaction.objects.filter(loan=loan, kind=Kind.PENALTY_ACCRUAL).count() == (
        penalty_rows
    )
    for day in days:
        assert (day.loans_m4_plus, day.write_off_candidates, day.newly_cured) == (0, 0, 0)
        assert (day.overdue_principal, day.overdue_interest, day.overdue_penalty) == (0, 0, 0)
        assert day.penalty_accrued == 0
    loan.refresh_from_db()
    assert loan.days_past_due == 186 and loan.status == Loan.Status.WRITTEN_OFF
    assert_reconciled()


def test_money_received_later_is_a_recovery(loan, risk, django_capture_on_commit_callbacks):
    write_off = written_off(loan, risk)
    instalments = list(loan.instalments.values())
    later = DAY + timedelta(days=2)
    with at(later), django_capture_on_commit_callbacks(execute=True):
        recovery, posted = post_repayment(
            loan=loan,
            amount=Decimal("800.00"),
            channel="bank_card",
            external_id="R1",
            value_date=later,
        )
    assert posted and recovery.recovery and recovery.status == Repayment.Status.POSTED
    assert (recovery.principal, recovery.interest, recovery.penalty, recovery.unapplied) == (
        0,
        0,
        0,
        0,
    )
    rows = LoanTransaction.objects.filter(repayment=recovery)
    assert [(r.kind, r.amount, r.instalment_id) for r in rows] == [
        (Kind.RECOVERY, Decimal("800.00"), None)
    ]
    assert list(loan.instalments.values()) == instalments  # nothing allocated, nothing accrued
    assert unrecovered_amount(loan=loan) == write_off.total - Decimal("800.00")
    assert_reconciled()

    # Staff may not type in more than is still owed (beyond the margin)...
    with at(later), pytest.raises(ValidationError, match="still owes"):
        post_repayment(
            loan=loan,
            amount=write_off.total,
            channel="counter",
            external_id="R2",
            value_date=later,
            actor=risk[0],
        )
    # ...but money the gateway received beyond it is kept to refund.
    with at(later):
        final, _ = post_repayment(
            loan=loan,
            amount=write_off.total,
            channel="bank_card",
            external_id="R3",
            value_date=later,
        )
    assert final.unapplied == Decimal("800.00") and unrecovered_amount(loan=loan) == 0
    assert refunds.refundable_amount(loan=loan) == Decimal("800.00")
    loan.refresh_from_db()
    assert loan.status == Loan.Status.WRITTEN_OFF
    assert_reconciled()


def test_a_bounced_recovery_is_reversed_but_a_payment_before_the_write_off_is_not(loan, risk):
    write_off = written_off(loan, risk)
    with at(DAY):
        recovery, _ = post_repayment(
            loan=loan,
            amount=Decimal("300.00"),
            channel="bank_card",
            external_id="R1",
            value_date=DAY,
        )
        reverse_repayment(repayment=recovery, reason="bounced")
    assert unrecovered_amount(loan=loan) == write_off.total
    mirror = LoanTransaction.objects.get(repayment=recovery, kind=Kind.REVERSAL)
    assert mirror.amount == Decimal("-300.00")
    before = Repayment.objects.get(external_id="P1")
    with at(DAY), pytest.raises(ValidationError, match="written off after this payment"):
        reverse_repayment(repayment=before, reason="bounced")
    before.refresh_from_db()
    assert before.status == Repayment.Status.POSTED
    assert_reconciled()


def test_reconcile_finds_a_written_off_loan_that_does_not_add_up(loan, risk):
    written_off(loan, risk)
    assert_reconciled()
    first = loan.instalments.get(number=1)
    Instalment.objects.filter(pk=first.pk).update(status=Instalment.Status.OVERDUE)
    found = reconcile.differences()
    assert any(f"loan {loan.pk} instalment 1 (overdue)" in line for line in found)
    assert any(f"loan {loan.pk} (written_off): open instalments True" in line for line in found)


def test_admin_proposes_a_candidate_and_another_person_approves(client, loan, risk):
    proposer, approver = risk
    eod(DAY)
    client.force_login(proposer)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the asserts read English
    with at(DAY):
        changelist = client.get(reverse("admin:loans_writeoff_changelist"))
        assert "write_off_candidate__exact=1" in changelist.content.decode()
        add = reverse("admin:loans_writeoff_add")
        page = client.get(add)
        assert [c.pk for c in page.context["candidates"]] == [loan.pk]
        response = client.post(add, {"loan": loan.pk, "reason": "无法联系 no contact"})
        assert response.status_code == 302
        proposal = WriteOff.objects.get()
        action = {"action": "approve", "_selected_action": [proposal.pk], "apply": "1"}
        url = reverse("admin:loans_writeoff_changelist")
        refused = client.post(url, action, follow=True)
        assert "someone other than its proposer" in refused.content.decode()
        client.force_login(approver)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the asserts read English
        client.post(url, action)
    proposal.refresh_from_db()
    assert proposal.status == WriteOff.Status.APPROVED and proposal.decided_by == approver


def test_admin_refuses_to_propose_a_loan_that_is_not_a_candidate(client, loan, risk):
    eod(DUE + timedelta(days=100))
    client.force_login(risk[0])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the asserts read English
    with at(DUE + timedelta(days=100)):
        response = client.post(
            reverse("admin:loans_writeoff_add"), {"loan": loan.pk, "reason": "no contact"}
        )
    assert response.status_code == 200 and "100 days past due" in response.content.decode()
    assert not WriteOff.objects.exists()


def test_who_may_propose_and_approve():
    risk_officer = factories.staff(RISK)
    supervisor = factories.staff("催收主管 Collection supervisor")
    ops = factories.staff("贷款运营 Loan operations")
    auditor = factories.staff("合规审计 Auditor")
    assert risk_officer.has_perms(["loans.propose_writeoff", "loans.approve_writeoff"])
    assert supervisor.has_perm("loans.approve_writeoff")
    assert not supervisor.has_perm("loans.propose_writeoff")
    assert not ops.has_perm("loans.approve_writeoff")
    assert auditor.has_perm("loans.view_writeoff") and not auditor.has_perm(
        "loans.propose_writeoff"
    )


@pytest.mark.parametrize("loan_id", ["abc", "99999999999999999999", "1\x00"])
def test_the_propose_form_answers_hostile_loan_ids_without_failing(client, risk, loan_id):
    client.force_login(risk[0])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the asserts read English
    add = reverse("admin:loans_writeoff_add")
    assert client.get(add, {"loan": loan_id}).status_code in (200, 400)
    response = client.post(add, {"loan": loan_id, "reason": "x"})
    assert response.status_code in (200, 400) and not WriteOff.objects.exists()
