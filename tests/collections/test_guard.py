"""The compliance guard (DESIGN §6): each rule allows at its limit and blocks one step past it,
every attempt is logged, and a refusal names its rule in English and Chinese."""

import inspect
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.utils import translation

from debt_collection import guard
from debt_collection.guard import Rule
from debt_collection.models import (
    BannedPhrase,
    CallOutcome,
    Channel,
    CollectionCase,
    Collector,
    Complaint,
    ContactAttempt,
    ContactRestriction,
    HardshipPlan,
)
from debt_collection.services import contacts
from loans.models import PiiAccessLog
from notifications import services as sms_services
from notifications.models import SmsMessage, SmsTemplate
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
DRAWN = date(2026, 1, 15)
DAY = date(2026, 3, 2)

pytestmark = pytest.mark.django_db


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SH)


@pytest.fixture
def borrower():
    with time_machine.travel(DRAWN):
        return factories.borrower()


@pytest.fixture
def collector():
    user = factories.staff()
    Collector.objects.create(user=user, staff_number="C0007", queue="M1")
    return user


@pytest.fixture
def case(collector):
    with time_machine.travel(DRAWN):
        loan = factories.loan(on=DRAWN)
    return CollectionCase.objects.create(
        loan=loan,
        borrower=loan.borrower,
        bucket="M1",
        days_past_due=15,
        overdue_principal=Decimal("900.00"),
        overdue_interest=Decimal("150.00"),
        overdue_penalty=Decimal("12.30"),
        overdue_total=Decimal("1062.30"),
        assigned_to=collector.collector,
        opened_on=DAY - timedelta(days=14),
        updated_on=DAY,
    )


def call(borrower, when, staff=None, **kwargs):
    return guard.attempt(borrower=borrower, channel=Channel.CALL, staff=staff, at=when, **kwargs)


def calls(borrower, n: int, day: date = DAY, start_hour: int = 9):
    return [call(borrower, at(day, start_hour + i))[0] for i in range(n)]


def answered(attempts, outcome=CallOutcome.Outcome.RIGHT_PARTY):
    for a in attempts:
        CallOutcome.objects.create(attempt=a, outcome=outcome, recorded_by=factories.staff())


def overdue_notice(borrower, key: str):
    """An automated collection SMS, queued now (tests travel to the hour they need)."""
    return sms_services.queue_from_template(
        borrower=borrower, template_code="overdue_notice", context={}, dedupe_key=key
    )


# --- Window ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hour, minute, allowed",
    [(7, 59, False), (8, 0, True), (20, 59, True), (21, 0, False), (23, 30, False), (3, 0, False)],
)
def test_the_contact_window_is_08_to_21_beijing_time(borrower, hour, minute, allowed):
    row, decision = call(borrower, at(DAY, hour, minute))
    assert decision.allowed is allowed
    assert row.allowed is allowed
    assert row.blocked_rule == ("" if allowed else Rule.WINDOW)
    for channel in (Channel.VISIT, Channel.AUTO_SMS):
        assert guard.check(
            borrower=borrower, channel=channel, at=at(DAY, hour, minute)
        ).allowed is (allowed)


@override_settings(COLLECTION_CONTACT_WINDOW=("09:00", "20:00"))
def test_a_narrower_window_is_applied_and_named(borrower):
    assert not call(borrower, at(DAY, 8, 59))[1].allowed
    assert call(borrower, at(DAY, 9, 0))[1].allowed
    _, late = call(borrower, at(DAY, 20, 0))
    assert late.rule == Rule.WINDOW
    assert "between 09:00 and 20:00" in late.message


@pytest.mark.parametrize(
    "window, error",
    [
        (("08:00", "21:00"), None),
        (("08:00", "22:00"), None),
        (("10:00", "18:00"), None),
        (("07:59", "21:00"), "collections.E002"),
        (("08:00", "22:01"), "collections.E002"),
        (("21:00", "08:00"), "collections.E002"),
        (("8am", "9pm"), "collections.E001"),
    ],
)
def test_a_system_check_refuses_a_window_wider_than_08_to_22(settings, window, error):
    settings.COLLECTION_CONTACT_WINDOW = window
    ids = [e.id for e in guard.rules.check_contact_settings()]
    assert ids == ([error] if error else [])


def test_a_system_check_refuses_a_weekly_cap_below_one(settings):
    settings.COLLECTION_WEEKLY_CONTACTS = 0
    assert [e.id for e in guard.rules.check_contact_settings()] == ["collections.E003"]


# --- Daily calls ----------------------------------------------------------------------------


def test_the_7th_call_attempt_of_a_day_is_blocked(borrower):
    assert all(a.allowed for a in calls(borrower, 6))
    row, decision = call(borrower, at(DAY, 16))
    assert (row.allowed, row.blocked_rule, decision.rule) == (
        False,
        Rule.CALL_ATTEMPTS,
        "call_attempts",
    )
    # A blocked attempt is not a call: the count stays at six, and the next day starts afresh.
    assert call(borrower, at(DAY, 17))[1].rule == Rule.CALL_ATTEMPTS
    assert call(borrower, at(DAY + timedelta(days=1), 8))[1].allowed


def test_the_day_is_the_local_day(borrower):
    """Six calls late on one Beijing day do not count against the next one (UTC would)."""
    for minute in range(6):
        assert call(borrower, at(DAY, 20, minute))[1].allowed
    assert call(borrower, at(DAY, 20, 30))[1].rule == Rule.CALL_ATTEMPTS
    assert call(borrower, at(DAY + timedelta(days=1), 8))[1].allowed


def test_the_4th_connected_call_of_a_day_is_blocked(borrower):
    unanswered = calls(borrower, 2)
    answered(unanswered, CallOutcome.Outcome.NO_ANSWER)
    connected = calls(borrower, 2, start_hour=11)
    answered(connected[:1], CallOutcome.Outcome.RIGHT_PARTY)
    answered(connected[1:], CallOutcome.Outcome.WRONG_NUMBER)  # someone answered: it counts
    third, decision = call(borrower, at(DAY, 14))
    assert decision.allowed  # two connected so far
    answered([third], CallOutcome.Outcome.REFUSED)
    row, decision = call(borrower, at(DAY, 15))
    assert (row.allowed, decision.rule) == (False, Rule.CONNECTED_CALLS)
    assert call(borrower, at(DAY + timedelta(days=1), 9))[1].allowed


def test_unanswered_calls_do_not_count_as_connected(borrower):
    answered(calls(borrower, 3), CallOutcome.Outcome.BUSY)
    assert call(borrower, at(DAY, 13))[1].allowed


# --- Collection SMS -------------------------------------------------------------------------


def test_the_4th_collection_sms_of_a_day_is_blocked_counting_the_automated_ones(case, collector):
    with time_machine.travel(at(DAY, 9)):
        assert overdue_notice(case.borrower, "auto-1") is not None
        assert overdue_notice(case.borrower, "auto-2") is not None
    with time_machine.travel(at(DAY, 10)):
        row, decision = contacts.send_collection_sms(
            case=case, staff=collector, template_code="collection_reminder"
        )
        assert decision.allowed and row.sms is not None
        row, decision = contacts.send_collection_sms(
            case=case, staff=collector, template_code="collection_call_back"
        )
    assert (row.allowed, row.blocked_rule, row.sms) == (False, Rule.SMS_CAP, None)
    assert "at most 3 collection SMS" in decision.message
    assert SmsMessage.objects.filter(borrower=case.borrower, purpose="collection").count() == 3
    with time_machine.travel(at(DAY + timedelta(days=1), 9)):
        assert contacts.send_collection_sms(
            case=case, staff=collector, template_code="collection_call_back"
        )[1].allowed


def test_a_collector_sms_goes_out_from_the_template_with_the_case_figures(case, collector):
    with time_machine.travel(at(DAY, 10)):
        row, decision = contacts.send_collection_sms(
            case=case, staff=collector, template_code="collection_reminder"
        )
    assert decision.allowed
    sms = row.sms
    assert (sms.purpose, sms.template, sms.borrower_id) == (
        "collection",
        "collection_reminder",
        case.borrower_id,
    )
    assert sms.phone == case.borrower.mobile
    assert "¥1062.30" in sms.text and "15天" in sms.text
    assert (row.channel, row.staff, row.case, row.template_code) == (
        Channel.SMS,
        collector,
        case,
        "collection_reminder",
    )


@pytest.mark.parametrize("code", ["repayment_received", "no_such_template", ""])
def test_an_sms_only_from_an_active_collection_template(case, collector, code):
    with time_machine.travel(at(DAY, 10)):
        row, decision = contacts.send_collection_sms(case=case, staff=collector, template_code=code)
    assert (row.allowed, decision.rule) == (False, Rule.TEMPLATE_NOT_APPROVED)
    assert not SmsMessage.objects.filter(borrower=case.borrower, purpose="collection").exists()


def test_a_deactivated_collection_template_is_refused(case, collector):
    SmsTemplate.objects.filter(code="collection_reminder").update(is_active=False)
    with time_machine.travel(at(DAY, 10)):
        _, decision = contacts.send_collection_sms(
            case=case, staff=collector, template_code="collection_reminder"
        )
    assert decision.rule == Rule.TEMPLATE_NOT_APPROVED


# --- Seven contacts in seven days -----------------------------------------------------------


def test_the_8th_contact_in_7_days_is_blocked_automated_sms_included(borrower):
    for n in range(5):  # one call a day, 10:00, on days 0-4
        assert call(borrower, at(DAY + timedelta(days=n), 10))[1].allowed
    with time_machine.travel(at(DAY + timedelta(days=5), 9)):
        overdue_notice(borrower, "auto-a")
        overdue_notice(borrower, "auto-b")
    assert ContactAttempt.objects.filter(borrower=borrower, channel=Channel.AUTO_SMS).count() == 2
    day6 = DAY + timedelta(days=6)
    row, decision = call(borrower, at(day6, 12))
    assert (row.allowed, decision.rule) == (False, Rule.WEEKLY_CONTACTS)
    assert guard.check(borrower=borrower, channel=Channel.VISIT, at=at(day6, 12)).rule == (
        Rule.WEEKLY_CONTACTS
    )
    # Exactly 7 × 24 h after the first call it no longer counts.
    day7 = DAY + timedelta(days=7)
    assert call(borrower, at(day7, 9, 59))[1].rule == Rule.WEEKLY_CONTACTS
    assert call(borrower, at(day7, 10, 0))[1].allowed


@override_settings(COLLECTION_WEEKLY_CONTACTS=3)
def test_the_weekly_cap_is_a_setting(borrower):
    for n in range(3):
        assert call(borrower, at(DAY + timedelta(days=n), 10))[1].allowed
    _, decision = call(borrower, at(DAY + timedelta(days=3), 10))
    assert decision.rule == Rule.WEEKLY_CONTACTS
    assert "at most 3 contacts" in decision.message


# --- Free text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, phrase",
    [
        ("再不还钱就爆通讯录", "爆通讯录"),
        ("我们会 爆 通讯录！", "爆通讯录"),
        ("爆-通-讯-录", "爆通讯录"),
        ("小心我们通知你家人", "通知你家人"),
        ("The POLICE will come", "police"),
        ("ＰＯＬＩＣＥ", "police"),  # full-width letters
        ("We will tell your family.", "we will tell your family"),
        ("请于3月5日前还款，谢谢。", None),
        ("Please repay ¥500 by Friday.", None),
    ],
)
def test_banned_phrases_are_caught_whatever_the_spacing_and_case(text, phrase):
    found = guard.check_text(text)
    if phrase is None:
        assert found is None
    else:
        assert guard.rules._squeezed(found) == guard.rules._squeezed(phrase)


def test_the_banned_list_is_editable(borrower):
    assert guard.check_text("你这个骗贷的") is None
    BannedPhrase.objects.create(phrase="骗贷", category=BannedPhrase.Category.INSULT)
    assert guard.check_text("你这个骗 贷的") == "骗贷"
    BannedPhrase.objects.filter(phrase="警察").update(is_active=False)
    assert guard.check_text("警察") is None


def test_free_text_with_a_banned_phrase_is_refused_and_logged(borrower):
    row, decision = call(borrower, at(DAY, 10), text="不还钱就上门堵你")
    assert (row.allowed, decision.rule, decision.phrase) == (False, Rule.BANNED_PHRASE, "上门堵你")
    assert call(borrower, at(DAY, 11), text="请尽快还款")[1].allowed


# --- Pauses and opt-outs --------------------------------------------------------------------


def complaint(borrower, **fields):
    return Complaint.objects.create(
        borrower=borrower,
        kind=Complaint.Kind.COMPLAINT,
        category=Complaint.Category.CONDUCT,
        description="电话太多",
        source=Complaint.Source.STAFF,
        **fields,
    )


def test_an_open_complaint_pauses_every_channel_until_resolved(borrower):
    open_one = complaint(borrower)
    for channel in Channel.values:
        decision = guard.check(borrower=borrower, channel=channel, at=at(DAY, 10))
        assert decision.rule == Rule.COMPLAINT_OPEN
    row, _ = call(borrower, at(DAY, 10))
    assert (row.allowed, row.blocked_rule) == (False, Rule.COMPLAINT_OPEN)
    Complaint.objects.filter(pk=open_one.pk).update(resolved_at=at(DAY, 11), resolution="已答复")
    assert call(borrower, at(DAY, 12))[1].allowed


def test_a_kept_hardship_plan_pauses_contact_about_its_loan(case):
    plan = HardshipPlan.objects.create(
        loan=case.loan, case=case, extension_days=30, status=HardshipPlan.Status.PROPOSED
    )
    borrower = case.borrower
    assert call(borrower, at(DAY, 10), case=case)[1].allowed  # only proposed
    HardshipPlan.objects.filter(pk=plan.pk).update(status=HardshipPlan.Status.APPROVED)
    _, decision = call(borrower, at(DAY, 11), case=case)
    assert decision.rule == Rule.HARDSHIP_PLAN
    assert guard.check(borrower=borrower, channel=Channel.AUTO_SMS, at=at(DAY, 11)).rule == (
        Rule.HARDSHIP_PLAN
    )
    # Another loan of the same borrower is collected as usual.
    with time_machine.travel(DRAWN):
        other_loan = factories.loan(on=DRAWN, borrower_obj=borrower)
    other = CollectionCase.objects.create(
        loan=other_loan,
        borrower=borrower,
        bucket="M1",
        days_past_due=3,
        opened_on=DAY,
        updated_on=DAY,
    )
    assert call(borrower, at(DAY, 12), case=other)[1].allowed
    HardshipPlan.objects.filter(pk=plan.pk).update(status=HardshipPlan.Status.LAPSED)
    assert call(borrower, at(DAY, 13), case=case)[1].allowed


def test_channel_opt_outs(borrower):
    supervisor = factories.staff(superuser=True)
    no_calls = contacts.restrict_contact(borrower=borrower, scope="calls", staff=supervisor)
    assert call(borrower, at(DAY, 10))[1].rule == Rule.OPTED_OUT
    assert guard.check(borrower=borrower, channel=Channel.AUTO_SMS, at=at(DAY, 10)).allowed
    assert guard.check(borrower=borrower, channel=Channel.VISIT, at=at(DAY, 10)).allowed
    written = contacts.restrict_contact(
        borrower=borrower, scope="written_only", staff=supervisor, reason="借款人要求书面联系"
    )
    for channel in Channel.values:
        assert (
            guard.check(borrower=borrower, channel=channel, at=at(DAY, 10)).rule == Rule.OPTED_OUT
        )
    # Asking again changes nothing; lifting needs a supervisor and is recorded.
    assert (
        contacts.restrict_contact(borrower=borrower, scope="written_only", staff=supervisor)
        == written
    )
    with pytest.raises(PermissionDenied):
        contacts.lift_restriction(restriction=written, staff=factories.staff())
    lifted = contacts.lift_restriction(restriction=written, staff=supervisor)
    assert lifted.lifted_by == supervisor and lifted.lifted_at is not None
    assert guard.check(
        borrower=borrower, channel=Channel.SMS, at=at(DAY, 10), template_code="collection_reminder"
    ).allowed
    assert call(borrower, at(DAY, 11))[1].rule == Rule.OPTED_OUT  # "no calls" still stands
    contacts.lift_restriction(restriction=no_calls, staff=supervisor)
    assert call(borrower, at(DAY, 12))[1].allowed
    assert ContactRestriction.objects.filter(borrower=borrower, lifted_at__isnull=True).count() == 0


# --- Borrower only --------------------------------------------------------------------------


def test_a_case_is_worked_only_with_its_own_borrower(case, borrower):
    row, decision = call(borrower, at(DAY, 10), case=case)
    assert (row.allowed, decision.rule) == (False, Rule.NOT_BORROWER)


def test_no_contact_function_takes_a_phone_number():
    for function in (
        guard.attempt,
        guard.check,
        contacts.call_borrower,
        contacts.send_collection_sms,
    ):
        names = set(inspect.signature(function).parameters)
        assert not {n for n in names if "phone" in n or "mobile" in n or "number" in n}, function


def test_an_allowed_call_shows_the_borrowers_own_mobile_once_and_logs_it(case, collector):
    with time_machine.travel(at(DAY, 10)):
        row, decision, mobile = contacts.call_borrower(case=case, staff=collector)
    assert decision.allowed and mobile == case.borrower.mobile
    assert (row.channel, row.staff, row.case, row.mobile_revealed) == (
        Channel.CALL,
        collector,
        case,
        True,
    )
    reveal = PiiAccessLog.objects.get(user=collector)
    assert (reveal.borrower_id, reveal.field) == (case.borrower_id, "mobile")
    assert f"#{row.pk}" in reveal.reason


def test_a_blocked_call_shows_no_number(case, collector):
    with time_machine.travel(at(DAY, 22)):
        row, decision, mobile = contacts.call_borrower(case=case, staff=collector)
    assert (decision.rule, mobile, row.mobile_revealed) == (Rule.WINDOW, None, False)
    assert not PiiAccessLog.objects.exists()


def test_another_collector_cannot_call_the_case(case):
    other = factories.staff()
    Collector.objects.create(user=other, staff_number="C0008", queue="M1")
    with time_machine.travel(at(DAY, 10)), pytest.raises(PermissionDenied):
        contacts.call_borrower(case=case, staff=other)
    assert not ContactAttempt.objects.exists()


# --- Order and messages ---------------------------------------------------------------------


def test_the_first_failing_rule_is_the_one_named(borrower):
    calls(borrower, 6)
    assert call(borrower, at(DAY, 22))[1].rule == Rule.WINDOW  # not also the attempt count
    complaint(borrower)
    assert call(borrower, at(DAY, 22), text="爆通讯录")[1].rule == Rule.COMPLAINT_OPEN
    assert guard.ORDER[:3] == [Rule.NOT_BORROWER, Rule.COMPLAINT_OPEN, Rule.HARDSHIP_PLAN]
    assert guard.ORDER[-1] == Rule.WEEKLY_CONTACTS


def test_every_attempt_is_logged_allowed_or_blocked(borrower):
    staff = factories.staff()
    call(borrower, at(DAY, 7, 30), staff=staff)
    call(borrower, at(DAY, 9), staff=staff)
    log = list(ContactAttempt.objects.filter(borrower=borrower).order_by("at"))
    assert [(a.at, a.allowed, a.blocked_rule, a.staff) for a in log] == [
        (at(DAY, 7, 30), False, Rule.WINDOW, staff),
        (at(DAY, 9), True, "", staff),
    ]


@pytest.mark.parametrize(
    "rule, english, chinese",
    [
        (
            Rule.WINDOW,
            "Contact window: a borrower may be contacted only between 08:00 and 21:00",
            "联系时段",
        ),
        (Rule.CALL_ATTEMPTS, "Daily call attempts: at most 6 calls", "每日拨打次数"),
        (Rule.CONNECTED_CALLS, "Daily connected calls: at most 3", "每日接通次数"),
        (Rule.SMS_CAP, "Daily collection SMS: at most 3", "每日催收短信"),
        (Rule.WEEKLY_CONTACTS, "Weekly contacts: at most 7", "每周联系次数"),
        (Rule.TEMPLATE_NOT_APPROVED, "Approved templates only", "审核通过的模板"),
        (Rule.BANNED_PHRASE, "Banned phrase", "禁用词语"),
        (Rule.COMPLAINT_OPEN, "Complaint open", "投诉处理中"),
        (Rule.HARDSHIP_PLAN, "Hardship plan", "协商还款"),
        (Rule.OPTED_OUT, "Channel opt-out", "渠道限制"),
        (Rule.NOT_BORROWER, "Borrower only", "借款人本人"),
    ],
)
def test_a_refusal_names_its_rule_in_english_and_chinese(rule, english, chinese):
    decision = guard.Decision(allowed=False, rule=rule)
    with translation.override("en"):
        assert decision.message.startswith(english)
    with translation.override("zh-hans"):
        assert chinese in decision.message
        assert str(guard.RULE_MESSAGES[rule]) == decision.message


# --- Call outcomes --------------------------------------------------------------------------


def test_a_promise_on_a_call_becomes_the_cases_promise(case, collector):
    with time_machine.travel(at(DAY, 10)):
        row, _, _ = contacts.call_borrower(case=case, staff=collector)
        outcome = contacts.record_call_outcome(
            attempt=row,
            outcome=CallOutcome.Outcome.PROMISE,
            staff=collector,
            note="周五发工资后还",
            promise_amount=Decimal("500.00"),
            promise_date=DAY + timedelta(days=4),
        )
    assert outcome.connected and outcome.recorded_by == collector
    promise = case.promises.get()
    assert (promise.amount, promise.promised_on, promise.made_by) == (
        Decimal("500.00"),
        DAY + timedelta(days=4),
        collector,
    )
    with time_machine.travel(at(DAY, 11)), pytest.raises(ValidationError):
        contacts.record_call_outcome(
            attempt=row, outcome=CallOutcome.Outcome.PAID, staff=collector
        )  # once only


def test_a_dispute_on_a_call_pauses_contact(case, collector):
    with time_machine.travel(at(DAY, 10)):
        row, _, _ = contacts.call_borrower(case=case, staff=collector)
        with pytest.raises(ValidationError):  # a dispute says what is disputed
            contacts.record_call_outcome(
                attempt=row, outcome=CallOutcome.Outcome.DISPUTE, staff=collector
            )
        contacts.record_call_outcome(
            attempt=row,
            outcome=CallOutcome.Outcome.DISPUTE,
            staff=collector,
            note="借款人称罚息计算有误",
        )
        dispute = Complaint.objects.get(borrower=case.borrower)
        assert (dispute.kind, dispute.case, dispute.registered_by) == ("dispute", case, collector)
        _, decision, mobile = contacts.call_borrower(case=case, staff=collector)
    assert (decision.rule, mobile) == (Rule.COMPLAINT_OPEN, None)


def test_only_an_allowed_call_by_its_caller_gets_an_outcome(case, collector):
    with time_machine.travel(at(DAY, 22)):
        blocked, _, _ = contacts.call_borrower(case=case, staff=collector)
    with pytest.raises(ValidationError):
        contacts.record_call_outcome(
            attempt=blocked, outcome=CallOutcome.Outcome.NO_ANSWER, staff=collector
        )
    with time_machine.travel(at(DAY, 10)):
        allowed, _, _ = contacts.call_borrower(case=case, staff=collector)
    with pytest.raises(PermissionDenied):
        contacts.record_call_outcome(
            attempt=allowed, outcome=CallOutcome.Outcome.NO_ANSWER, staff=factories.staff()
        )
    assert not CallOutcome.objects.exists()
