"""Refunds of money paid beyond everything owed: sent once through the gateway, maker-checker
above the threshold, never more than there is to refund, reconciled, and what a reversal of
refunded money does."""

import json
import threading
import time
from datetime import date, datetime
from datetime import time as dt_time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils.module_loading import import_string

from loans import reconcile
from loans.gateway import sandbox, signing
from loans.models import GatewayNotification, LoanTransaction, Refund
from loans.services import refunds
from loans.services.repayments import post_repayment, reverse_repayment
from tests import factories

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
DRAWN = date(2026, 1, 15)
PAID_ON = date(2026, 1, 25)
# 10,000.00 drawn at 0.05 %/day: settled ten days later by 10,000.00 + 50.00 interest.
SETTLES = Decimal("10050.00")
OPS = "贷款运营 Loan operations"
WEBHOOK = "/gateway/refunds/webhook/"
Outcome = GatewayNotification.Outcome


@pytest.fixture(autouse=True)
def later():
    """Every test runs on the morning after the overpayment."""
    with time_machine.travel(datetime.combine(date(2026, 1, 26), dt_time(10), SHANGHAI)):
        yield


@pytest.fixture
def gateway_queue(monkeypatch):
    """The sandbox queues its signed answers for the task cluster; here each is delivered the
    moment it is queued, and remembered."""
    queued = []

    def deliver_now(func, *args, **kwargs):
        queued.append(args)
        import_string(func)(*args)

    monkeypatch.setattr(sandbox, "async_task", deliver_now)
    return queued


@pytest.fixture
def ops():
    return factories.staff(OPS), factories.staff(OPS)


def overpaid_loan(excess: str = "300.00", *, card_last4: str | None = None):
    """A loan settled by a payment `excess` beyond what settled it."""
    with time_machine.travel(DRAWN):
        loan = factories.loan(on=DRAWN)
    if card_last4:
        factories.bank_card(loan.borrower, number=factories.card_number(last4=card_last4))
    with time_machine.travel(PAID_ON):
        repayment, _ = post_repayment(
            loan=loan,
            amount=SETTLES + Decimal(excess),
            channel="bank_card",
            external_id=f"T-{loan.pk}-over",
            value_date=PAID_ON,
        )
    assert repayment.settled_loan and repayment.unapplied == Decimal(excess)
    return loan, repayment


def refund_rows(loan):
    return list(
        LoanTransaction.objects.filter(loan=loan, kind=LoanTransaction.Kind.REFUND).values_list(
            "amount", flat=True
        )
    )


def assert_reconciled():
    assert reconcile.differences() == []


def test_a_refund_below_the_threshold_goes_out_once_even_if_requested_and_delivered_twice(
    ops, gateway_queue, django_capture_on_commit_callbacks
):
    loan, _ = overpaid_loan("300.00")
    requester, _ = ops
    with django_capture_on_commit_callbacks(execute=True):
        refund = refunds.request_refund(
            loan=loan, amount=Decimal("300.00"), actor=requester, reference="FORM-1"
        )
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PAID and not refund.needs_approval
    assert refund.bank_card.borrower == loan.borrower
    assert len(gateway_queue) == 1
    assert refund_rows(loan) == [Decimal("300.00")]
    assert refunds.to_refund(loan=loan) == 0

    # The same form posted again: the same refund, nothing sent.
    with django_capture_on_commit_callbacks(execute=True):
        again = refunds.request_refund(
            loan=loan, amount=Decimal("300.00"), actor=requester, reference="FORM-1"
        )
    assert again.pk == refund.pk and len(gateway_queue) == 1

    # The gateway delivers its answer again, and then a second event for the same refund.
    (body,) = gateway_queue[0]
    deliver = import_string(sandbox.REFUND_DELIVERY_TASK)
    assert deliver(body).startswith(Outcome.DUPLICATE)
    assert deliver(json.dumps({**json.loads(body), "event_id": "another-event"})).startswith(
        Outcome.DUPLICATE
    )
    outcomes = list(GatewayNotification.objects.order_by("id").values_list("outcome", flat=True))
    assert outcomes == [Outcome.ACCEPTED, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert refund_rows(loan) == [Decimal("300.00")]

    # A new request for the same money finds nothing left to refund.
    with pytest.raises(ValidationError) as refused:
        refunds.request_refund(loan=loan, amount=Decimal("300.00"), actor=requester)
    assert "more than this loan has to refund: ¥0.00" in str(refused.value)
    assert Refund.objects.count() == 1
    assert_reconciled()


def test_the_sandbox_answer_is_signed_when_delivered_so_a_slow_queue_does_not_stale_it(
    ops, monkeypatch, django_capture_on_commit_callbacks
):
    loan, _ = overpaid_loan("300.00")
    queued = []
    monkeypatch.setattr(sandbox, "async_task", lambda func, *args, **kw: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        refund = refunds.request_refund(loan=loan, amount=Decimal("300.00"), actor=ops[0])
    assert refund.status == Refund.Status.SENT and len(queued) == 1
    with time_machine.travel(datetime.combine(date(2026, 1, 26), dt_time(14), SHANGHAI)):
        assert import_string(sandbox.REFUND_DELIVERY_TASK)(*queued[0]).startswith("accepted")
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PAID


def test_a_refund_at_the_threshold_goes_out_on_request(ops, gateway_queue, settings):
    settings.REFUND_APPROVAL_THRESHOLD = Decimal("300.00")
    loan, _ = overpaid_loan("300.00")
    refund = refunds.request_refund(loan=loan, amount=Decimal("300.00"), actor=ops[0])
    assert refund.status == Refund.Status.SENT and not refund.needs_approval


def test_above_the_threshold_a_refund_waits_for_approval_by_another_person(
    ops, gateway_queue, django_capture_on_commit_callbacks
):
    loan, _ = overpaid_loan("1000.00")
    requester, approver = ops
    with django_capture_on_commit_callbacks(execute=True):
        refund = refunds.request_refund(loan=loan, amount=Decimal("1000.00"), actor=requester)
    assert refund.status == Refund.Status.PENDING_APPROVAL and refund.needs_approval
    assert gateway_queue == [] and refund_rows(loan) == []
    # Waiting, it holds the money: nothing more can be asked for.
    assert refunds.refundable_amount(loan=loan) == 0
    assert refunds.to_refund(loan=loan) == Decimal("1000.00")
    assert_reconciled()

    with django_capture_on_commit_callbacks(execute=True):
        refunds.approve_refund(refund=refund, actor=approver, note="checked the statement")
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PAID
    assert (refund.requested_by, refund.decided_by) == (requester, approver)
    assert len(gateway_queue) == 1 and refund_rows(loan) == [Decimal("1000.00")]
    assert_reconciled()


def test_the_requester_cannot_approve_their_own_refund(ops, gateway_queue):
    loan, _ = overpaid_loan("1000.00")
    requester, _ = ops
    refund = refunds.request_refund(loan=loan, amount=Decimal("1000.00"), actor=requester)
    with pytest.raises(ValidationError, match="someone other than its requester"):
        refunds.approve_refund(refund=refund, actor=requester)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PENDING_APPROVAL and refund.decided_by is None
    assert gateway_queue == []


def test_a_refund_cannot_exceed_what_there_is_to_refund(ops, gateway_queue):
    loan, _ = overpaid_loan("300.00")
    requester, _ = ops
    for amount in ["300.01", "0.00", "-5.00", "0.001"]:
        with pytest.raises(ValidationError) as refused:
            refunds.request_refund(loan=loan, amount=Decimal(amount), actor=requester)
        assert "amount" in refused.value.error_dict
    refunds.request_refund(loan=loan, amount=Decimal("200.00"), actor=requester)
    with pytest.raises(ValidationError, match="¥100.01 is more than this loan has to refund"):
        refunds.request_refund(loan=loan, amount=Decimal("100.01"), actor=requester)
    refunds.request_refund(loan=loan, amount=Decimal("100.00"), actor=requester)
    assert sum(Refund.objects.values_list("amount", flat=True)) == Decimal("300.00")

    # A loan that never received more than it owed has nothing to refund at all.
    with time_machine.travel(DRAWN):
        other = factories.loan(on=DRAWN)
    with pytest.raises(ValidationError, match="¥0.00"):
        refunds.request_refund(loan=other, amount=Decimal("1.00"), actor=requester)
    assert_reconciled()


def test_a_failed_refund_frees_its_amount_and_posts_nothing(
    ops, gateway_queue, django_capture_on_commit_callbacks
):
    loan, _ = overpaid_loan("300.00", card_last4="0000")
    with django_capture_on_commit_callbacks(execute=True):
        refund = refunds.request_refund(loan=loan, amount=Decimal("300.00"), actor=ops[0])
    refund.refresh_from_db()
    assert refund.status == Refund.Status.FAILED
    assert refund.failure_reason == sandbox.REFUND_FAILURE_REASON
    assert refund_rows(loan) == [] and refunds.refundable_amount(loan=loan) == Decimal("300.00")
    assert_reconciled()


def test_reconcile_is_clean_after_a_refund_and_finds_one_the_ledger_does_not_match(
    ops, gateway_queue, django_capture_on_commit_callbacks
):
    loan, _ = overpaid_loan("300.00")
    with django_capture_on_commit_callbacks(execute=True):
        refund = refunds.request_refund(loan=loan, amount=Decimal("120.00"), actor=ops[0])
    assert_reconciled()
    # A REFUND row beyond the paid refunds takes "to refund" below zero: both are reported.
    LoanTransaction.objects.create(
        loan=loan, kind=LoanTransaction.Kind.REFUND, value_date=PAID_ON, amount=Decimal("200")
    )
    found = reconcile.differences()
    assert any(f"loan {loan.pk}: received 300.00" in line for line in found)
    Refund.objects.filter(pk=refund.pk).update(ledger_entry=None)
    assert any(line.startswith(f"refund {refund.reference}") for line in reconcile.differences())


def test_reversing_a_payment_whose_excess_was_refunded_is_refused(
    ops, gateway_queue, django_capture_on_commit_callbacks
):
    loan, repayment = overpaid_loan("300.00")
    with django_capture_on_commit_callbacks(execute=True):
        refunds.request_refund(loan=loan, amount=Decimal("100.00"), actor=ops[0])
    with pytest.raises(ValidationError) as refused:
        reverse_repayment(repayment=repayment, reason="bounced")
    assert "¥100.00 of the ¥300.00 this payment brought beyond what was owed" in str(refused.value)
    repayment.refresh_from_db()
    loan.refresh_from_db()
    assert repayment.status == repayment.Status.POSTED and loan.status == loan.Status.SETTLED
    assert_reconciled()


def test_a_refund_waiting_for_approval_blocks_a_reversal_until_it_is_rejected(ops):
    loan, repayment = overpaid_loan("1000.00")
    requester, checker = ops
    refund = refunds.request_refund(loan=loan, amount=Decimal("1000.00"), actor=requester)
    with pytest.raises(ValidationError, match="Reject a refund that is still waiting"):
        reverse_repayment(repayment=repayment, reason="bounced")
    with pytest.raises(ValidationError):
        refunds.reject_refund(refund=refund, actor=checker, note="")
    refunds.reject_refund(refund=refund, actor=checker, note="the payment bounced")
    reverse_repayment(repayment=repayment, reason="bounced")
    loan.refresh_from_db()
    assert loan.status == loan.Status.ACTIVE and refunds.to_refund(loan=loan) == 0
    assert_reconciled()


def test_the_refund_webhook_checks_signatures_and_references(client, ops):
    loan, _ = overpaid_loan("300.00")
    refund = refunds.request_refund(loan=loan, amount=Decimal("300.00"), actor=ops[0])
    payload = {
        "event_id": "evt-r1",
        "gateway_ref": refund.reference,
        "status": "succeeded",
        "amount": "300.00",
        "paid_at": None,
        "failure_reason": "",
    }

    def post(data, *, secret=settings.PAYMENT_GATEWAY_WEBHOOK_SECRET):
        body = json.dumps(data).encode()
        ts = int(time.time())
        return client.post(
            WEBHOOK,
            data=body,
            content_type="application/json",
            headers={"X-Signature": signing.sign(body, ts, secret), "X-Timestamp": str(ts)},
        )

    assert post(payload, secret="not-the-secret").status_code == 401
    assert post({**payload, "event_id": "evt-x", "gateway_ref": "RF-NOPE"}).status_code == 404
    assert post({**payload, "event_id": "evt-y", "amount": "299.00"}).status_code == 409
    assert refund_rows(loan) == []
    assert post(payload).status_code == 200
    assert post(payload).status_code == 200  # a re-delivery: acknowledged, no effect
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PAID and refund_rows(loan) == [Decimal("300.00")]
    assert refund.notification.event_id == "evt-r1"
    assert_reconciled()


def test_admin_requests_a_refund_of_all_there_is_and_another_person_approves_it(
    client, ops, gateway_queue
):
    loan, _ = overpaid_loan("1000.00")
    requester, approver = ops
    client.force_login(requester)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the asserts read English
    add = reverse("admin:loans_refund_add")
    page = client.get(f"{add}?loan={loan.pk}")
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["amount"] == Decimal("1000.00") and form.initial["loan"] == loan.pk
    assert f"?loan={loan.pk}" in page.content.decode()  # listed as a loan with money to refund
    data = {"loan": loan.pk, "amount": "", "reason": "overpaid", "reference": "RF-ADMIN-1"}
    assert client.post(add, data).status_code == 302
    assert client.post(add, data).status_code == 302  # posted twice: still one refund
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.requested_by) == (
        Decimal("1000.00"),
        Refund.Status.PENDING_APPROVAL,
        requester,
    )

    changelist = reverse("admin:loans_refund_changelist")
    action = {"action": "approve", "_selected_action": [refund.pk]}
    response = client.post(changelist, action, follow=True)
    assert "someone other than its requester" in response.content.decode()
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PENDING_APPROVAL

    client.force_login(approver)

    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the asserts read English
    client.post(changelist, action)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SENT and refund.decided_by == approver


def test_admin_refuses_a_refund_beyond_what_there_is_on_the_form(client, ops):
    loan, _ = overpaid_loan("300.00")
    client.force_login(ops[0])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the asserts read English
    response = client.post(
        reverse("admin:loans_refund_add"),
        {"loan": loan.pk, "amount": "300.01", "reference": "RF-ADMIN-2"},
    )
    assert response.status_code == 200
    assert "more than this loan has to refund" in response.content.decode()
    assert not Refund.objects.exists()


def test_only_staff_with_the_permission_see_the_request_form_and_the_approve_action(client):
    service = factories.staff("客服 Customer service")
    client.force_login(service)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the asserts read English
    assert client.get(reverse("admin:loans_refund_changelist")).status_code == 200
    assert client.get(reverse("admin:loans_refund_add")).status_code == 403
    auditor = factories.staff("合规审计 Auditor")
    assert not auditor.has_perm("loans.approve_refund") and auditor.has_perm("loans.view_refund")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_cannot_both_take_the_same_money():
    loan, _ = overpaid_loan("300.00")
    requester = factories.staff()  # a flushed database has no groups; the service needs none
    barrier = threading.Barrier(2)
    results = []

    def request(reference):
        try:
            barrier.wait()
            refunds.request_refund(
                loan=loan, amount=Decimal("300.00"), actor=requester, reference=reference
            )
            results.append("ok")
        except ValidationError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=request, args=(f"RF-RACE-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["ok", "refused"]
    assert Refund.objects.count() == 1


@pytest.mark.parametrize("loan_id", ["abc", "99999999999999999999", "-1", "1\x00"])
def test_the_request_form_answers_hostile_loan_ids_without_failing(client, ops, loan_id):
    client.force_login(ops[0])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the asserts read English
    add = reverse("admin:loans_refund_add")
    assert client.get(add, {"loan": loan_id}).status_code in (200, 400)
    response = client.post(add, {"loan": loan_id, "amount": "1", "reference": "RF-H"})
    assert response.status_code in (200, 400) and not Refund.objects.exists()
