"""A connection cut (pg_terminate_backend, as in a failover or a network break) in the middle
of a payment posting, a gateway delivery and an end-of-day run: nothing of it is left behind,
and doing it again with the same transaction id, event or date gives the right result once."""

import json
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import transaction
from django.db.utils import DatabaseError

from loans.gateway import signing
from loans.models import (
    BusinessDay,
    DebitAttempt,
    GatewayNotification,
    Instalment,
    Loan,
    LoanTransaction,
    Repayment,
)
from loans.services import webhooks
from loans.services.repayments import post_repayment

from .support import (
    VALUE_DATE,
    assert_reconciled,
    day_figures,
    in_thread,
    ledger_state,
    make_loan,
    pause_in,
    portal_attempt,
    run_day,
    sleeping_backend,
    terminate_backend,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
AMOUNT = Decimal("1500.00")  # pays instalment 1 and part of instalment 2
# Pauses after the posting has written its repayment, instalments and loan, at its ledger rows.
AT_THE_LEDGER_ROWS = {"table": LoanTransaction._meta.db_table, "when": "NEW.kind = 'repayment'"}


def cut_mid_statement(work) -> list[BaseException]:
    """Run `work` in a thread, cut its connection while it is paused inside its transaction,
    and return what it raised."""
    thread, errors = in_thread(work)
    pid = sleeping_backend()
    terminate_backend(pid)
    thread.join(60)
    assert not thread.is_alive()
    return errors


def assert_connection_lost(errors):
    assert len(errors) == 1 and isinstance(errors[0], DatabaseError), errors


def post(loan, ext):
    return post_repayment(
        loan=loan, amount=AMOUNT, channel="wechat_pay", external_id=ext, value_date=VALUE_DATE
    )


def test_a_posting_cut_off_mid_transaction_leaves_nothing_and_posts_once_on_retry():
    loan, twin = make_loan(), make_loan()
    run_day(VALUE_DATE)
    before = ledger_state(loan)

    with pause_in(**AT_THE_LEDGER_ROWS):
        thread, errors = in_thread(lambda: post(loan, "WX-CUT"))
        pid = sleeping_backend()
        # The posting holds the loan's row lock while it is paused.
        with pytest.raises(DatabaseError), transaction.atomic():
            type(loan).objects.select_for_update(nowait=True).get(pk=loan.pk)
        terminate_backend(pid)
        thread.join(60)
        assert not thread.is_alive()
    assert_connection_lost(errors)

    # No repayment without its transactions, no instalment half paid.
    assert not Repayment.objects.filter(external_id="WX-CUT").exists()
    assert ledger_state(loan) == before
    assert_reconciled()

    repayment, posted = post(loan, "WX-CUT")
    assert posted and post(loan, "WX-CUT") == (repayment, False)
    post(twin, "WX-TWIN")
    assert ledger_state(loan) == ledger_state(twin)
    assert loan.instalments.get(number=1).status == Instalment.Status.PAID
    assert_reconciled()


def signed(attempt, event_id):
    body = json.dumps(
        {
            "event_id": event_id,
            "gateway_ref": attempt.gateway_ref,
            "status": "succeeded",
            "amount": str(attempt.amount),
            "failure_reason": "",
        }
    ).encode()
    ts = str(int(time.time()))
    return {
        "body": body,
        "timestamp": ts,
        "signature": signing.sign(body, ts, settings.PAYMENT_GATEWAY_WEBHOOK_SECRET),
        "remote_ip": "203.0.113.7",
    }


def test_a_gateway_delivery_cut_off_is_applied_once_when_the_gateway_sends_it_again():
    loan, twin = make_loan(), make_loan()
    run_day(VALUE_DATE)
    attempt = portal_attempt(loan, amount=AMOUNT, token="c" * 32)
    before = ledger_state(loan)

    with pause_in(**AT_THE_LEDGER_ROWS):
        delivery = signed(attempt, "evt-cut")
        errors = cut_mid_statement(lambda: webhooks.handle_gateway_notification(**delivery))
    assert_connection_lost(errors)

    # The event was not claimed, the attempt still waits, the loan is untouched: the
    # gateway's re-delivery (it got no 200) is not taken for a duplicate.
    assert not GatewayNotification.objects.filter(event_id="evt-cut").exists()
    attempt.refresh_from_db()
    assert (attempt.status, attempt.repayment) == (DebitAttempt.Status.REQUESTED, None)
    assert ledger_state(loan) == before

    again = webhooks.handle_gateway_notification(**signed(attempt, "evt-cut"))
    assert again.outcome == GatewayNotification.Outcome.ACCEPTED
    replay = webhooks.handle_gateway_notification(**signed(attempt, "evt-cut"))
    assert replay.outcome == GatewayNotification.Outcome.DUPLICATE
    attempt.refresh_from_db()
    assert attempt.status == DebitAttempt.Status.SUCCEEDED
    assert Repayment.objects.get(external_id=attempt.gateway_ref).amount == AMOUNT
    post(twin, "WX-TWIN")
    assert ledger_state(loan) == ledger_state(twin)
    assert_reconciled()


def test_an_end_of_day_cut_off_mid_run_leaves_no_partial_day_and_the_retry_does_it_once():
    loans = [make_loan(), make_loan(amount="3000")]
    run_day(VALUE_DATE)
    post(loans[1], "WX-PART")  # one loan brought up to date (and partly prepaid), one not
    day = VALUE_DATE.replace(day=25)  # five more days of penalty, DPD moves
    before = [ledger_state(loan) for loan in loans]
    # The control: the same day on the same portfolio, not interrupted, then rolled back.
    with transaction.atomic():
        control_day = day_figures(run_day(day).business_date)
        control = [ledger_state(loan) for loan in loans]
        transaction.set_rollback(True)
    assert [ledger_state(loan) for loan in loans] == before

    # Pauses at the first update of the loans (days past due, buckets), when the instalments'
    # statuses, the penalty rows and the penalty due have been written.
    with pause_in(Loan._meta.db_table, event="UPDATE"):
        errors = cut_mid_statement(lambda: run_day(day))
    assert_connection_lost(errors)
    assert not BusinessDay.objects.filter(business_date=day).exists()
    assert [ledger_state(loan) for loan in loans] == before
    assert_reconciled()

    assert run_day(day) is not None and run_day(day) is None
    assert day_figures(day) == control_day
    assert [ledger_state(loan) for loan in loans] == control
    assert_reconciled()
