"""The provider failing for a while and then recovering, through the real SDK against the fake
Tencent API: every message ends sent (or visibly failed), retries back off, none is left
"sending", none is sent twice."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from notifications import services, tasks
from notifications.models import SmsMessage
from tests import factories

pytestmark = pytest.mark.django_db
Status = SmsMessage.Status


def queued(count: int) -> list[SmsMessage]:
    messages = []
    for n in range(count):
        borrower = factories.borrower()
        messages.append(
            services.queue_sms(
                borrower=borrower,
                template="repayment_received",
                body=f"您的第{n}笔还款已到账。",
                purpose=SmsMessage.Purpose.TRANSACTIONAL,
                dedupe_key=f"faults:{n}",
                obeys_quiet_hours=False,
            )
        )
    return messages


@pytest.fixture
def run_tasks_now(monkeypatch):
    """The batches dispatch hands out run at once, in this process."""
    monkeypatch.setattr(tasks, "async_task", lambda func, ids, **kw: tasks.send_batch(ids))


def rows(messages) -> list[SmsMessage]:
    return list(SmsMessage.objects.filter(pk__in=[m.pk for m in messages]).order_by("pk"))


def test_errors_back_off_each_time_then_the_provider_recovers(
    fake_tencent, settings, run_tasks_now
):
    settings.SMS_CONCURRENCY = 4
    settings.TENCENT_SMS_TIMEOUT = 1
    faults = [
        (lambda: fake_tencent.fail_http(502), "ServerNetworkError"),
        (lambda: fake_tencent.fail_requests("LimitExceeded.AppDailyLimit"), "LimitExceeded"),
        (lambda: fake_tencent.fail_requests("InternalError.Timeout"), "InternalError"),
        (fake_tencent.stop, "ClientNetworkError"),  # connection refused
    ]
    with time_machine.travel(timezone.now(), tick=True) as clock:
        messages = queued(6)
        blocked = messages[0]  # this number is refused every time: it ends failed
        fake_tencent.fail_number(f"+86{blocked.phone}", "FailedOperation.PhoneNumberInBlacklist")
        waits = []
        for fault, error in faults:
            fault()
            tasks.dispatch()
            now = timezone.now()
            after = rows(messages)
            assert {m.status for m in after} == {Status.QUEUED}
            assert all(m.error.startswith(error) for m in after[1:]), error
            waits.append(min(m.send_after for m in after) - now)
            assert tasks.dispatch() == 0  # nothing before its time
            clock.move_to(max(m.send_after for m in after) + timedelta(seconds=1))
            if fault == fake_tencent.stop:
                fake_tencent.start()
            fake_tencent.clear_failures()
            fake_tencent.fail_number(
                f"+86{blocked.phone}", "FailedOperation.PhoneNumberInBlacklist"
            )
        tasks.dispatch()

    after = rows(messages)
    # Waits of about 1, 5, 30 and 120 minutes: each longer than the one before.
    minutes = [round(w.total_seconds() / 60) for w in waits]
    assert minutes == [1, 5, 30, 120]
    assert [m.status for m in after[1:]] == [Status.SENT] * 5
    assert all(m.attempts == 5 for m in after)
    failed = after[0]
    assert failed.status == Status.FAILED
    assert failed.error.startswith("FailedOperation.PhoneNumberInBlacklist")
    assert fake_tencent.sent_twice() == 0
    assert sum(fake_tencent.accepted.values()) == 5


def test_a_timeout_leaves_messages_in_doubt_until_the_receipts_settle_them(
    fake_tencent, settings, run_tasks_now
):
    settings.SMS_CONCURRENCY = 4
    settings.TENCENT_SMS_TIMEOUT = 1
    settings.SMS_IN_DOUBT_AFTER = 1800
    fake_tencent.auto_receipts = True
    with time_machine.travel(timezone.now(), tick=True) as clock:
        messages = queued(4)
        fake_tencent.latency = 2  # the fake sends, the client gives up after 1 s
        tasks.dispatch()
        after = rows(messages)
        assert {m.status for m in after} == {Status.SENDING}
        assert all(m.error.startswith("ClientNetworkError") for m in after)
        assert sum(fake_tencent.accepted.values()) == 4

        fake_tencent.latency = 0
        clock.shift(timedelta(minutes=10))
        assert tasks.dispatch() == 0  # in doubt: never sent again at once
        clock.shift(timedelta(minutes=25))
        tasks.dispatch()  # past SMS_IN_DOUBT_AFTER: the receipts say they were sent

    after = rows(messages)
    assert {m.status for m in after} == {Status.DELIVERED}
    assert all(fake_tencent.issued[m.provider_id] == f"+86{m.phone}" for m in after)
    assert fake_tencent.sent_twice() == 0


def test_messages_the_provider_never_saw_are_sent_again_once(fake_tencent, settings, run_tasks_now):
    """A worker died after claiming a batch: the provider's receipts name the messages it had
    sent; the others, and only those, go out again."""
    settings.SMS_IN_DOUBT_AFTER = 1800
    fake_tencent.auto_receipts = True
    with time_machine.travel(timezone.now(), tick=True) as clock:
        messages = queued(4)
        # It had sent the first two before it died; all four were left "sending".
        services.send_messages([m.pk for m in messages[:2]])
        sent_before = {m.pk: m.provider_id for m in rows(messages[:2])}
        SmsMessage.objects.filter(pk__in=[m.pk for m in messages]).update(
            status=Status.SENDING, provider_id="", sent_at=None, claimed_at=timezone.now()
        )
        clock.shift(timedelta(minutes=31))
        tasks.dispatch()

    after = rows(messages)
    assert [m.status for m in after] == [Status.DELIVERED] * 2 + [Status.SENT] * 2
    assert {m.pk: m.provider_id for m in after[:2]} == sent_before
    assert [m.error for m in after] == [""] * 4
    assert fake_tencent.sent_twice() == 0
    assert sum(fake_tencent.accepted.values()) == 4


def test_a_masked_code_left_in_doubt_ends_failed_not_resent(settings, sms_outbox):
    settings.SMS_IN_DOUBT_AFTER = 1800
    with time_machine.travel(timezone.now(), tick=False) as clock:
        message = services.queue_sms(
            borrower=factories.borrower(),
            template="login_code",
            body="登录验证码 ******",
            purpose=SmsMessage.Purpose.TRANSACTIONAL,
            dedupe_key="login-code:lost",
            obeys_quiet_hours=False,
            secret_masked=True,
        )
        SmsMessage.objects.filter(pk=message.pk).update(
            status=Status.SENDING, claimed_at=timezone.now()
        )
        clock.shift(timedelta(minutes=31))
        tasks.dispatch()
    message.refresh_from_db()
    assert message.status == Status.FAILED and "code has expired" in message.error
    assert sms_outbox == []
