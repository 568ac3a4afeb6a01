"""投诉 / 异议 (complaints and disputes): registered by staff or from the portal, acknowledged by
SMS, pausing collection on all the borrower's cases until answered in writing."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError

from debt_collection import guard
from debt_collection.models import (
    CaseStatus,
    Channel,
    CollectionCase,
    Collector,
    Complaint,
    HomeVisit,
)
from debt_collection.models.help import COMPLAINT_TARGET_DAYS
from debt_collection.services.complaints import register_complaint, resolve_complaint
from loans.roles import COLLECTION_SUPERVISOR, COLLECTOR, CUSTOMER_SERVICE
from notifications.models import SmsMessage
from tests import factories

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 10)
MORNING = datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)


def grant(user, *codenames):
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="collections", codename=codename)
        )
    return type(user).objects.get(pk=user.pk)


@pytest.fixture(autouse=True)
def morning():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def collector():
    return Collector.objects.create(
        user=factories.staff(COLLECTOR), staff_number="C0012", queue="M1"
    )


def open_case(borrower, collector, *, status=CaseStatus.IN_PROGRESS):
    with time_machine.travel(datetime(2026, 1, 15, 10, tzinfo=SHANGHAI)):
        loan = factories.loan(on=date(2026, 1, 15), borrower_obj=borrower)
    return CollectionCase.objects.create(
        loan=loan,
        borrower=borrower,
        status=status,
        bucket="M1",
        days_past_due=8,
        assigned_to=collector,
        opened_on=TODAY - timedelta(days=6),
        updated_on=TODAY,
    )


@pytest.fixture
def borrower():
    with time_machine.travel(datetime(2026, 1, 15, 10, tzinfo=SHANGHAI)):
        return factories.borrower(income="80000", mobile="13900001111")


@pytest.fixture
def cases(borrower, collector):
    """Two open cases of the borrower, and one of somebody else."""
    with time_machine.travel(datetime(2026, 1, 15, 10, tzinfo=SHANGHAI)):
        other = factories.borrower(income="50000")
    return (
        open_case(borrower, collector),
        open_case(borrower, collector, status=CaseStatus.PROMISE_TO_PAY),
        open_case(other, collector),
    )


@pytest.fixture
def resolver():
    return grant(factories.staff(CUSTOMER_SERVICE), "resolve_complaint")


def complain(borrower, *, staff=None, case=None, category=Complaint.Category.CONDUCT):
    return register_complaint(
        borrower=borrower,
        kind=Complaint.Kind.COMPLAINT
        if category == Complaint.Category.CONDUCT
        else Complaint.Kind.DISPUTE,
        category=category,
        description="催收员一天打了很多次电话。",
        source=Complaint.Source.STAFF if staff else Complaint.Source.PORTAL,
        staff=staff,
        case=case,
    )


def statuses(cases):
    return [CollectionCase.objects.get(pk=c.pk).status for c in cases]


def test_staff_register_a_complaint_the_borrower_is_texted_and_all_their_cases_pause(
    borrower, cases, collector, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        complaint = complain(borrower, staff=collector.user, case=cases[0])
    assert (complaint.source, complaint.registered_by) == (Complaint.Source.STAFF, collector.user)
    ack = complaint.acknowledgement
    assert (ack.template, ack.purpose) == ("complaint_ack", SmsMessage.Purpose.TRANSACTIONAL)
    assert complaint.reference in ack.text and str(COMPLAINT_TARGET_DAYS) in ack.text
    assert "书面答复" in ack.text and "暂停" in ack.text
    assert [m.text for m in sms_outbox] == [ack.text]
    assert statuses(cases) == [CaseStatus.PAUSED, CaseStatus.PAUSED, CaseStatus.IN_PROGRESS]


def test_a_portal_complaint_at_night_is_acknowledged_at_once_and_never_capped(
    borrower, cases, morning, sms_outbox, django_capture_on_commit_callbacks
):
    morning.move_to(datetime(2026, 3, 10, 23, 15, tzinfo=SHANGHAI))
    with django_capture_on_commit_callbacks(execute=True):
        complaints = [
            complain(borrower, category=category)
            for category in [
                Complaint.Category.AMOUNT,
                Complaint.Category.IDENTITY,
                Complaint.Category.OTHER,
                Complaint.Category.CONDUCT,
            ]
        ]
    assert all(c.source == Complaint.Source.PORTAL and c.registered_by is None for c in complaints)
    # Four acknowledgements in one night: transactional, sent at once, more than the
    # collection cap of three.
    assert len(sms_outbox) == 4
    acks = SmsMessage.objects.filter(pk__in=[c.acknowledgement_id for c in complaints])
    assert set(acks.values_list("status", flat=True)) == {SmsMessage.Status.SENT}
    assert len({c.reference for c in complaints}) == 4


@pytest.mark.parametrize(
    "change, field",
    [
        ({"description": "  "}, "description"),
        ({"description": "a\x00b"}, "description"),
        ({"category": "threat"}, "category"),
        ({"kind": "praise"}, "kind"),
        ({"source": Complaint.Source.STAFF}, "source"),  # staff source with no staff member
    ],
)
def test_a_complaint_that_says_nothing_or_nonsense_is_refused(borrower, cases, change, field):
    fields = {
        "borrower": borrower,
        "kind": Complaint.Kind.DISPUTE,
        "category": Complaint.Category.AMOUNT,
        "description": "金额不对",
        "source": Complaint.Source.PORTAL,
        **change,
    }
    with pytest.raises(ValidationError) as refused:
        register_complaint(**fields)
    assert field in refused.value.message_dict
    assert not Complaint.objects.exists() and not SmsMessage.objects.exists()
    assert statuses(cases[:2]) == [CaseStatus.IN_PROGRESS, CaseStatus.PROMISE_TO_PAY]


def test_a_case_of_another_borrower_cannot_carry_the_complaint(borrower, cases, collector):
    with pytest.raises(ValidationError, match="another borrower"):
        complain(borrower, staff=collector.user, case=cases[2])


def test_the_guard_blocks_every_contact_while_a_complaint_is_open(borrower, cases, resolver):
    at = MORNING
    assert guard.check(borrower=borrower, channel=Channel.CALL, at=at, case=cases[0]).allowed
    complaint = complain(borrower)
    for channel in (Channel.CALL, Channel.SMS, Channel.VISIT):
        decision = guard.check(borrower=borrower, channel=channel, at=at, case=cases[0])
        assert (decision.allowed, decision.rule) == (False, guard.Rule.COMPLAINT_OPEN)
    resolve_complaint(complaint=complaint, staff=resolver, resolution="已核实，已向您书面致歉。")
    assert guard.check(borrower=borrower, channel=Channel.CALL, at=at, case=cases[0]).allowed


def test_resolving_in_writing_resumes_collection_once_no_complaint_is_open(
    borrower, cases, resolver, collector
):
    first = complain(borrower)
    second = complain(borrower, staff=collector.user, category=Complaint.Category.AMOUNT)
    with pytest.raises(PermissionDenied):
        resolve_complaint(complaint=first, staff=collector.user, resolution="已处理")
    with pytest.raises(ValidationError):
        resolve_complaint(complaint=first, staff=resolver, resolution="  ")
    done = resolve_complaint(
        complaint=first, staff=resolver, resolution="经核查，催收员已停止联系。"
    )
    assert (done.is_open, done.resolved_by) == (False, resolver)
    assert statuses(cases[:2]) == [CaseStatus.PAUSED, CaseStatus.PAUSED]  # the dispute is open
    with pytest.raises(ValidationError, match="resolved already"):
        resolve_complaint(complaint=first, staff=resolver, resolution="again")
    resolve_complaint(complaint=second, staff=resolver, resolution="经核对，金额无误，明细已寄送。")
    assert statuses(cases) == [CaseStatus.IN_PROGRESS] * 3


def test_a_visit_still_to_come_is_called_off(borrower, cases, collector):
    supervisor = grant(factories.staff(COLLECTION_SUPERVISOR), "supervise_case")
    cases[0].borrower.address = "贵州省贵阳市云岩区中华北路2号"
    cases[0].borrower.save()
    visit = HomeVisit.objects.create(
        case=cases[0],
        visit_date=TODAY + timedelta(days=4),
        window_start=time(10),
        window_end=time(11),
        visitor=collector,
        requested_by=supervisor,
        status=HomeVisit.Status.APPROVED,
    )
    complain(borrower)
    visit.refresh_from_db()
    assert visit.status == HomeVisit.Status.CANCELLED


def test_age_is_measured_against_the_fifteen_day_target(borrower, cases, morning, resolver):
    complaint = complain(borrower)
    assert (complaint.days_open, complaint.overdue_against_target) == (0, False)
    assert complaint.answer_due_on == TODAY + timedelta(days=COMPLAINT_TARGET_DAYS)
    morning.move_to(MORNING + timedelta(days=COMPLAINT_TARGET_DAYS))
    complaint.refresh_from_db()
    assert (complaint.days_open, complaint.overdue_against_target) == (15, False)
    assert not Complaint.objects.past_target().exists()
    morning.move_to(MORNING + timedelta(days=COMPLAINT_TARGET_DAYS + 1))
    assert (complaint.days_open, complaint.overdue_against_target) == (16, True)
    assert list(Complaint.objects.past_target()) == [complaint]
    answered = resolve_complaint(complaint=complaint, staff=resolver, resolution="已书面答复。")
    morning.move_to(MORNING + timedelta(days=40))
    assert answered.days_open == 16 and answered.overdue_against_target  # answered late
    assert not Complaint.objects.past_target().exists()
