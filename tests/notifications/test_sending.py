"""Sending: batches, retries with back-off, failures left visible; lifecycle messages;
templates that cannot render are refused."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from notifications import services, tasks
from notifications.backends import BaseSmsBackend, SendResult
from notifications.models import SmsMessage, SmsTemplate
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


class FailingBackend(BaseSmsBackend):
    def send(self, messages):
        return [SendResult(ok=False, error="LimitExceeded: daily limit") for _ in messages]


def queue_one(borrower, key="k1"):
    return services.queue_sms(
        borrower=borrower, template="t", body="测试", purpose="transactional", dedupe_key=key
    )


def test_a_failed_send_retries_with_back_off_then_stays_failed_and_visible(settings):
    settings.SMS_BACKEND = "tests.notifications.test_sending.FailingBackend"
    start = datetime(2026, 3, 2, 10, 0, tzinfo=SH)
    with time_machine.travel(start, tick=False) as clock:
        message = queue_one(factories.borrower())
        waits = []
        for _ in range(5):
            message.refresh_from_db()
            clock.move_to(message.send_after)
            services.send_messages([message.pk])
            message.refresh_from_db()
            waits.append(message.send_after)
    assert message.status == "failed" and message.attempts == 5
    assert message.error == "LimitExceeded: daily limit"
    gaps = [(b - a).total_seconds() / 60 for a, b in zip(waits, waits[1:], strict=False)][:3]
    assert gaps == [5, 30, 120]


def test_the_same_dedupe_key_is_queued_once():
    borrower = factories.borrower()
    assert queue_one(borrower, "same") is not None
    assert queue_one(borrower, "same") is None
    assert SmsMessage.objects.filter(dedupe_key="same").count() == 1


def test_dispatch_sends_in_batches_one_task_per_batch(settings, monkeypatch, sms_outbox):
    settings.SMS_BATCH_SIZE = 2
    batches = []
    monkeypatch.setattr(
        tasks, "async_task", lambda func, ids, **kw: batches.append(ids) or tasks.send_batch(ids)
    )
    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=SH), tick=False):
        borrower = factories.borrower()
        for n in range(5):
            queue_one(borrower, f"b{n}")
        assert tasks.dispatch() == 5
    assert [len(b) for b in batches] == [2, 2, 1]
    assert len(sms_outbox) == 5
    assert set(SmsMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_lifecycle_messages_follow_the_loan(sms_outbox, django_capture_on_commit_callbacks):
    with time_machine.travel(datetime(2026, 1, 15, 10, 0, tzinfo=SH), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            loan = factories.loan(on=date(2026, 1, 15))
    templates = [m.template for m in sms_outbox]
    assert templates == ["application_approved", "contract_signed", "loan_disbursed"]
    disbursed = sms_outbox[-1].text
    assert "10000.00" in disbursed and "2026-02-15" in disbursed and "1084.34" in disbursed
    assert loan.pk


def test_a_template_that_does_not_render_cannot_be_saved():
    template = SmsTemplate.objects.get(code="due_reminder")
    template.body_zh = "您的借款{% if %}到期"
    with pytest.raises(ValidationError) as exc:
        template.full_clean()
    assert "body_zh" in exc.value.message_dict
    template.body_zh = "请访问 http://example.com 还款"
    with pytest.raises(ValidationError):
        template.full_clean()
    template.refresh_from_db()
    template.full_clean()


def test_reminder_and_dispatch_schedules_are_installed():
    from django_q.models import Schedule

    funcs = set(Schedule.objects.values_list("func", flat=True))
    assert {"notifications.tasks.send_reminders", "notifications.tasks.dispatch"} <= funcs


def test_quiet_hours_at_the_edges():
    from notifications.timing import next_send_time

    def local(h, m):
        return datetime(2026, 3, 2, h, m, tzinfo=SH)

    assert next_send_time(local(8, 0)) == local(8, 0)
    assert next_send_time(local(20, 59)) == local(20, 59)
    assert next_send_time(local(21, 0)) == local(8, 0) + timedelta(days=1)
    assert next_send_time(local(7, 59)) == local(8, 0)


class BrokenBackend(BaseSmsBackend):
    def send(self, messages):
        raise ConnectionError("provider unreachable")


def test_a_backend_that_raises_leaves_nothing_stuck_in_sending(settings):
    settings.SMS_BACKEND = "tests.notifications.test_sending.BrokenBackend"
    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=SH), tick=False):
        message = queue_one(factories.borrower())
        assert services.send_messages([message.pk]) == 0
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 1)
    assert "provider unreachable" in message.error
