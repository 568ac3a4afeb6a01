"""At most SMS_COLLECTION_DAILY_CAP collection SMS per borrower per day, whichever way they are
queued (DESIGN §5 Caps, §6); one-time codes and transactional messages are never capped."""

import threading
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection, transaction

from loans.services.end_of_day import process_business_date
from notifications import services
from notifications.models import SmsMessage
from notifications.reminders import queue_reminders
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
DRAWN = date(2026, 1, 15)
DUE = date(2026, 2, 15)
DAY = date(2026, 3, 2)

pytestmark = pytest.mark.django_db


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SH)


@pytest.fixture
def borrower():
    with time_machine.travel(DRAWN):
        return factories.borrower()


def collection_sms(borrower, key: str):
    return services.queue_sms(
        borrower=borrower,
        template="collector_sms",
        body="请尽快还款。",
        purpose=SmsMessage.Purpose.COLLECTION,
        dedupe_key=key,
    )


def overdue_notice(borrower, key: str):
    return services.queue_from_template(
        borrower=borrower, template_code="overdue_notice", context={}, dedupe_key=key
    )


def collection_count(borrower) -> int:
    return SmsMessage.objects.filter(borrower=borrower, purpose="collection").count()


def test_queue_sms_refuses_a_collection_sms_beyond_the_daily_cap(borrower):
    assert settings.SMS_COLLECTION_DAILY_CAP == 3
    with time_machine.travel(at(DAY, 10)):
        for n in range(3):
            assert collection_sms(borrower, f"c{n}") is not None
        with pytest.raises(services.CollectionCapReached) as refused:
            collection_sms(borrower, "c3")
    assert refused.value.borrower_id == borrower.pk and refused.value.day == DAY
    assert "at most 3 collection SMS a day" in str(refused.value)
    assert collection_count(borrower) == 3
    assert not SmsMessage.objects.filter(dedupe_key="c3").exists()
    # Queuing a message already queued is no new message: None, as for any taken key.
    with time_machine.travel(at(DAY, 11)):
        assert collection_sms(borrower, "c1") is None


def test_queue_from_template_counts_against_the_same_cap(borrower):
    with time_machine.travel(at(DAY, 10)):
        collection_sms(borrower, "c0")
        assert overdue_notice(borrower, "t1").purpose == SmsMessage.Purpose.COLLECTION
        assert overdue_notice(borrower, "t2") is not None
        with pytest.raises(services.CollectionCapReached):
            overdue_notice(borrower, "t3")
        with pytest.raises(services.CollectionCapReached):
            collection_sms(borrower, "c4")
    assert collection_count(borrower) == 3


def test_the_cap_counts_the_day_a_message_goes_out(borrower):
    """Queued at night, a collection SMS waits for the morning and counts for that day."""
    with time_machine.travel(at(DAY, 22)):
        for n in range(3):
            message = collection_sms(borrower, f"night{n}")
            assert message.send_after == at(DAY + timedelta(days=1), 8)
    with time_machine.travel(at(DAY, 23)):
        with pytest.raises(services.CollectionCapReached):
            collection_sms(borrower, "night3")
    with time_machine.travel(at(DAY + timedelta(days=2), 9)):
        assert collection_sms(borrower, "later") is not None
    # Other borrowers have caps of their own.
    with time_machine.travel(at(DAY, 23)):
        other = factories.borrower()
        assert collection_sms(other, "other") is not None


def test_a_collection_sms_needs_a_borrower():
    with pytest.raises(ValueError):
        services.queue_sms(
            borrower=None,
            phone="13800138000",
            template="collector_sms",
            body="请尽快还款。",
            purpose=SmsMessage.Purpose.COLLECTION,
            dedupe_key="nobody",
        )


def test_codes_and_transactional_messages_are_never_capped(
    borrower, django_capture_on_commit_callbacks
):
    with time_machine.travel(at(DAY, 10)), django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            collection_sms(borrower, f"c{n}")
        for n in range(5):
            assert services.send_login_code(borrower=borrower, code="123456", request_id=f"l{n}")
            assert services.send_card_verification_code(
                borrower=borrower,
                code="654321",
                request_id=f"k{n}",
                bank_name="招商银行",
                last4="0071",
            )
            assert services.queue_from_template(
                borrower=borrower,
                template_code="repayment_received",
                context={"amount": "100.00"},
                dedupe_key=f"r{n}",
            )
            assert services.queue_sms(
                borrower=borrower,
                template="notice",
                body="您的还款已到账。",
                purpose=SmsMessage.Purpose.TRANSACTIONAL,
                dedupe_key=f"t{n}",
            )
    transactional = SmsMessage.objects.filter(borrower=borrower, purpose="transactional")
    assert transactional.count() == 20
    assert collection_count(borrower) == 3


def test_the_reminder_batch_counts_what_other_paths_queued(db):
    """Two collection SMS from a collector leave room for one overdue notice that day, not two."""
    with time_machine.travel(DRAWN):
        borrower = factories.borrower(income="80000")
        factories.loan(on=DRAWN, borrower_obj=borrower)
    day = DUE + timedelta(days=1)  # the pre-report notice and the T+1 overdue notice
    with time_machine.travel(at(day, 0), tick=False):
        process_business_date(day)
    with time_machine.travel(at(day, 9), tick=False):
        collection_sms(borrower, "collector-1")
        collection_sms(borrower, "collector-2")
        counts = queue_reminders(business_date=day)
    assert counts["pre-report notice"] + counts["overdue"] == 1
    assert collection_count(borrower) == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_callers_at_once_cannot_pass_the_cap_together():
    """Each caller holds its transaction open after queuing: without the borrower row lock
    both would count two and both insert a third."""
    with time_machine.travel(DRAWN):
        borrower = factories.borrower()
    with time_machine.travel(at(DAY, 10)):
        collection_sms(borrower, "c0")
        collection_sms(borrower, "c1")
        barrier = threading.Barrier(2)
        outcomes = []

        def caller(key):
            try:
                barrier.wait()
                with transaction.atomic():
                    collection_sms(borrower, key)
                    time.sleep(0.3)
                outcomes.append("queued")
            except services.CollectionCapReached:
                outcomes.append("refused")
            finally:
                connection.close()

        threads = [threading.Thread(target=caller, args=(k,)) for k in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(outcomes) == ["queued", "refused"]
    assert collection_count(borrower) == 3
