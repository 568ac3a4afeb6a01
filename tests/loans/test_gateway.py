"""Auto-debit through the payment gateway: card binding, charging each slot once, and the signed,
idempotent webhook that reports the result."""

import hashlib
import hmac
import json
import logging
import threading
import time
from datetime import datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from stdnum import luhn

from loans import reconcile
from loans.gateway import sandbox, signing
from loans.gateway.base import GatewayBackend
from loans.models import (
    BankCard,
    Channel,
    DebitAttempt,
    GatewayNotification,
    LoanProduct,
    Repayment,
)
from loans.models.payments import card_number_index
from loans.services import cards, payments, webhooks
from loans.services import credit as credit_services
from loans.services import lending as lending_services
from tests import factories

pytestmark = pytest.mark.django_db
URL = "/gateway/webhook/"
Slot, Outcome = DebitAttempt.Slot, GatewayNotification.Outcome


def card_number(prefix: str = "622202123456789012") -> str:
    """A 19-digit UnionPay-style number whose Luhn check digit is right."""
    return prefix + luhn.calc_check_digit(prefix)


class RecordingGateway(GatewayBackend):
    """Remembers what it was asked to charge, and never answers."""

    charged: list[str] = []

    def charge(self, *, attempt):
        self.charged.append(attempt.gateway_ref)


@pytest.fixture
def recording_gateway(settings):
    settings.PAYMENT_GATEWAY_BACKEND = f"{__name__}.RecordingGateway"
    RecordingGateway.charged = []
    return RecordingGateway.charged


@pytest.fixture
def gateway_queue(monkeypatch):
    """The sandbox queues its signed answers for the task cluster; here each is delivered the
    moment it is queued, and remembered."""
    queued = []

    def deliver_now(func, *args, **kwargs):
        queued.append((func, *args))
        import_string(func)(*args)

    monkeypatch.setattr(sandbox, "async_task", deliver_now)
    return queued


@pytest.fixture
def loan():
    """A disbursed ¥10,000 loan over 10 equal instalments, built the way staff build one, paid
    to the borrower's verified card."""
    borrower = factories.borrower(income="20000", debts="1000", activity=90)
    credit_services.assess_credit(borrower=borrower)
    cards.bind_bank_card(
        borrower=borrower,
        bank_name="建设银行",
        card_number=card_number("622700123456789012"),
        token=f"tok-payout-{borrower.pk}",
    )
    product, _ = LoanProduct.objects.get_or_create(code="weilidai", defaults={"name": "微粒贷"})
    application = lending_services.apply_for_loan(
        borrower=borrower,
        product=product,
        amount=Decimal("10000.00"),
        term=10,
        method="equal_instalment",
    )
    lending_services.sign_contract(
        contract=application.contract, ip_address="10.0.0.8", user_agent="pytest"
    )
    return lending_services.disburse_loan(application=application)


@pytest.fixture
def card(loan):
    return cards.bind_bank_card(
        borrower=loan.borrower,
        bank_name="招商银行",
        card_number=card_number(),
        token=f"tok-{loan.pk}",
    )


@pytest.fixture
def attempt(loan, card, recording_gateway):
    """A charge sent to the gateway and waiting for its answer."""
    first = loan.instalments.get(number=1)
    return payments.request_auto_debit(
        loan=loan, business_date=first.due_date, slot=Slot.DUE_MORNING, amount=first.total_due
    )


def deliver(client, payload, *, timestamp=None, secret=None):
    """POST a notification signed the way the gateway signs (with `secret`, if given)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    signature = signing.sign(body, ts, secret or settings.PAYMENT_GATEWAY_WEBHOOK_SECRET)
    return client.post(
        URL,
        data=body,
        content_type="application/json",
        headers={"X-Signature": signature, "X-Timestamp": str(ts)},
        REMOTE_ADDR="203.0.113.7",
    )


def succeeded(attempt, *, event_id="evt-1"):
    return {
        "event_id": event_id,
        "gateway_ref": attempt.gateway_ref,
        "status": "succeeded",
        "amount": str(attempt.amount),
        "paid_at": timezone.now().isoformat(),
        "failure_reason": "",
    }


@pytest.fixture
def on_due_date():
    """Move the clock to 06:00 (Asia/Shanghai) of a date: the early-morning auto-debit run."""
    travellers = []

    def travel(day):
        moment = datetime.combine(day, dt_time(6, 0), tzinfo=ZoneInfo(settings.TIME_ZONE))
        travellers.append(time_machine.travel(moment, tick=True))
        travellers[-1].start()

    yield travel
    for traveller in travellers:
        traveller.stop()


# --- Signing -------------------------------------------------------------------------------


def test_a_signature_verifies_and_any_change_breaks_it():
    body, ts = b'{"event_id":"e1"}', 1_780_000_000
    sig = signing.sign(body, ts, "s3cret")
    # Hex HMAC-SHA256 over "timestamp.body", recomputed independently here.
    expected = hmac.new(b"s3cret", f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    assert sig == expected
    assert signing.verify(body, str(ts), sig, "s3cret", now=ts + 299) == ts
    with pytest.raises(signing.InvalidSignature):
        signing.verify(body + b" ", ts, sig, "s3cret", now=ts)
    with pytest.raises(signing.InvalidSignature):
        signing.verify(body, ts + 1, sig, "s3cret", now=ts)  # the timestamp is signed too
    with pytest.raises(signing.InvalidSignature):
        signing.verify(body, ts, sig, "other-secret", now=ts)
    with pytest.raises(signing.InvalidSignature):
        signing.verify(body, "yesterday", sig, "s3cret", now=ts)
    with pytest.raises(signing.StaleTimestamp):
        signing.verify(body, ts, sig, "s3cret", now=ts + 301)
    with pytest.raises(signing.StaleTimestamp):
        signing.verify(body, ts, sig, "s3cret", now=ts - 301)  # from the future


# --- The webhook refuses what it cannot trust ------------------------------------------------


def test_a_forged_notification_is_refused_logged_and_posts_nothing(client, attempt, caplog):
    with caplog.at_level(logging.WARNING, logger="loans.gateway"):
        response = deliver(client, succeeded(attempt), secret="not-the-gateway")
    assert response.status_code == 401 and response.json()["ok"] is False
    log = GatewayNotification.objects.get()
    assert log.outcome == Outcome.FORGED
    assert log.remote_ip == "203.0.113.7" and attempt.gateway_ref in log.body
    assert log.event_id is None  # an unverified call cannot claim (and block) a real event id
    assert "X-Signature" in log.headers and "X-Timestamp" in log.headers
    assert "Forged" in caplog.text
    attempt.refresh_from_db()
    assert attempt.status == DebitAttempt.Status.REQUESTED
    assert not Repayment.objects.exists()

    # No signature at all is no better.
    response = client.post(URL, data=b"{}", content_type="application/json")
    assert response.status_code == 401
    assert GatewayNotification.objects.filter(outcome=Outcome.FORGED).count() == 2
    assert reconcile.differences() == []


def test_a_stale_timestamp_is_refused_even_when_signed(client, attempt, caplog):
    old = int(time.time()) - settings.PAYMENT_GATEWAY_TOLERANCE_SECONDS - 5
    with caplog.at_level(logging.WARNING, logger="loans.gateway"):
        response = deliver(client, succeeded(attempt), timestamp=old)
    assert response.status_code == 401
    assert GatewayNotification.objects.get().outcome == Outcome.STALE
    assert "stale" in caplog.text
    attempt.refresh_from_db()
    assert attempt.status == DebitAttempt.Status.REQUESTED and attempt.repayment is None


@pytest.mark.parametrize(
    "body, problem",
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"event_id": "e", "gateway_ref": "DA-1", "status": "maybe"}', "status"),
        (b'{"gateway_ref": "DA-1", "status": "failed"}', "event_id"),
        (b'{"event_id": "e", "gateway_ref": "DA-1", "status": "succeeded"}', "amount"),
        (b'{"event_id":"e","gateway_ref":"DA-1","status":"succeeded","amount":"1.001"}', "fen"),
        (b'{"event_id":"e","gateway_ref":"DA-1","status":"succeeded","amount":-5}', "positive"),
    ],
)
def test_malformed_json_is_a_400_and_logged(client, body, problem):
    response = deliver(client, body)
    assert response.status_code == 400
    log = GatewayNotification.objects.get()
    assert log.outcome == Outcome.MALFORMED and problem in log.detail


def test_an_unknown_gateway_reference_is_a_404_and_logged(client, attempt):
    payload = {**succeeded(attempt), "gateway_ref": "DA-999999-20260101-due_morning"}
    response = deliver(client, payload)
    assert response.status_code == 404
    log = GatewayNotification.objects.get()
    assert log.outcome == Outcome.UNKNOWN_ATTEMPT and log.event_id == "evt-1"
    assert not Repayment.objects.exists()


def test_the_webhook_only_takes_post(client):
    assert client.get(URL).status_code == 405
    assert reverse("gateway:webhook") == URL


# --- Genuine notifications take effect exactly once ------------------------------------------


def test_a_replayed_notification_is_accepted_once_and_then_a_duplicate(
    client, attempt, on_due_date
):
    on_due_date(attempt.business_date)
    first = deliver(client, succeeded(attempt))
    second = deliver(client, succeeded(attempt))  # the gateway re-sends the same event
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == {"ok": True}
    outcomes = list(GatewayNotification.objects.order_by("id").values_list("outcome", flat=True))
    assert outcomes == [Outcome.ACCEPTED, Outcome.DUPLICATE]

    repayment = Repayment.objects.get()
    assert repayment.external_id == attempt.gateway_ref
    assert repayment.channel == Channel.AUTO_DEBIT and repayment.amount == attempt.amount
    assert repayment.value_date == attempt.business_date
    attempt.refresh_from_db()
    assert attempt.status == DebitAttempt.Status.SUCCEEDED and attempt.repayment == repayment
    assert attempt.completed_at is not None

    # A second event for an attempt that already has its result changes nothing either.
    third = deliver(client, succeeded(attempt, event_id="evt-2"))
    assert third.status_code == 200
    assert GatewayNotification.objects.order_by("-id").first().outcome == Outcome.DUPLICATE
    assert Repayment.objects.count() == 1
    assert reconcile.differences() == []


def test_a_genuine_notification_the_ledger_refuses_is_logged_and_changes_nothing(client, attempt):
    # Collected "on" a due date still a month ahead: the ledger will not post a future payment.
    response = deliver(client, succeeded(attempt))
    assert response.status_code == 409 and response.json()["error"] == Outcome.REFUSED
    log = GatewayNotification.objects.get()
    assert log.outcome == Outcome.REFUSED and log.event_id == "evt-1"
    assert log.debit_attempt == attempt and log.detail  # the ledger's reason, for staff
    attempt.refresh_from_db()
    assert attempt.status == DebitAttempt.Status.REQUESTED and attempt.repayment is None
    assert not Repayment.objects.exists()
    # Once the cause is gone, the gateway's retry of the same event goes through.
    with time_machine.travel(
        datetime.combine(attempt.business_date, dt_time(6), tzinfo=ZoneInfo(settings.TIME_ZONE))
    ):
        assert deliver(client, succeeded(attempt)).status_code == 200
    assert Repayment.objects.get().external_id == attempt.gateway_ref


def test_a_failed_charge_is_recorded_with_its_reason(client, attempt):
    payload = {
        "event_id": "evt-f",
        "gateway_ref": attempt.gateway_ref,
        "status": "failed",
        "amount": str(attempt.amount),
        "paid_at": None,
        "failure_reason": "card frozen",
    }
    assert deliver(client, payload).status_code == 200
    attempt.refresh_from_db()
    assert attempt.status == DebitAttempt.Status.FAILED
    assert attempt.failure_reason == "card frozen" and attempt.repayment is None
    log = GatewayNotification.objects.get()
    assert log.outcome == Outcome.ACCEPTED and log.debit_attempt == attempt
    assert not Repayment.objects.exists()


# --- Charging -------------------------------------------------------------------------------


def test_each_slot_is_charged_once(
    loan, card, recording_gateway, django_capture_on_commit_callbacks
):
    due = loan.instalments.get(number=1)
    with django_capture_on_commit_callbacks(execute=True):
        one = payments.request_auto_debit(
            loan=loan, business_date=due.due_date, slot=Slot.DUE_MORNING, amount=due.total_due
        )
        again = payments.request_auto_debit(
            loan=loan, business_date=due.due_date, slot=Slot.DUE_MORNING, amount=due.total_due
        )
    assert again == one and DebitAttempt.objects.count() == 1
    assert recording_gateway == [f"DA-{loan.pk}-{due.due_date:%Y%m%d}-due_morning"]
    assert one.gateway_ref == recording_gateway[0]
    assert one.bank_card == card and one.amount == due.total_due

    # The evening slot of the same day is a new attempt with its own reference.
    with django_capture_on_commit_callbacks(execute=True):
        evening = payments.request_auto_debit(
            loan=loan, business_date=due.due_date, slot=Slot.DUE_EVENING, amount=due.total_due
        )
    assert evening != one and len(recording_gateway) == 2


def test_no_default_card_means_no_attempt(loan, recording_gateway):
    cards.unbind_bank_card(card=cards.default_card(borrower=loan.borrower))
    due = loan.instalments.get(number=1)
    assert (
        payments.request_auto_debit(
            loan=loan, business_date=due.due_date, slot=Slot.DUE_MORNING, amount=due.total_due
        )
        is None
    )
    with pytest.raises(ValidationError):
        payments.request_auto_debit(
            loan=loan, business_date=due.due_date, slot="noon", amount=due.total_due
        )
    assert not DebitAttempt.objects.exists() and recording_gateway == []


def test_the_sandbox_collects_and_posts_one_repayment(
    loan, card, gateway_queue, django_capture_on_commit_callbacks, on_due_date
):
    due = loan.instalments.get(number=1)
    on_due_date(due.due_date)
    with django_capture_on_commit_callbacks(execute=True):
        attempt = payments.request_auto_debit(
            loan=loan, business_date=due.due_date, slot=Slot.DUE_MORNING, amount=due.total_due
        )
    attempt.refresh_from_db()
    assert attempt.status == DebitAttempt.Status.SUCCEEDED
    repayment = Repayment.objects.get(loan=loan)
    assert attempt.repayment == repayment
    assert repayment.external_id == attempt.gateway_ref and repayment.amount == due.total_due
    assert repayment.channel == Channel.AUTO_DEBIT and repayment.value_date == due.due_date
    assert GatewayNotification.objects.get().outcome == Outcome.ACCEPTED
    due.refresh_from_db()
    assert due.total_outstanding == 0

    # The answer came through the queue, to the charge webhook's handler.
    assert [func for func, _ in gateway_queue] == [sandbox.CHARGE_DELIVERY_TASK]

    # Charging the same attempt again is answered as a re-delivery: still one repayment.
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.SandboxGateway().charge(attempt=attempt)
    assert len(gateway_queue) == 2 and Repayment.objects.count() == 1
    assert GatewayNotification.objects.order_by("-id").first().outcome == Outcome.DUPLICATE


def test_the_sandbox_answers_a_charge_only_when_its_queued_delivery_runs(
    loan, card, monkeypatch, django_capture_on_commit_callbacks, on_due_date
):
    due = loan.instalments.get(number=1)
    on_due_date(due.due_date)
    queued = []
    monkeypatch.setattr(sandbox, "async_task", lambda func, *args, **kw: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        attempt = payments.request_auto_debit(
            loan=loan, business_date=due.due_date, slot=Slot.DUE_MORNING, amount=due.total_due
        )
    attempt.refresh_from_db()
    assert attempt.status == DebitAttempt.Status.REQUESTED and len(queued) == 1
    assert not Repayment.objects.exists() and not GatewayNotification.objects.exists()

    # Delivered an hour later, beyond the webhook's tolerance: signed when delivered, it is
    # still accepted, through the same checks as POST /gateway/webhook/.
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        assert import_string(sandbox.CHARGE_DELIVERY_TASK)(*queued[0]).startswith("accepted")
    attempt.refresh_from_db()
    assert attempt.status == DebitAttempt.Status.SUCCEEDED
    assert attempt.repayment == Repayment.objects.get(loan=loan)
    assert GatewayNotification.objects.get().headers["User-Agent"] == "sandbox-gateway"


def test_the_sandbox_fails_a_card_ending_0000(
    loan, gateway_queue, django_capture_on_commit_callbacks
):
    cards.bind_bank_card(
        borrower=loan.borrower,
        bank_name="工商银行",
        card_number=_luhn_number_ending("0000"),
        token="tok-poor",
    )
    due = loan.instalments.get(number=1)
    with django_capture_on_commit_callbacks(execute=True):
        attempt = payments.request_auto_debit(
            loan=loan, business_date=due.due_date, slot=Slot.DUE_MORNING, amount=due.total_due
        )
    attempt.refresh_from_db()
    assert attempt.bank_card.last4 == "0000"
    assert attempt.status == DebitAttempt.Status.FAILED
    assert attempt.failure_reason == "insufficient funds" and attempt.completed_at
    assert not Repayment.objects.exists()
    assert GatewayNotification.objects.get().outcome == Outcome.ACCEPTED


def _luhn_number_ending(last4: str) -> str:
    """A valid 19-digit number ending in `last4`: vary a middle digit until Luhn holds."""
    for d in range(10):
        number = f"62220212345678{d}{last4}"
        if luhn.is_valid(number):
            return number
    raise AssertionError("unreachable: one of ten digits always fixes the check")


# --- Cards ----------------------------------------------------------------------------------


def test_binding_refuses_a_number_failing_luhn_and_keeps_the_number_encrypted(loan):
    good = card_number()
    payout_card = cards.default_card(borrower=loan.borrower)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    with pytest.raises(ValidationError) as exc:
        cards.bind_bank_card(
            borrower=loan.borrower, bank_name="招商银行", card_number=bad, token="tok-x"
        )
    assert "card_number" in exc.value.message_dict
    with pytest.raises(ValidationError):
        cards.bind_bank_card(
            borrower=loan.borrower, bank_name="招商银行", card_number="1234", token="tok-x"
        )
    assert list(BankCard.objects.all()) == [payout_card]
    with pytest.raises(ValidationError) as other_name:
        cards.bind_bank_card(
            borrower=loan.borrower,
            bank_name="招商银行",
            card_number=good,
            token="tok-x",
            holder_name="李四",
        )
    assert "holder_name" in other_name.value.message_dict

    spaced = " ".join(good[i : i + 4] for i in range(0, len(good), 4))
    first = cards.bind_bank_card(
        borrower=loan.borrower, bank_name="招商银行", card_number=spaced, token="tok-1"
    )
    assert first.last4 == good[-4:] and first.is_default and first.verified_at
    assert str(first) == f"招商银行 ****{good[-4:]}"
    assert BankCard.objects.get(pk=first.pk).number == good  # decrypted on load
    with connection.cursor() as cursor:  # what the database holds: no number in clear
        cursor.execute("SELECT * FROM loans_bankcard WHERE id = %s", [first.pk])
        stored = cursor.fetchone()
    assert not any(good in str(v) or good[:12] in str(v) for v in stored)
    assert BankCard.objects.get(number_index=card_number_index(good)) == first

    second = cards.bind_bank_card(
        borrower=loan.borrower,
        bank_name="工商银行",
        card_number=_luhn_number_ending("4321"),
        token="tok-2",
    )
    first.refresh_from_db()
    assert second.is_default and not first.is_default
    assert cards.default_card(borrower=loan.borrower) == second
    with pytest.raises(ValidationError):  # the same gateway token twice
        cards.bind_bank_card(
            borrower=loan.borrower, bank_name="工商银行", card_number=good, token="tok-2"
        )
    cards.unbind_bank_card(card=second)
    assert cards.default_card(borrower=loan.borrower) is None


# --- Admin ----------------------------------------------------------------------------------


def test_admin_pages_show_masked_cards_and_the_log_read_only(client, attempt):
    deliver(client, succeeded(attempt), secret="forged")
    client.force_login(factories.staff(superuser=True))
    for name in ["bankcard", "debitattempt", "gatewaynotification"]:
        response = client.get(reverse(f"admin:loans_{name}_changelist"))
        assert response.status_code == 200, name
    page = client.get(reverse("admin:loans_bankcard_changelist")).content.decode()
    assert f"****{attempt.bank_card.last4}" in page and attempt.bank_card.gateway_token not in page
    log = GatewayNotification.objects.get()
    assert (
        client.get(reverse("admin:loans_gatewaynotification_change", args=[log.pk])).status_code
        == 200
    )
    assert client.get(reverse("admin:loans_gatewaynotification_add")).status_code == 403
    mobile = attempt.loan.borrower.mobile
    found = client.get(reverse("admin:loans_debitattempt_changelist"), {"q": mobile}, follow=True)
    assert attempt.gateway_ref in found.content.decode()


# --- Concurrency (PostgreSQL) ------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_deliveries_of_one_event_post_once(attempt, on_due_date):
    on_due_date(attempt.business_date)
    body = json.dumps(succeeded(attempt)).encode()
    ts = int(time.time())
    sig = signing.sign(body, ts, settings.PAYMENT_GATEWAY_WEBHOOK_SECRET)
    barrier, outcomes = threading.Barrier(2), []

    def deliver_once():
        try:
            barrier.wait()
            n = webhooks.handle_gateway_notification(
                body=body, signature=sig, timestamp=str(ts), remote_ip="203.0.113.7"
            )
            outcomes.append(n.outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver_once) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [Outcome.ACCEPTED, Outcome.DUPLICATE]
    assert Repayment.objects.filter(external_id=attempt.gateway_ref).count() == 1
