"""Reminders and overdue notices: each cadence step exactly once, quiet hours, the daily cap,
the overdue text's required fields, no reminders once paid."""

import importlib
import re
import threading
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection

from loans.services.end_of_day import process_business_date
from loans.services.repayments import post_repayment
from notifications import services
from notifications.models import SmsMessage
from notifications.reminders import queue_reminders
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
DRAWN = date(2026, 1, 15)
DUE = date(2026, 2, 15)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SH)


@pytest.fixture
def loan(db):
    with time_machine.travel(DRAWN):
        return factories.loan(on=DRAWN)


def run_day(day: date, hour: int = 0, minute: int = 30) -> dict:
    with time_machine.travel(at(day, hour, minute), tick=False):
        process_business_date(day)
        return queue_reminders(business_date=day)


def reminders(**filters):
    return SmsMessage.objects.filter(
        template__in=["due_reminder", "overdue_notice", "pre_report_notice"], **filters
    )


def test_each_due_step_fires_once_and_only_once(loan):
    fired = {}
    for offset in range(-4, 1):
        day = DUE + timedelta(days=offset)
        counts = run_day(day)
        counts_again = run_day(day)  # the selection runs twice: nothing new
        assert sum(counts_again.values()) == 0
        fired[offset] = (
            counts[f"due T{offset:+d}"] if offset in (-3, -1, 0) else sum(counts.values())
        )
    assert fired == {-4: 0, -3: 1, -2: 0, -1: 1, 0: 1}
    keys = sorted(reminders().values_list("dedupe_key", flat=True))
    first = loan.instalments.get(number=1).pk
    assert keys == sorted(f"due-reminder:{first}:T{o:+d}" for o in (-3, -1, 0))


def test_overdue_cadence_is_t1_t3_t7_then_weekly(loan):
    days = []
    for n in range(1, 30):
        counts = run_day(DUE + timedelta(days=n))
        if counts["overdue"]:
            days.append(n)
    assert days == [1, 3, 7, 14, 21, 28]
    assert reminders(template="pre_report_notice").count() == 1


def test_the_overdue_text_carries_every_required_field(loan):
    for n in range(0, 4):
        run_day(DUE + timedelta(days=n))
    message = reminders(template="overdue_notice", dedupe_key__endswith="T+3").get()
    text = message.text
    # 3 days past due: penalty for days 1–3 at 0.70 a day.
    assert "2026-02-16" in text  # overdue since
    for amount in ("934.34", "150.00", "2.10", "1086.44"):
        assert amount in text, amount
    for channel in ("银行卡", "微信支付", "支付宝", "客户端"):
        assert channel in text
    assert "2026-02-18" in text  # pay today to stop further penalty
    assert "95384" in text
    assert text.startswith("【微众银行】") and re.search(r"核验码 [A-Z2-9]{5}", text)
    assert not re.search(r"家人|单位|同事|通讯录|法院|公安|起诉|http", text)


def test_quiet_hours_hold_and_otp_goes_at_once(loan, django_capture_on_commit_callbacks):
    late = at(DUE - timedelta(days=3), 22, 30)
    with time_machine.travel(late, tick=False):
        queue_reminders(business_date=DUE - timedelta(days=3))
        message = reminders().get()
        assert message.send_after == at(DUE - timedelta(days=2), 8, 0)
        assert services.send_messages([message.pk]) == 0
        borrower = loan.borrower
        with django_capture_on_commit_callbacks(execute=True):
            services.send_login_code(borrower=borrower, code="123456", request_id="r1")
        otp = SmsMessage.objects.get(template="login_code")
        assert otp.send_after <= late and otp.status == SmsMessage.Status.SENT
    with time_machine.travel(at(DUE - timedelta(days=2), 7, 59), tick=False):
        assert services.send_messages([message.pk]) == 0
    with time_machine.travel(at(DUE - timedelta(days=2), 8, 0), tick=False):
        assert services.send_messages([message.pk]) == 1


def test_at_most_three_collection_sms_per_borrower_per_day(db):
    with time_machine.travel(DRAWN):
        borrower = factories.borrower(income="80000")
        for _ in range(5):
            factories.loan(on=DRAWN, borrower_obj=borrower)
    counts = run_day(DUE + timedelta(days=1))
    assert counts["pre-report notice"] + counts["overdue"] == 3
    assert SmsMessage.objects.filter(purpose="collection", borrower=borrower).count() == 3


def test_a_paid_instalment_gets_no_further_reminders(loan):
    for n in (-3, -1, 0):
        run_day(DUE + timedelta(days=n))
    with time_machine.travel(at(DUE, 10)):
        post_repayment(
            loan=loan,
            amount=Decimal("1084.34"),
            channel="wechat_pay",
            external_id="on-time",
            value_date=DUE,
        )
    for n in range(1, 15):
        run_day(DUE + timedelta(days=n))
    assert reminders().count() == 3
    assert not reminders(template="overdue_notice").exists()


def test_send_reminders_command_prints_counts(loan, capsys):
    with time_machine.travel(at(DUE, 0, 30), tick=False):
        call_command("send_reminders", "--date", str(DUE))
    out = capsys.readouterr().out
    assert "due T+0" in out and "1 messages queued" in out


@pytest.fixture
def seeded_defaults():
    """Transactional tests run after a flush of every table, which also removes the templates
    and cadence that the migrations seed: seed them again with the migration's own function."""
    seed = importlib.import_module("notifications.migrations.0003_default_templates").seed
    seed(django_apps, None)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_at_once_send_each_message_once(sms_outbox, seeded_defaults):
    with time_machine.travel(DRAWN):
        for _ in range(6):
            factories.loan(on=DRAWN)
    with time_machine.travel(at(DUE, 9), tick=False):
        queue_reminders(business_date=DUE)
        ids = list(SmsMessage.objects.filter(status="queued").values_list("id", flat=True))
        assert len(ids) == 6
        barrier = threading.Barrier(2)

        def worker():
            try:
                barrier.wait()
                services.send_messages(ids)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    sent = [m.pk for m in sms_outbox if m.template == "due_reminder"]
    assert sorted(sent) == sorted(ids)
