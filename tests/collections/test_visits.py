"""上门 (home visits): maker-checker approval, the notice ≥ 3 days ahead inside the contact
window, /verify/ naming the visitor, the written report; the borrower's encrypted address."""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from debt_collection.models import (
    CaseStatus,
    Channel,
    CollectionCase,
    Collector,
    ContactAttempt,
    ContactRestriction,
    HomeVisit,
)
from debt_collection.services import visits
from loans.models import Borrower
from loans.roles import COLLECTION_SUPERVISOR, COLLECTOR, RISK_OFFICER
from notifications.models import SmsMessage, SmsTemplate
from tests import factories

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 10)
MORNING = datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)
ADDRESS = "贵州省贵阳市南明区花果园大街88号3栋1单元502"
MOBILE = "13987654321"


def grant(user, *codenames):
    """Permissions given to the user directly, so these tests do not lean on the group grants."""
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="collections", codename=codename)
        )
    return type(user).objects.get(pk=user.pk)  # a fresh object: no stale permission cache


def make_collector(number: str, *, first="四", last="李", group=COLLECTOR, perms=("work_case",)):
    user = factories.staff(group)
    user.first_name, user.last_name = first, last
    user.save()
    user = grant(user, *perms)
    return Collector.objects.create(user=user, staff_number=number, queue="M1")


@pytest.fixture
def collector():
    return make_collector("C0012")


@pytest.fixture
def supervisor():
    user = factories.staff(COLLECTION_SUPERVISOR)
    return grant(user, "supervise_case", "approve_homevisit")


@pytest.fixture
def case(collector):
    with time_machine.travel(datetime(2026, 1, 15, 10, tzinfo=SHANGHAI)):
        borrower = factories.borrower(name="王小明", mobile=MOBILE, income="50000")
        loan = factories.loan(on=date(2026, 1, 15), borrower_obj=borrower)
    borrower.address = ADDRESS
    borrower.save()
    return CollectionCase.objects.create(
        loan=loan,
        borrower=borrower,
        status=CaseStatus.IN_PROGRESS,
        bucket="M1",
        days_past_due=8,
        assigned_to=collector,
        opened_on=TODAY - timedelta(days=6),
        updated_on=TODAY,
    )


@pytest.fixture(autouse=True)
def morning():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


def request(case, collector, *, on=TODAY + timedelta(days=3), start="10:00", end="12:00"):
    return visits.request_visit(
        case=case,
        staff=collector.user,
        visit_date=on,
        window_start=time.fromisoformat(start),
        window_end=time.fromisoformat(end),
        visitor=collector,
        purpose="面谈还款安排",
    )


def test_another_supervisor_approves_and_the_notice_names_date_window_and_visitor(
    case, collector, supervisor, sms_outbox, django_capture_on_commit_callbacks
):
    visit = request(case, collector)
    with django_capture_on_commit_callbacks(execute=True):
        visit = visits.decide_visit(visit=visit, staff=supervisor, approve=True, note="同意")
    assert visit.status == HomeVisit.Status.APPROVED
    assert visit.decided_by == supervisor
    case.refresh_from_db()
    assert case.status == CaseStatus.VISIT_SCHEDULED
    notice = SmsMessage.objects.get(pk=visit.notice_id)
    assert notice.template == "visit_notice"
    assert notice.purpose == SmsMessage.Purpose.TRANSACTIONAL
    assert notice.status == SmsMessage.Status.SENT  # sent at once, in the morning
    for fact in ("2026-03-13", "10:00", "12:00", "C0012", "李*"):
        assert fact in notice.text
    assert "李四" not in notice.text and "四李" not in notice.text
    assert [m.text for m in sms_outbox] == [notice.text]
    contact = ContactAttempt.objects.get(case=case)
    assert (contact.channel, contact.allowed, contact.staff) == (Channel.VISIT, True, supervisor)


def test_the_requester_cannot_decide_their_own_visit_nor_can_a_collector(
    case, collector, supervisor
):
    own = visits.request_visit(
        case=case,
        staff=supervisor,
        visit_date=TODAY + timedelta(days=4),
        window_start=time(9),
        window_end=time(10),
        visitor=collector,
    )
    with pytest.raises(PermissionDenied, match="requested a visit cannot decide it"):
        visits.decide_visit(visit=own, staff=supervisor, approve=True)
    with pytest.raises(PermissionDenied, match="Only a collection supervisor"):
        visits.decide_visit(visit=own, staff=collector.user, approve=True)
    own.refresh_from_db()
    assert own.status == HomeVisit.Status.REQUESTED and own.notice is None
    assert not SmsMessage.objects.exists()
    assert not ContactAttempt.objects.exists()
    second = grant(factories.staff(COLLECTION_SUPERVISOR), "approve_homevisit")
    rejected = visits.decide_visit(visit=own, staff=second, approve=False, note="先电话沟通")
    assert (rejected.status, rejected.decision_note) == (HomeVisit.Status.REJECTED, "先电话沟通")
    assert not SmsMessage.objects.exists()


def test_another_collectors_case_cannot_be_asked_for(case):
    other = make_collector("C0099", first="五", last="赵")
    with pytest.raises(PermissionDenied):
        request(case, other)


def test_the_notice_reaches_the_borrower_at_least_three_days_ahead(
    case, collector, supervisor, morning
):
    with pytest.raises(ValidationError, match="at least 3 days ahead") as refused:
        request(case, collector, on=TODAY + timedelta(days=2))
    assert "2026-03-13" in str(refused.value)
    visit = request(case, collector, on=TODAY + timedelta(days=3))
    morning.move_to(MORNING + timedelta(days=1))  # decided a day later: only two days left
    with pytest.raises(ValidationError, match="at least 3 days ahead"):
        visits.decide_visit(visit=visit, staff=supervisor, approve=True)
    visit.refresh_from_db()
    assert visit.status == HomeVisit.Status.REQUESTED
    assert not SmsMessage.objects.exists()


@pytest.mark.parametrize(
    "start, end",
    [
        ("07:30", "09:00"),
        ("07:59", "08:30"),
        ("20:00", "21:30"),
        ("20:30", "21:01"),
        ("11:00", "11:00"),
        ("12:00", "10:00"),
    ],
)
def test_a_visit_outside_the_contact_window_cannot_be_scheduled(case, collector, start, end):
    with pytest.raises(ValidationError):
        request(case, collector, start=start, end=end)
    assert not HomeVisit.objects.exists()


def test_the_window_may_fill_the_contact_window_and_follows_its_setting(case, collector, settings):
    assert request(case, collector, start="08:00", end="21:00").pk
    HomeVisit.objects.all().delete()
    settings.COLLECTION_CONTACT_WINDOW = ("09:00", "18:00")
    with pytest.raises(ValidationError, match="09:00–18:00"):
        request(case, collector, start="08:00", end="10:00")


def test_no_address_no_visit(case, collector):
    case.borrower.address = ""
    case.borrower.save()
    with pytest.raises(ValidationError, match="no residential address"):
        request(case, collector)


def test_when_the_guard_blocks_the_notice_the_approval_is_refused_and_the_block_logged(
    case, collector, supervisor, morning
):
    visit = request(case, collector)
    # The borrower asked for written contact only after the visit was requested.
    ContactRestriction.objects.create(
        borrower=case.borrower, scope=ContactRestriction.Scope.WRITTEN_ONLY, recorded_by=supervisor
    )
    with pytest.raises(ValidationError) as refused:
        visits.decide_visit(visit=visit, staff=supervisor, approve=True)
    assert refused.value.error_list[0].code == "opted_out"
    blocked = ContactAttempt.objects.get(case=case)
    assert (blocked.channel, blocked.allowed, blocked.blocked_rule) == (
        Channel.VISIT,
        False,
        "opted_out",
    )
    visit.refresh_from_db()
    assert visit.status == HomeVisit.Status.REQUESTED
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS
    assert not SmsMessage.objects.exists()


def verify(client, phone, code):
    response = client.post(
        "/verify/", {"phone": phone, "code": code}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    match = re.search(
        r'<section[^>]*id="verify-result".*?</section>', response.content.decode(), re.S
    )
    return response, match.group(0)


def test_verify_confirms_a_visit_notice_and_names_the_visitor_masked(
    client, case, collector, supervisor, django_capture_on_commit_callbacks
):
    visit = request(case, collector)
    with django_capture_on_commit_callbacks(execute=True):
        visit = visits.decide_visit(visit=visit, staff=supervisor, approve=True)
    code = SmsMessage.objects.get(pk=visit.notice_id).verification_code
    response, result = verify(client, MOBILE, code)
    assert response.status_code == 200
    assert 'data-result="genuine"' in result
    assert "C0012" in result and "李*" in result
    assert "李四" not in response.content.decode()
    assert "2026-03-13" in result and "10:00" in result
    # A look-alike text with a made-up code is not ours.
    _response, fake = verify(client, MOBILE, "ZZZZZ" if code != "ZZZZZ" else "YYYYY")
    assert 'data-result="not_found"' in fake


def test_the_visitor_reports_on_the_day_and_the_visit_is_done(case, collector, supervisor, morning):
    visit = visits.decide_visit(visit=request(case, collector), staff=supervisor, approve=True)
    with pytest.raises(ValidationError, match="on or after its date"):
        visits.report_visit(visit=visit, staff=collector.user, report="见到本人")
    morning.move_to(datetime(2026, 3, 13, 12, 30, tzinfo=SHANGHAI))
    with pytest.raises(ValidationError):
        visits.report_visit(visit=visit, staff=collector.user, report="   ")
    stranger = make_collector("C0099", first="五", last="赵")
    with pytest.raises(PermissionDenied):
        visits.report_visit(visit=visit, staff=stranger.user, report="见到本人")
    done = visits.report_visit(
        visit=visit, staff=collector.user, report="见到本人，承诺3月20日前还款1000元。"
    )
    assert done.status == HomeVisit.Status.DONE
    assert done.report.startswith("见到本人")
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS
    with pytest.raises(ValidationError):
        visits.report_visit(visit=done, staff=collector.user, report="again")


def test_the_seeded_templates_render_their_samples_and_pass_the_template_checks():
    codes = [
        "visit_notice",
        "complaint_ack",
        "hardship_decided",
        "collection_reminder",
        "collection_call_back",
    ]
    templates = {t.code: t for t in SmsTemplate.objects.filter(code__in=codes)}
    assert set(templates) == set(codes)
    for template in templates.values():
        template.full_clean()  # renders both languages with the sample data, no links
        for language in ("zh-hans", "en"):
            text = template.render(template.sample_context, language=language)
            for value in template.sample_context.values():
                if not isinstance(value, bool):
                    assert str(value) in text, (template.code, language, value)
    purposes = {code: t.purpose for code, t in templates.items()}
    assert purposes == {
        "visit_notice": "transactional",
        "complaint_ack": "transactional",
        "hardship_decided": "transactional",
        "collection_reminder": "collection",
        "collection_call_back": "collection",
    }
    rejected = templates["hardship_decided"].render(
        {**templates["hardship_decided"].sample_context, "approved": False}
    )
    assert "未获批准" in rejected and "顺延" not in rejected


# The residential address: encrypted like the other personal data, masked on staff screens.


def test_the_address_is_ciphertext_at_rest_and_survives_key_rotation(case, settings):
    borrower = case.borrower
    with connection.cursor() as cursor:
        cursor.execute("SELECT address FROM loans_borrower WHERE id = %s", [borrower.pk])
        (stored,) = cursor.fetchone()
    assert stored and "贵阳" not in stored
    old_key = settings.PII_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_pii_keys", stdout=open("/dev/null", "w"))
    settings.PII_ENCRYPTION_KEYS = [new_key]
    assert Borrower.objects.get(pk=borrower.pk).address == ADDRESS
    with connection.cursor() as cursor:
        cursor.execute("SELECT address FROM loans_borrower WHERE id = %s", [borrower.pk])
        (rotated,) = cursor.fetchone()
    assert Fernet(new_key.encode()).decrypt(rotated.encode()).decode() == ADDRESS


def test_staff_screens_show_the_address_masked_and_can_record_a_new_one(client, case):
    borrower = case.borrower
    assert borrower.masked_address == "贵州省贵阳市****"
    officer = factories.staff(RISK_OFFICER)  # may change borrowers and reveal personal data
    client.force_login(officer)
    url = reverse("admin:loans_borrower_change", args=[borrower.pk])
    page = client.get(url).content.decode()
    assert "贵州省贵阳市****" in page
    assert "花果园" not in page
    context = client.get(url).context
    form = context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    for inline in context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
    data["new_address"] = "贵州省遵义市红花岗区中华路1号"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Borrower.objects.get(pk=borrower.pk).address == "贵州省遵义市红花岗区中华路1号"
    collector = factories.staff(COLLECTOR)  # sees borrowers, changes none
    client.force_login(collector)
    page = client.get(url).content.decode()
    assert "贵州省遵义市****" in page and "红花岗" not in page
    assert 'name="new_address"' not in page


def test_a_case_has_one_visit_waiting_at_a_time(case, collector, supervisor):
    first = request(case, collector)
    with pytest.raises(ValidationError, match="already has a visit"):
        request(case, collector, on=TODAY + timedelta(days=5))
    visits.decide_visit(visit=first, staff=supervisor, approve=False)
    assert request(case, collector, on=TODAY + timedelta(days=5)).pk


def test_a_visit_approved_after_hours_is_announced_when_the_window_opens(
    case, collector, supervisor, morning, sms_outbox
):
    visit = request(case, collector, on=TODAY + timedelta(days=4))
    morning.move_to(datetime(2026, 3, 10, 21, 30, tzinfo=SHANGHAI))
    visit = visits.decide_visit(visit=visit, staff=supervisor, approve=True)
    assert visit.status == HomeVisit.Status.APPROVED
    notice = SmsMessage.objects.get(pk=visit.notice_id)
    assert notice.status == SmsMessage.Status.QUEUED and not sms_outbox  # nothing at night
    opens = datetime(2026, 3, 11, 8, 0, tzinfo=SHANGHAI)
    assert notice.send_after == opens
    assert ContactAttempt.objects.get(case=case).at == opens


def test_after_hours_the_three_days_count_from_the_morning_the_notice_goes_out(
    case, collector, supervisor, morning
):
    visit = request(case, collector, on=TODAY + timedelta(days=3))
    morning.move_to(datetime(2026, 3, 10, 21, 30, tzinfo=SHANGHAI))
    with pytest.raises(ValidationError, match="at least 3 days ahead"):
        visits.decide_visit(visit=visit, staff=supervisor, approve=True)
