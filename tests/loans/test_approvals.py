"""Maker-checker, one mechanism: below its threshold a refund or a manual posting happens at
once, above it waits; the proposer is refused (service and admin); another person with the
permission approves and the service carries it out once; a rejection needs a note and leaves
the ledger alone; write-offs and hardship plans always wait; the thresholds are editable."""

import threading
from datetime import date, datetime
from datetime import time as dt_time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse

from loans import approvals, reconcile
from loans.models import (
    Approval,
    ApprovalThreshold,
    AuditEvent,
    LoanTransaction,
    Refund,
    Repayment,
    WriteOff,
)
from loans.services import refunds, write_offs
from tests import factories
from tests.loans.test_refunds import overpaid_loan

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
OPS = "贷款运营 Loan operations"
RISK = "风控专员 Risk officer"
DRAWN = date(2026, 1, 15)
TODAY = date(2026, 1, 26)


@pytest.fixture(autouse=True)
def later():
    with time_machine.travel(datetime.combine(TODAY, dt_time(10), SHANGHAI)):
        yield


@pytest.fixture
def gateway(monkeypatch):
    """The sandbox's refund requests, counted (their answers are not delivered)."""
    from loans.gateway import sandbox

    sent = []
    monkeypatch.setattr(sandbox, "async_task", lambda func, *args, **kw: sent.append(args))
    return sent


@pytest.fixture
def ops():
    return factories.staff(OPS), factories.staff(OPS)


def ledger(loan):
    return list(
        LoanTransaction.objects.filter(loan=loan).order_by("id").values_list("kind", "amount")
    )


def set_threshold(kind, amount):
    ApprovalThreshold.objects.update_or_create(kind=kind, defaults={"amount": Decimal(amount)})


def test_a_refund_above_the_threshold_waits_and_is_carried_out_once_by_another_person(
    ops, gateway, django_capture_on_commit_callbacks
):
    loan, _ = overpaid_loan("1000.00")
    requester, approver = ops
    refund = refunds.request_refund(loan=loan, amount=Decimal("1000.00"), actor=requester)
    approval = Approval.objects.get()
    assert (approval.kind, approval.status, approval.amount, approval.proposed_by) == (
        "refund",
        Approval.Status.PROPOSED,
        Decimal("1000.00"),
        requester,
    )
    assert approvals.open_for(refund) == approval

    with pytest.raises(ValidationError, match="someone other than the proposer"):
        approvals.approve(approval=approval, actor=requester)
    with pytest.raises(PermissionDenied):
        approvals.approve(approval=approval, actor=factories.staff("客服 Customer service"))
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PENDING_APPROVAL and gateway == []

    with django_capture_on_commit_callbacks(execute=True):
        approvals.approve(approval=approval, actor=approver, note="statement checked")
    refund.refresh_from_db()
    approval.refresh_from_db()
    assert refund.status == Refund.Status.SENT and refund.decided_by == approver
    assert (approval.status, approval.decided_by) == (Approval.Status.APPROVED, approver)
    assert len(gateway) == 1

    # Approving again: refused, nothing sent a second time.
    with pytest.raises(ValidationError, match="already decided"):
        approvals.approve(approval=approval, actor=approver)
    with pytest.raises(ValidationError, match="only one waiting for approval"):
        refunds.approve_refund(refund=refund, actor=approver)
    assert len(gateway) == 1
    codes = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert codes == ["refund.request", "approval.propose", "refund.approve", "approval.approve"]


def test_a_rejection_needs_a_note_and_leaves_the_ledger_alone(ops, gateway):
    loan, _ = overpaid_loan("1000.00")
    requester, checker = ops
    refund = refunds.request_refund(loan=loan, amount=Decimal("1000.00"), actor=requester)
    approval = approvals.open_for(refund)
    before = ledger(loan)
    with pytest.raises(ValidationError, match="Say why"):
        approvals.reject(approval=approval, actor=checker, note="  ")
    approvals.reject(approval=approval, actor=checker, note="the payment bounced")
    refund.refresh_from_db()
    approval.refresh_from_db()
    assert refund.status == Refund.Status.REJECTED and approval.status == Approval.Status.REJECTED
    assert approval.decision_note == "the payment bounced"
    assert ledger(loan) == before and gateway == []
    assert refunds.refundable_amount(loan=loan) == Decimal("1000.00")
    assert reconcile.differences() == []


def test_thresholds_are_editable_and_below_them_nothing_waits(ops, gateway):
    set_threshold("refund", "2000.00")
    loan, _ = overpaid_loan("1000.00")
    refund = refunds.request_refund(loan=loan, amount=Decimal("1000.00"), actor=ops[0])
    assert refund.status == Refund.Status.SENT and not Approval.objects.exists()
    set_threshold("refund", "0.00")
    other, _ = overpaid_loan("0.01")
    refund = refunds.request_refund(loan=other, amount=Decimal("0.01"), actor=ops[0])
    assert refund.status == Refund.Status.PENDING_APPROVAL and Approval.objects.count() == 1


def test_only_a_superuser_changes_a_threshold_in_the_admin(client):
    row = ApprovalThreshold.objects.get(kind="refund")
    url = reverse("admin:loans_approvalthreshold_change", args=[row.pk])
    client.force_login(factories.staff(OPS))
    assert client.post(url, {"amount": "1.00"}).status_code == 403
    client.force_login(factories.staff(superuser=True))
    assert client.post(url, {"amount": "800.00"}).status_code == 302
    assert approvals.threshold("refund") == Decimal("800.00")
    assert AuditEvent.objects.filter(action="object.change").exists()


def test_a_manual_posting_above_the_threshold_is_posted_once_on_approval(ops):
    set_threshold("manual_posting", "1000.00")
    with time_machine.travel(DRAWN):
        loan = factories.loan(on=DRAWN)
    maker, checker = ops
    figures = {
        "loan": loan,
        "amount": Decimal("1000.00"),
        "channel": "counter",
        "external_id": "C-1",
        "value_date": TODAY,
    }
    assert approvals.post_manual_repayment(**figures, actor=maker)[0] == "posted"  # at N: at once
    before = ledger(loan)
    outcome, approval, _ = approvals.post_manual_repayment(
        **{**figures, "amount": Decimal("1500.00"), "external_id": "C-2"}, actor=maker
    )
    assert outcome == "proposed" and not Repayment.objects.filter(external_id="C-2").exists()
    assert ledger(loan) == before
    with pytest.raises(ValidationError, match="already waiting"):
        approvals.post_manual_repayment(
            **{**figures, "amount": Decimal("1500.00"), "external_id": "C-2"}, actor=maker
        )
    with pytest.raises(ValidationError, match="someone other than the proposer"):
        approvals.approve(approval=approval, actor=maker)

    approvals.approve(approval=approval, actor=checker)
    posted = Repayment.objects.get(external_id="C-2")
    assert (posted.amount, posted.loan, posted.value_date) == (Decimal("1500.00"), loan, TODAY)
    with pytest.raises(ValidationError):
        approvals.approve(approval=approval, actor=checker)
    assert Repayment.objects.filter(external_id="C-2").count() == 1
    assert reconcile.differences() == []


def test_a_manual_posting_whose_id_was_posted_meanwhile_is_recorded_as_failed(ops):
    set_threshold("manual_posting", "100.00")
    with time_machine.travel(DRAWN):
        loan = factories.loan(on=DRAWN)
    figures = {"loan": loan, "channel": "counter", "external_id": "C-9", "value_date": TODAY}
    _, approval, _ = approvals.post_manual_repayment(
        **figures, amount=Decimal("500.00"), actor=ops[0]
    )
    from loans.services.repayments import post_repayment

    post_repayment(**figures, amount=Decimal("500.00"))  # the channel's own file got in first
    approvals.approve(approval=approval, actor=ops[1])
    approval.refresh_from_db()
    assert approval.status == Approval.Status.FAILED and "already posted" in approval.decision_note
    assert Repayment.objects.filter(external_id="C-9").count() == 1


def test_every_write_off_waits_for_approval(ops):
    from tests.loans.test_write_off import DAY, at, eod

    with at(DRAWN):
        loan = factories.loan(on=DRAWN)
    eod(DAY)
    proposer, approver = factories.staff(RISK), factories.staff(RISK)
    with at(DAY):
        proposal = write_offs.propose_write_off(loan=loan, actor=proposer, reason="no contact")
        approval = approvals.open_for(proposal)
        assert approval.kind == "write_off" and approval.proposed_by == proposer
        with pytest.raises(ValidationError, match="someone other than the proposer"):
            approvals.approve(approval=approval, actor=proposer)
        approvals.approve(approval=approval, actor=approver)
    proposal.refresh_from_db()
    assert proposal.status == WriteOff.Status.APPROVED and proposal.decided_by == approver


def test_the_approvals_list_is_oldest_first_and_refuses_the_proposer(client, ops, gateway):
    requester, approver = ops
    for excess in ("1000.00", "2000.00"):
        loan, _ = overpaid_loan(excess)
        refunds.request_refund(loan=loan, amount=Decimal(excess), actor=requester)
    Approval.objects.filter(amount=Decimal("2000.00")).update(
        proposed_at=datetime(2026, 1, 20, 9, tzinfo=SHANGHAI)
    )
    url = reverse("admin:loans_approval_changelist")
    client.force_login(requester)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    listed = client.get(url)
    rows = list(listed.context["cl"].result_list)
    assert [a.amount for a in rows] == [Decimal("2000.00"), Decimal("1000.00")]
    assert "6 d 1 h" in listed.content.decode()  # the oldest one's age
    mine = client.get(url, {"decide": "mine"})
    assert list(mine.context["cl"].result_list) == []  # nothing of their own to decide

    oldest = rows[0]
    refused = client.post(
        url, {"action": "approve", "_selected_action": [oldest.pk], "apply": "1"}, follow=True
    )
    assert "someone other than the proposer" in refused.content.decode()
    oldest.refresh_from_db()
    assert oldest.status == Approval.Status.PROPOSED

    client.force_login(approver)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert len(client.get(url, {"decide": "mine"}).context["cl"].result_list) == 2
    no_note = client.post(url, {"action": "reject", "_selected_action": [oldest.pk], "apply": "1"})
    assert no_note.status_code == 200 and no_note.context["form"].errors["note"]
    client.post(url, {"action": "approve", "_selected_action": [oldest.pk], "apply": "1"})
    oldest.refresh_from_db()
    assert oldest.status == Approval.Status.APPROVED and oldest.decided_by == approver
    assert Refund.objects.get(amount=Decimal("2000.00")).status == Refund.Status.SENT
    detail = client.get(reverse("admin:loans_approval_change", args=[oldest.pk]))
    assert detail.status_code == 200


def test_the_auditor_sees_every_proposal_and_decides_none(client, ops, gateway):
    loan, _ = overpaid_loan("1000.00")
    refunds.request_refund(loan=loan, amount=Decimal("1000.00"), actor=ops[0])
    client.force_login(factories.staff("合规审计 Auditor"))
    url = reverse("admin:loans_approval_changelist")
    page = client.get(url)
    assert page.status_code == 200 and len(page.context["cl"].result_list) == 1
    assert page.context["action_form"] is None  # no approve, reject, claim or release
    [approval] = page.context["cl"].result_list
    client.post(url, {"action": "approve", "_selected_action": [approval.pk], "apply": "1"})
    approval.refresh_from_db()
    assert approval.status == Approval.Status.PROPOSED


def test_awaiting_counts_what_each_person_may_decide(ops, gateway):
    loan, _ = overpaid_loan("1000.00")
    refunds.request_refund(loan=loan, amount=Decimal("1000.00"), actor=ops[0])
    [row] = approvals.awaiting(ops[1])
    assert (row["kind"], row["count"], row["mine_to_decide"]) == ("refund", 1, 1)
    assert approvals.awaiting(ops[0])[0]["mine_to_decide"] == 0
    assert approvals.awaiting(factories.staff("客服 Customer service")) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_carry_it_out_once():
    set_threshold("manual_posting", "100.00")
    with time_machine.travel(DRAWN):
        loan = factories.loan(on=DRAWN)
    maker = factories.staff(superuser=True)
    _, approval, _ = approvals.post_manual_repayment(
        loan=loan,
        amount=Decimal("500.00"),
        channel="counter",
        external_id="RACE-1",
        value_date=TODAY,
        actor=maker,
    )
    checkers = [factories.staff(superuser=True) for _ in range(2)]
    barrier = threading.Barrier(2)
    results = []

    def approve(checker):
        try:
            barrier.wait()
            approvals.approve(approval=approval, actor=checker)
            results.append("ok")
        except ValidationError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(c,)) for c in checkers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["ok", "refused"]
    assert Repayment.objects.filter(external_id="RACE-1").count() == 1
    assert AuditEvent.objects.filter(action="approval.approve").count() == 1
