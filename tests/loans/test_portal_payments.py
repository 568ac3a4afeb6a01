"""The borrower's own card payment (request_portal_payment), charged through the sandbox gateway
and posted through its signed webhook: once per form token, never above what settles the
loan, posted as a card payment with its receipt SMS; and auto-debit leaving alone the
borrowers who turned it off."""

import secrets
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.module_loading import import_string

from loans import reconcile, selectors
from loans.gateway import sandbox
from loans.models import (
    Borrower,
    Channel,
    DebitAttempt,
    GatewayNotification,
    Loan,
    Repayment,
)
from loans.services import payments
from notifications.models import SmsMessage
from tests import factories

pytestmark = pytest.mark.django_db
DRAWN = date(2026, 1, 15)
BILL_DUE = date(2026, 2, 15)  # instalment 1: 1,084.34 (934.34 principal + 150.00 interest)
EARLY = date(2026, 2, 12)  # the bill is open (it opens 7 days before)


@pytest.fixture
def delivered(monkeypatch):
    """The sandbox's signed answers, delivered through the webhook handler the moment they are
    queued (as tests/loans/test_gateway.py does), and remembered."""
    queued = []

    def deliver_now(func, *args, **kwargs):
        queued.append(args[0])
        import_string(func)(*args)

    monkeypatch.setattr(sandbox, "async_task", deliver_now)
    return queued


@pytest.fixture
def undelivered(monkeypatch):
    """The sandbox's answers are queued and never delivered: charges stay "requested"."""
    queued = []
    monkeypatch.setattr(sandbox, "async_task", lambda func, *args, **kwargs: queued.append(args))
    return queued


@pytest.fixture
def loan():
    with time_machine.travel(DRAWN):
        return factories.loan(on=DRAWN)  # ¥10,000, 10 equal instalments, 0.05 %/day


def pay(loan, amount, on, capture, token=None):
    token = secrets.token_hex(16) if token is None else token
    with time_machine.travel(on), capture(execute=True):
        return payments.request_portal_payment(
            loan=loan, amount=Decimal(amount), token=token, on=on
        )


def test_paying_the_bill_is_charged_and_posted_as_a_card_payment_with_a_receipt(
    loan, delivered, django_capture_on_commit_callbacks, sms_outbox
):
    token = secrets.token_hex(16)
    attempt = pay(loan, "1084.34", EARLY, django_capture_on_commit_callbacks, token=token)
    attempt.refresh_from_db()
    assert attempt.gateway_ref == f"PP-{loan.pk}-{token}"
    assert attempt.slot == DebitAttempt.Slot.PORTAL and attempt.business_date == EARLY
    assert attempt.status == DebitAttempt.Status.SUCCEEDED
    assert GatewayNotification.objects.get().outcome == GatewayNotification.Outcome.ACCEPTED
    r = attempt.repayment
    assert r.channel == Channel.BANK_CARD and r.value_date == EARLY
    assert (r.amount, r.interest, r.principal, r.prepaid_principal, r.unapplied) == (
        Decimal("1084.34"),
        Decimal("150.00"),
        Decimal("934.34"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    # The receipt is queued and, being the borrower's own action, sent at once.
    sms = SmsMessage.objects.get(template="repayment_received")
    assert sms.dedupe_key == f"repayment:{r.pk}"
    assert "1084.34" in sms.text and "9065.66" in sms.text  # paid, principal left
    assert any("1084.34" in m.text for m in sms_outbox)
    assert reconcile.differences() == []


def test_settling_today_settles_and_texts_the_settlement(
    loan, delivered, django_capture_on_commit_callbacks
):
    with time_machine.travel(EARLY):
        settle = selectors.repayment_figures(loan=loan, on=EARLY).settle
    assert settle == Decimal("10140.00")  # 28 days of interest since drawdown
    attempt = pay(loan, settle, EARLY, django_capture_on_commit_callbacks)
    attempt.refresh_from_db()
    loan.refresh_from_db()
    assert loan.status == Loan.Status.SETTLED and attempt.repayment.settled_loan
    assert attempt.repayment.unapplied == 0
    assert SmsMessage.objects.filter(template="loan_settled", dedupe_key=f"settled:{loan.pk}")
    assert not SmsMessage.objects.filter(template="repayment_received").exists()


def test_the_same_token_charges_once(loan, delivered, django_capture_on_commit_callbacks):
    token = secrets.token_hex(16)
    first = pay(loan, "500.00", EARLY, django_capture_on_commit_callbacks, token=token)
    again = pay(loan, "500.00", EARLY, django_capture_on_commit_callbacks, token=token)
    other_amount = pay(loan, "700.00", EARLY, django_capture_on_commit_callbacks, token=token)
    assert first.pk == again.pk == other_amount.pk
    assert DebitAttempt.objects.count() == 1 and Repayment.objects.count() == 1
    assert len(delivered) == 1  # the gateway was asked once


def test_a_payment_still_processing_blocks_another(
    loan, undelivered, django_capture_on_commit_callbacks
):
    pay(loan, "300.00", EARLY, django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError, match="still being processed"):
        pay(loan, "300.00", EARLY, django_capture_on_commit_callbacks)
    assert DebitAttempt.objects.count() == 1 and len(undelivered) == 1
    # A charge the gateway never answered does not block the borrower for ever.
    later = EARLY + timedelta(days=1)
    assert pay(loan, "300.00", later, django_capture_on_commit_callbacks).business_date == later


@pytest.mark.parametrize(
    "amount, message",
    [
        ("10140.01", "settles it today"),
        ("0", "above ¥0"),
        ("-1", "above ¥0"),
        ("1.005", "2 decimal places"),
        ("NaN", "above ¥0"),
        ("1E+20", "above ¥0"),
    ],
)
def test_amounts_beyond_the_settlement_or_not_in_fen_are_refused(
    loan, django_capture_on_commit_callbacks, amount, message
):
    with pytest.raises(ValidationError, match=message):
        pay(loan, amount, EARLY, django_capture_on_commit_callbacks)
    assert not DebitAttempt.objects.exists()


@pytest.mark.parametrize("token", ["", "abc", "G" * 32, "0" * 31, "0" * 33, "0" * 31 + "\x00"])
def test_a_malformed_token_is_refused(loan, django_capture_on_commit_callbacks, token):
    with pytest.raises(ValidationError, match="no longer valid"):
        pay(loan, "100.00", EARLY, django_capture_on_commit_callbacks, token=token)
    assert not DebitAttempt.objects.exists()


def test_no_default_card_is_its_own_refusal(loan, django_capture_on_commit_callbacks):
    loan.borrower.bank_cards.update(is_default=False)
    with pytest.raises(payments.NoPaymentCard):
        pay(loan, "100.00", EARLY, django_capture_on_commit_callbacks)
    assert not DebitAttempt.objects.exists()


def test_a_settled_loan_takes_no_portal_payment(
    loan, delivered, django_capture_on_commit_callbacks
):
    pay(loan, "10140.00", EARLY, django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError, match="no more payments"):
        pay(loan, "1.00", EARLY + timedelta(days=1), django_capture_on_commit_callbacks)
    assert DebitAttempt.objects.count() == 1


def test_auto_debit_skips_borrowers_who_turned_it_off(loan, django_capture_on_commit_callbacks):
    with time_machine.travel(DRAWN):
        other = factories.loan(on=DRAWN)
    Borrower.objects.filter(pk=other.borrower_id).update(auto_debit=False)
    for slot in (DebitAttempt.Slot.DUE_MORNING, DebitAttempt.Slot.DUE_EVENING):
        due = payments.auto_debits_due(slot=slot, business_date=BILL_DUE)
        assert [(d.loan.pk, d.amount) for d in due] == [(loan.pk, Decimal("1084.34"))]
    due = payments.auto_debits_due(
        slot=DebitAttempt.Slot.NEXT_MORNING, business_date=BILL_DUE + timedelta(days=1)
    )
    assert [d.loan.pk for d in due] == [loan.pk]
    Borrower.objects.filter(pk=other.borrower_id).update(auto_debit=True)
    due = payments.auto_debits_due(slot=DebitAttempt.Slot.DUE_MORNING, business_date=BILL_DUE)
    assert sorted(d.loan.pk for d in due) == sorted([loan.pk, other.pk])


def test_auto_debit_is_still_posted_as_auto_debit(
    loan, delivered, django_capture_on_commit_callbacks
):
    with time_machine.travel(BILL_DUE), django_capture_on_commit_callbacks(execute=True):
        attempt = payments.request_auto_debit(
            loan=loan,
            business_date=BILL_DUE,
            slot=DebitAttempt.Slot.DUE_MORNING,
            amount=Decimal("1084.34"),
        )
    attempt.refresh_from_db()
    assert attempt.repayment.channel == Channel.AUTO_DEBIT


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submits_of_one_form_charge_once(loan, undelivered):
    token, barrier, attempts = secrets.token_hex(16), threading.Barrier(2), []

    def submit():
        try:
            barrier.wait()
            with time_machine.travel(EARLY):
                attempts.append(
                    payments.request_portal_payment(
                        loan=loan, amount=Decimal("1084.34"), token=token, on=EARLY
                    ).pk
                )
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(attempts) == 2 and len(set(attempts)) == 1
    assert DebitAttempt.objects.count() == 1 and len(undelivered) == 1
