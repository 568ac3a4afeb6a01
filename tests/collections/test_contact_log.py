"""The contact log is append-only, in the database itself; the automated overdue SMS pass the
guard and are logged, sent or refused, and a refused one is never queued."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, transaction

from debt_collection import guard
from debt_collection.guard import Rule
from debt_collection.models import (
    CallOutcome,
    Channel,
    CollectionCase,
    Complaint,
    ContactAttempt,
    HardshipPlan,
)
from debt_collection.services import contacts
from loans.services.end_of_day import process_business_date
from notifications import services as sms_services
from notifications.models import SmsMessage
from notifications.policy import ContactRefused
from notifications.reminders import queue_reminders
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
DRAWN = date(2026, 1, 15)
DUE = date(2026, 2, 15)
T1 = DUE + timedelta(days=1)  # the pre-report notice and the T+1 overdue notice
COLLECTION_TEMPLATES = {"pre_report_notice", "overdue_notice"}

pytestmark = pytest.mark.django_db


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SH)


@pytest.fixture
def loan():
    with time_machine.travel(DRAWN):
        return factories.loan(on=DRAWN)


def end_of_day(day: date) -> None:
    with time_machine.travel(at(day, 0, 10), tick=False):
        process_business_date(day)


def reminders(day: date) -> dict:
    """The reminder batch at 00:30, as scheduled: the SMS wait for 08:00."""
    with time_machine.travel(at(day, 0, 30), tick=False):
        return queue_reminders(business_date=day)


def auto_log(borrower):
    return ContactAttempt.objects.filter(borrower=borrower, channel=Channel.AUTO_SMS)


def collection_sms(borrower):
    return SmsMessage.objects.filter(borrower=borrower, purpose="collection")


# --- Append-only ----------------------------------------------------------------------------


def logged_call(borrower):
    row, decision = guard.attempt(
        borrower=borrower, channel=Channel.CALL, staff=None, at=at(DUE, 10)
    )
    assert decision.allowed
    return row


@pytest.mark.postgres
def test_postgresql_refuses_update_and_delete_on_the_log_even_for_a_superuser(loan):
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone()[0] is True  # the strongest session there is
    with_outcome, bare = logged_call(loan.borrower), logged_call(loan.borrower)
    outcome = CallOutcome.objects.create(
        attempt=with_outcome, outcome=CallOutcome.Outcome.NO_ANSWER, recorded_by=factories.staff()
    )
    statements = [
        ("UPDATE collections_contactattempt SET allowed = FALSE WHERE id = %s", bare.pk),
        ("UPDATE collections_contactattempt SET blocked_rule = 'x'", None),
        ("DELETE FROM collections_contactattempt WHERE id = %s", bare.pk),
        ("UPDATE collections_calloutcome SET outcome = 'paid' WHERE id = %s", outcome.pk),
        ("DELETE FROM collections_calloutcome WHERE id = %s", outcome.pk),
    ]
    for replication_role in ("origin", "replica"):  # replica mode skips ordinary triggers
        for sql, pk in statements:
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL session_replication_role = {replication_role}")
                    cursor.execute(sql, [pk] if pk else [])
    # The ORM is refused the same way.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ContactAttempt.objects.filter(pk=bare.pk).update(allowed=False)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        bare.delete()
    bare.refresh_from_db()
    outcome.refresh_from_db()
    assert (bare.allowed, bare.blocked_rule, outcome.outcome) == (True, "", "no_answer")
    assert ContactAttempt.objects.count() == 2


def test_no_permission_exists_to_add_change_or_delete_the_log():
    for model in (ContactAttempt, CallOutcome):
        content_type = ContentType.objects.get_for_model(model)
        codenames = set(
            Permission.objects.filter(content_type=content_type).values_list("codename", flat=True)
        )
        assert codenames == {f"view_{model._meta.model_name}"}


# --- The automated overdue SMS --------------------------------------------------------------


def test_the_automated_overdue_sms_are_logged_as_they_are_queued(loan):
    end_of_day(T1)
    case = CollectionCase.objects.create(
        loan=loan, borrower=loan.borrower, bucket="M1", days_past_due=1, opened_on=T1, updated_on=T1
    )
    counts = reminders(T1)
    assert counts["pre-report notice"] == counts["overdue"] == 1
    log = list(auto_log(loan.borrower))
    assert sorted(a.template_code for a in log) == sorted(COLLECTION_TEMPLATES)
    for row in log:
        # Logged for the time the message goes out (08:00), by no one, on the loan's case.
        assert (row.allowed, row.blocked_rule, row.staff, row.case) == (True, "", None, case)
        assert row.at == at(T1, 8)
    assert collection_sms(loan.borrower).count() == 2
    # A second run queues nothing and logs nothing.
    assert sum(reminders(T1).values()) == 0
    assert auto_log(loan.borrower).count() == 2


def test_an_automated_sms_the_guard_refuses_is_logged_and_never_queued(loan):
    end_of_day(T1)
    Complaint.objects.create(
        borrower=loan.borrower,
        kind=Complaint.Kind.DISPUTE,
        category=Complaint.Category.AMOUNT,
        description="罚息算错了",
        source=Complaint.Source.STAFF,
    )
    counts = reminders(T1)
    assert counts["pre-report notice"] == counts["overdue"] == 0
    assert not collection_sms(loan.borrower).exists()
    assert sorted(auto_log(loan.borrower).values_list("allowed", "blocked_rule")) == [
        (False, Rule.COMPLAINT_OPEN),
        (False, Rule.COMPLAINT_OPEN),
    ]


def test_written_contact_only_stops_the_automated_sms(loan):
    contacts.restrict_contact(
        borrower=loan.borrower, scope="written_only", staff=factories.staff(superuser=True)
    )
    end_of_day(T1)
    reminders(T1)
    assert not collection_sms(loan.borrower).exists()
    assert set(auto_log(loan.borrower).values_list("blocked_rule", flat=True)) == {Rule.OPTED_OUT}


def test_a_kept_hardship_plan_stops_the_automated_sms_on_its_loan_only(loan):
    borrower = loan.borrower
    with time_machine.travel(DRAWN):
        other = factories.loan(on=DRAWN, borrower_obj=borrower)
    HardshipPlan.objects.create(loan=loan, extension_days=30, status=HardshipPlan.Status.APPROVED)
    end_of_day(T1)
    reminders(T1)
    # Both loans fall due together: only the other loan's notices go out.
    assert collection_sms(borrower).count() == 2
    refused = auto_log(borrower).filter(allowed=False)
    assert set(refused.values_list("blocked_rule", flat=True)) == {Rule.HARDSHIP_PLAN}
    assert refused.count() == 2
    first = other.instalments.get(number=1).pk
    assert set(collection_sms(borrower).values_list("dedupe_key", flat=True)) == {
        f"pre-report:{first}",
        f"overdue:{first}:T+1",
    }


def test_the_automated_sms_count_against_the_collectors_daily_cap_and_back(loan):
    """Two collector SMS leave room for one automated notice; the other is logged as refused
    by the cap; then the collector has no SMS left that day."""
    end_of_day(T1)
    collector = factories.staff(superuser=True)
    case = CollectionCase.objects.create(
        loan=loan, borrower=loan.borrower, bucket="M1", days_past_due=1, opened_on=T1, updated_on=T1
    )
    with time_machine.travel(at(T1, 9)):
        for code in ("collection_reminder", "collection_call_back"):
            assert contacts.send_collection_sms(case=case, staff=collector, template_code=code)[
                1
            ].allowed
    with time_machine.travel(at(T1, 9, 30), tick=False):
        counts = queue_reminders(business_date=T1)
    assert counts["pre-report notice"] + counts["overdue"] == 1
    assert sorted(auto_log(loan.borrower).values_list("allowed", "blocked_rule")) == [
        (False, Rule.SMS_CAP),
        (True, ""),
    ]
    assert collection_sms(loan.borrower).count() == 3


def test_seven_contacts_in_seven_days_stop_the_automated_sms(loan):
    borrower = loan.borrower
    for n in range(6, 0, -1):  # a call a day on the six days before T+1
        guard.attempt(
            borrower=borrower, channel=Channel.CALL, staff=None, at=at(T1 - timedelta(days=n), 10)
        )
    end_of_day(T1)
    reminders(T1)
    # The pre-report notice is the 7th contact in 7 days; the overdue notice would be the 8th.
    log = auto_log(borrower).order_by("id")
    assert [(a.template_code, a.allowed, a.blocked_rule) for a in log] == [
        ("pre_report_notice", True, ""),
        ("overdue_notice", False, Rule.WEEKLY_CONTACTS),
    ]
    assert list(collection_sms(borrower).values_list("template", flat=True)) == [
        "pre_report_notice"
    ]


def test_a_collection_sms_queued_directly_passes_the_guard_too(loan):
    borrower = loan.borrower
    with time_machine.travel(at(DUE, 22)):  # queued at night: goes out, and is logged, at 08:00
        message = sms_services.queue_from_template(
            borrower=borrower, template_code="overdue_notice", context={}, dedupe_key="direct-1"
        )
    row = auto_log(borrower).get()
    assert (row.sms, row.at, row.allowed) == (message, at(T1, 8), True)
    Complaint.objects.create(
        borrower=borrower,
        kind=Complaint.Kind.COMPLAINT,
        category=Complaint.Category.CONDUCT,
        description="催收态度差",
        source=Complaint.Source.STAFF,
    )
    with time_machine.travel(at(T1, 10)), pytest.raises(ContactRefused) as refused:
        sms_services.queue_from_template(
            borrower=borrower, template_code="overdue_notice", context={}, dedupe_key="direct-2"
        )
    assert refused.value.rule == Rule.COMPLAINT_OPEN
    assert "Complaint open" in str(refused.value)
    assert not SmsMessage.objects.filter(dedupe_key="direct-2").exists()
