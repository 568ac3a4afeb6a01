"""Scheduled work: installed after migrate, and what each task does for its business date."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django_q.models import Schedule

from loans import tasks
from loans.models import BusinessDay, DebitAttempt, Repayment
from loans.services.cards import bind_bank_card, default_card, unbind_bank_card
from tests import factories
from tests.loans.test_gateway import gateway_queue  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
DRAWN = date(2026, 1, 15)
DUE = date(2026, 2, 15)


def test_schedules_are_installed_once_and_visible():
    names = set(Schedule.objects.values_list("name", flat=True))
    assert {s.name for s in tasks.SCHEDULES} <= names
    eod = Schedule.objects.get(func="loans.tasks.end_of_day")
    assert eod.cron == "10 0 * * *" and eod.intended_date_kwarg == "intended"
    eod.cron = "20 0 * * *"
    eod.save()
    tasks.install_schedules()
    assert Schedule.objects.filter(func="loans.tasks.end_of_day").count() == 1
    assert Schedule.objects.get(func="loans.tasks.end_of_day").cron == "20 0 * * *"


def test_end_of_day_task_runs_the_intended_date_even_when_started_late():
    intended = datetime(2026, 3, 1, 0, 10, tzinfo=SHANGHAI)
    with time_machine.travel(intended + timedelta(hours=30)):
        tasks.end_of_day(intended=intended.isoformat())
    assert list(BusinessDay.objects.values_list("business_date", flat=True)) == [date(2026, 3, 1)]


@pytest.mark.usefixtures("gateway_queue")
def test_auto_debit_collects_what_is_due_once_per_slot(django_capture_on_commit_callbacks):
    with time_machine.travel(DRAWN):
        loan = factories.loan(on=DRAWN)
        bind_bank_card(
            borrower=loan.borrower,
            bank_name="招商银行",
            card_number="6225880137469186",
            token="tok-1",
        )
        unpaid = factories.loan(on=DRAWN)
        # Paid out to a verified card, since unbound: auto-debit has nothing to charge.
        unbind_bank_card(card=default_card(borrower=unpaid.borrower))
    morning = datetime(2026, 2, 15, 6, 0, tzinfo=SHANGHAI)
    with time_machine.travel(morning, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            tasks.auto_debit("due_morning", intended=morning.isoformat())
        with django_capture_on_commit_callbacks(execute=True):
            tasks.auto_debit("due_morning", intended=morning.isoformat())
    attempt = DebitAttempt.objects.get()
    assert (attempt.loan_id, attempt.amount, attempt.business_date) == (
        loan.pk,
        Decimal("1084.34"),
        DUE,
    )
    # The sandbox gateway answers through the signed webhook: the repayment is posted.
    repayment = Repayment.objects.get(loan=loan)
    assert repayment.amount == Decimal("1084.34") and repayment.channel == "auto_debit"
    evening = datetime(2026, 2, 15, 17, 0, tzinfo=SHANGHAI)
    with time_machine.travel(evening, tick=False), django_capture_on_commit_callbacks(execute=True):
        tasks.auto_debit("due_evening", intended=evening.isoformat())
    assert DebitAttempt.objects.count() == 1  # paid in the morning; the unbound loan has no card
    assert not Repayment.objects.filter(loan=unpaid).exists()
