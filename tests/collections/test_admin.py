"""The collections desk in the admin as collectors and supervisors use it: a collector's list
is their work queue in the order to work it, another collector's case answers 404 by any URL,
the case page is its timeline with actions that call the services and show what they said,
the contact log cannot be added to, changed or deleted from any screen, and borrowers' names
and mobiles stay masked."""

import os
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test import RequestFactory
from django.urls import reverse

from debt_collection import selectors
from debt_collection.models import (
    CallOutcome,
    CaseEvent,
    CaseStatus,
    Channel,
    CollectionCase,
    Collector,
    Complaint,
    ContactAttempt,
    HardshipPlan,
    HomeVisit,
    PromiseToPay,
)
from debt_collection.services import complaints as complaint_services
from loans.models import Loan
from loans.roles import AUDITOR, COLLECTION_SUPERVISOR, COLLECTOR, CUSTOMER_SERVICE
from notifications.models import SmsMessage
from tests import factories

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
DRAWN = date(2026, 1, 15)
DAY = date(2026, 3, 10)
MORNING = datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)
CASES = "admin:collections_collectioncase_changelist"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(MORNING, tick=False):
        yield


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


_numbers = iter(range(1, 10_000))


def collector(username=None, *, queue="M1"):
    user = factories.staff(COLLECTOR, username=username)
    return Collector.objects.create(user=user, staff_number=f"C{next(_numbers):04d}", queue=queue)


def supervisor():
    user = factories.staff(COLLECTION_SUPERVISOR)
    Collector.objects.create(user=user, staff_number=f"S{next(_numbers):04d}", queue="M1")
    return user


def open_case(owner, *, status=CaseStatus.IN_PROGRESS, total="1000.00", name="张三丰", **fields):
    with time_machine.travel(datetime(2026, 1, 15, 10, 0, tzinfo=SHANGHAI)):
        borrower = factories.borrower(name=name, income="50000")
        borrower.address = "贵州省贵阳市云岩区中华北路100号"
        borrower.save(update_fields=["address"])
        loan = factories.loan(on=DRAWN, borrower_obj=borrower)
    defaults = {
        "bucket": "M1",
        "days_past_due": 20,
        "overdue_principal": Decimal(total),
        "overdue_total": Decimal(total),
        "opened_on": DAY - timedelta(days=18),
        "updated_on": DAY,
    }
    return CollectionCase.objects.create(
        loan=loan,
        borrower=loan.borrower,
        status=status,
        assigned_to=owner,
        **{**defaults, **fields},
    )


def case_url(case, action=None):
    if action is None:
        return reverse("admin:collections_collectioncase_change", args=[case.pk])
    return reverse(f"admin:collections_collectioncase_{action}", args=[case.pk])


def listed(client, **params) -> list[int]:
    response = client.get(reverse(CASES), params)
    assert response.status_code == 200
    return [case.pk for case in response.context["cl"].result_list]


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# --- Isolation ------------------------------------------------------------------------------


def test_a_collector_sees_only_their_own_cases_and_anothers_answers_404_by_any_url(client):
    mine, theirs = collector(), collector()
    own = open_case(mine)
    other = open_case(theirs)
    client.force_login(mine.user)

    assert listed(client) == [own.pk]
    assert listed(client, q=str(other.pk)) == []  # searching by its number finds nothing
    assert client.get(case_url(own)).status_code == 200
    for url in [
        case_url(other),
        reverse("admin:collections_collectioncase_history", args=[other.pk]),
        reverse("admin:collections_collectioncase_delete", args=[other.pk]),
        reverse("admin:collections_collectioncase_change", args=[999_999]),
    ]:
        assert client.get(url).status_code == 404, url
    for action in ["call", "note", "promise", "sms", "visit", "complaint", "hardship"]:
        assert client.post(case_url(other, action), {"note-text": "x"}).status_code == 404
    assert not ContactAttempt.objects.exists()
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.NOTE).exists()
    # Nor can the collector filter the list by collector.
    client.raise_request_exception = False
    assert client.get(reverse(CASES), {"assigned_to__id__exact": theirs.pk}).status_code == 400

    client.force_login(supervisor())
    assert sorted(listed(client)) == sorted([own.pk, other.pk])
    assert client.get(case_url(other)).status_code == 200


def test_an_auditor_reads_every_case_but_has_no_actions(client):
    case = open_case(collector())
    client.force_login(factories.staff(AUDITOR))
    page = client.get(case_url(case))
    assert page.status_code == 200 and 'id="actions"' not in page.content.decode()
    assert client.post(case_url(case, "note"), {"note-text": "hello"}).status_code == 403


# --- The work queue -------------------------------------------------------------------------


def test_the_queue_puts_broken_promises_then_promises_due_then_new_cases_then_the_amount(client):
    me = collector()
    big = open_case(me, total="9000.00")
    paused = open_case(me, status=CaseStatus.PAUSED, total="50000.00")
    new = open_case(me, status=CaseStatus.NEW, total="200.00")
    small = open_case(me, total="300.00")
    broken = open_case(me, status=CaseStatus.BROKEN_PROMISE, total="100.00")
    promised = open_case(me, status=CaseStatus.PROMISE_TO_PAY, total="150.00")
    later = open_case(me, status=CaseStatus.PROMISE_TO_PAY, total="8000.00")
    for case, day in [(promised, DAY), (later, DAY + timedelta(days=5))]:
        PromiseToPay.objects.create(
            case=case, amount=Decimal("100"), promised_on=day, made_on=DAY, made_by=me.user
        )
    closed = open_case(me, status=CaseStatus.CLOSED, closed_on=DAY, close_reason="cured")
    expected = [broken.pk, promised.pk, new.pk, big.pk, later.pk, small.pk, paused.pk]

    assert [c.pk for c in selectors.work_queue(user=me.user)] == expected
    client.force_login(me.user)
    assert listed(client) == expected
    assert listed(client, state="closed") == [closed.pk]
    assert sorted(listed(client, state="all")) == sorted([*expected, closed.pk])
    page = client.get(reverse(CASES))
    text = page.content.decode()
    assert "Broken promise" in text and "Promise due" in text and "Contact paused" in text
    due = {c.pk: c.promise_due_on for c in page.context["cl"].result_list}
    assert (due[promised.pk], due[later.pk], due[big.pk]) == (DAY, DAY + timedelta(5), None)


def test_a_collectors_admin_home_is_their_work_queue(client):
    me = collector()
    client.force_login(me.user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response.url == reverse(CASES)
    client.force_login(supervisor())
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_queue_searches_by_case_number_loan_number_and_the_borrowers_mobile(client):
    me = collector()
    first, second = open_case(me), open_case(me)
    client.force_login(me.user)
    assert listed(client, q=f"#{first.pk}") == [first.pk]
    assert listed(client, q=f"L{second.loan_id}") == [second.pk]
    search = reverse("admin:collections_collectioncase_search")
    response = client.post(search, {"q": second.borrower.mobile})
    assert second.borrower.mobile not in response.url  # only its blind index travels
    assert [c.pk for c in client.get(response.url).context["cl"].result_list] == [second.pk]


# --- Masking --------------------------------------------------------------------------------


def test_names_and_mobiles_are_masked_on_the_queue_and_the_case_page(client):
    me = collector()
    case = open_case(me, name="欧阳娜娜")
    borrower = case.borrower
    client.force_login(me.user)
    for url in [reverse(CASES), case_url(case)]:
        page = client.get(url).content.decode()
        assert borrower.masked_name in page, url
        assert borrower.name not in page and borrower.mobile not in page, url
        assert borrower.id_number not in page, url


# --- Actions --------------------------------------------------------------------------------


def test_a_note_goes_through_the_service_and_an_empty_one_is_refused_on_the_form(client):
    me = collector()
    case = open_case(me)
    client.force_login(me.user)

    response = client.post(case_url(case, "note"), {"note-text": "借款人说下周发工资"}, follow=True)
    assert "Note added." in messages_of(response)
    assert case.events.get(kind=CaseEvent.Kind.NOTE).text == "借款人说下周发工资"
    assert "借款人说下周发工资" in response.content.decode()  # on the timeline

    refused = client.post(case_url(case, "note"), {"note-text": "   "})
    assert refused.status_code == 200 and case.events.filter(kind="note").count() == 1


def test_a_promise_the_service_refuses_is_shown_with_its_reason_and_a_good_one_is_kept(client):
    me = collector()
    case = open_case(me)
    client.force_login(me.user)
    too_late = (DAY + timedelta(days=20)).isoformat()

    refused = client.post(
        case_url(case, "promise"), {"promise-amount": "500", "promise-promised_on": too_late}
    )
    assert refused.status_code == 200
    assert "14 days ahead" in refused.content.decode()
    assert not PromiseToPay.objects.exists()

    ok = client.post(
        case_url(case, "promise"),
        {"promise-amount": "500", "promise-promised_on": (DAY + timedelta(days=3)).isoformat()},
        follow=True,
    )
    assert "Promise recorded." in messages_of(ok)
    case.refresh_from_db()
    assert case.status == CaseStatus.PROMISE_TO_PAY
    assert PromiseToPay.objects.get(case=case).amount == Decimal("500.00")


def test_an_allowed_call_shows_the_mobile_once_then_takes_the_outcome(client):
    me = collector()
    case = open_case(me)
    mobile = case.borrower.mobile
    client.force_login(me.user)

    call = client.post(case_url(case, "call"))
    assert call.status_code == 200
    assert mobile in call.content.decode()
    attempt = ContactAttempt.objects.get(case=case)
    assert attempt.allowed and attempt.mobile_revealed and attempt.staff == me.user

    page = client.get(case_url(case)).content.decode()
    assert mobile not in page  # not again: the case page offers the outcome form instead
    assert "Outcome of the call" in page

    outcome_url = reverse("admin:collections_collectioncase_outcome", args=[case.pk, attempt.pk])
    prefix = f"outcome-{attempt.pk}"
    done = client.post(
        outcome_url, {f"{prefix}-outcome": "no_answer", f"{prefix}-note": ""}, follow=True
    )
    assert "Call outcome recorded." in messages_of(done)
    assert CallOutcome.objects.get(attempt=attempt).outcome == "no_answer"
    assert mobile not in done.content.decode()
    again = client.post(outcome_url, {f"{prefix}-outcome": "busy"}, follow=True)
    assert CallOutcome.objects.count() == 1 and "already recorded" in again.content.decode()


def test_a_blocked_call_says_the_rule_and_shows_no_number(client):
    me = collector()
    case = open_case(me)
    client.force_login(me.user)
    with time_machine.travel(datetime(2026, 3, 10, 21, 30, tzinfo=SHANGHAI), tick=False):
        response = client.post(case_url(case, "call"), follow=True)
    page = response.content.decode()
    assert case.borrower.mobile not in page
    assert "Contact window" in page and "window" in page
    attempt = ContactAttempt.objects.get(case=case)
    assert (attempt.allowed, attempt.blocked_rule, attempt.mobile_revealed) == (
        False,
        "window",
        False,
    )
    assert "blocked" in client.get(case_url(case)).content.decode()  # on the timeline


def test_an_sms_from_an_approved_template_is_queued_and_logged(client, sms_outbox):
    me = collector()
    case = open_case(me)
    client.force_login(me.user)
    response = client.post(
        case_url(case, "sms"), {"sms-template_code": "collection_reminder"}, follow=True
    )
    assert "SMS queued." in messages_of(response)
    attempt = ContactAttempt.objects.get(case=case, channel=Channel.SMS)
    assert attempt.allowed and attempt.sms is not None


def test_a_complaint_from_the_case_page_pauses_the_case(client):
    me = collector()
    case = open_case(me)
    client.force_login(me.user)
    response = client.post(
        case_url(case, "complaint"),
        {
            "complaint-kind": "complaint",
            "complaint-category": "conduct",
            "complaint-description": "催收员语气不好",
        },
        follow=True,
    )
    assert any("paused" in m for m in messages_of(response))
    case.refresh_from_db()
    assert case.status == CaseStatus.PAUSED and Complaint.objects.get().case == case


def test_hostile_input_on_an_action_answers_400_and_a_get_405(client):
    me = collector()
    case = open_case(me)
    client.force_login(me.user)
    assert client.post(case_url(case, "note"), {"note-text": "a\x00b"}).status_code == 400
    assert client.get(case_url(case, "note")).status_code == 405
    assert client.get(case_url(case) + "?x=%00").status_code == 400


# --- Supervisors ----------------------------------------------------------------------------


def test_a_supervisor_reassigns_in_bulk_and_a_collector_has_no_such_action(client):
    first, second = collector(), collector()
    cases = [open_case(first), open_case(first)]
    client.force_login(first.user)
    assert client.get(reverse(CASES)).context["action_form"] is None  # no bulk action at all

    client.force_login(supervisor())
    response = client.post(
        reverse(CASES),
        {
            "action": "reassign",
            "_selected_action": [c.pk for c in cases],
            "collector": second.pk,
            "apply": "1",
        },
        follow=True,
    )
    assert any("2 cases reassigned" in m for m in messages_of(response))
    assert set(CollectionCase.objects.values_list("assigned_to", flat=True)) == {second.pk}
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.ASSIGNED, collector=second).count() == 2


def test_a_visit_is_requested_on_the_case_and_approved_by_another_supervisor(client, sms_outbox):
    me = collector()
    case = open_case(me)
    client.force_login(me.user)
    visit_day = (DAY + timedelta(days=5)).isoformat()
    client.post(
        case_url(case, "visit"),
        {
            "visit-visit_date": visit_day,
            "visit-window_start": "10:00",
            "visit-window_end": "12:00",
            "visit-visitor": me.pk,
            "visit-purpose": "当面沟通还款",
        },
    )
    visit = HomeVisit.objects.get(case=case)
    url = reverse("admin:collections_homevisit_changelist")
    client.force_login(supervisor())
    queue = client.get(url)
    assert [v.pk for v in queue.context["cl"].result_list] == [visit.pk]
    response = client.post(
        url,
        {"action": "approve", "_selected_action": [visit.pk], "note": "", "apply": "1"},
        follow=True,
    )
    assert "1 done." in messages_of(response)
    visit.refresh_from_db()
    assert visit.status == HomeVisit.Status.APPROVED and visit.notice is not None


def test_the_complaints_queue_shows_age_against_the_target_and_resolves_in_writing(client):
    case = open_case(collector())
    with time_machine.travel(MORNING - timedelta(days=17), tick=False):
        old = complaint_services.register_complaint(
            borrower=case.borrower,
            kind="dispute",
            category="amount",
            description="金额不对",
            source="staff",
            staff=factories.staff(CUSTOMER_SERVICE),
        )
    url = reverse("admin:collections_complaint_changelist")
    boss = supervisor()
    client.force_login(boss)
    page = client.get(url).content.decode()
    assert old.reference in page and "2 days over" in page
    response = client.post(
        url,
        {
            "action": "resolve",
            "_selected_action": [old.pk],
            "resolution": "已核对，金额无误，书面答复。",
            "apply": "1",
        },
        follow=True,
    )
    assert "1 done." in messages_of(response)
    old.refresh_from_db()
    assert old.resolved_by == boss and not old.is_open
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_PROGRESS


def test_customer_service_registers_a_complaint_through_the_service(client, sms_outbox):
    case = open_case(collector())
    client.force_login(factories.staff(CUSTOMER_SERVICE))
    add = reverse("admin:collections_complaint_add")
    assert client.get(add).status_code == 200
    response = client.post(
        add,
        {
            "borrower": case.borrower_id,
            "kind": "complaint",
            "category": "conduct",
            "description": "晚上十点还在打电话",
        },
        follow=True,
    )
    assert response.status_code == 200
    complaint = Complaint.objects.get()
    assert complaint.source == "staff" and complaint.acknowledgement is not None


def test_a_hardship_plan_is_decided_by_a_supervisor_other_than_its_proposer(client):
    case = open_case(collector(), days_past_due=40, bucket="M2")
    boss, other_boss = supervisor(), supervisor()
    client.force_login(boss)
    proposed = client.post(
        case_url(case, "hardship"),
        {"hardship-extension_days": "30", "hardship-reason": "失业，下月入职"},
        follow=True,
    )
    assert any("proposed" in m for m in messages_of(proposed)), messages_of(proposed)
    plan = HardshipPlan.objects.get(loan=case.loan)
    url = reverse("admin:collections_hardshipplan_changelist")
    assert [p.pk for p in client.get(url).context["cl"].result_list] == [plan.pk]
    refused = client.post(
        url,
        {"action": "approve", "_selected_action": [plan.pk], "note": "", "apply": "1"},
        follow=True,
    )
    assert any(f"{plan}:" in m for m in messages_of(refused)), messages_of(refused)
    plan.refresh_from_db()
    assert plan.status == HardshipPlan.Status.PROPOSED

    client.force_login(other_boss)
    client.post(url, {"action": "approve", "_selected_action": [plan.pk], "note": "", "apply": "1"})
    plan.refresh_from_db()
    assert plan.status == HardshipPlan.Status.APPROVED and plan.decided_by == other_boss


# --- The contact log ------------------------------------------------------------------------


@pytest.mark.parametrize("model", [ContactAttempt, CallOutcome])
def test_no_screen_adds_changes_or_deletes_the_contact_log_not_even_for_a_superuser(client, model):
    me = collector()
    case = open_case(me)
    client.force_login(me.user)
    client.post(case_url(case, "call"))
    attempt = ContactAttempt.objects.get()
    CallOutcome.objects.create(attempt=attempt, outcome="busy", recorded_by=me.user)
    row = model.objects.get()

    root = factories.staff(superuser=True)
    request = type("R", (), {"user": root})()
    model_admin = admin.site._registry[model]
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, row)
    assert not model_admin.has_delete_permission(request, row)
    client.force_login(root)
    name = f"admin:collections_{model._meta.model_name}"
    assert client.get(reverse(f"{name}_add")).status_code == 403
    assert client.post(reverse(f"{name}_delete", args=[row.pk]), {"post": "yes"}).status_code == 403
    page = client.get(reverse(f"{name}_change", args=[row.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.get(reverse(f"{name}_changelist")).context["action_form"] is None
    assert model.objects.filter(pk=row.pk).exists()


def test_supervisors_and_auditors_read_the_contact_log_and_collectors_do_not(client):
    me = collector()
    case = open_case(me)
    client.force_login(me.user)
    with time_machine.travel(datetime(2026, 3, 10, 7, 0, tzinfo=SHANGHAI), tick=False):
        client.post(case_url(case, "call"))
    url = reverse("admin:collections_contactattempt_changelist")
    assert client.get(url).status_code == 403
    for user in [supervisor(), factories.staff(AUDITOR)]:
        client.force_login(user)
        blocked = client.get(url, {"allowed__exact": "0", "blocked_rule": "window"})
        assert [a.case_id for a in blocked.context["cl"].result_list] == [case.pk]


# --- The demo ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # end of day commits
def test_the_demo_has_every_status_and_a_days_work_for_the_collector_and_supervisor(client):
    devnull = open(os.devnull, "w")  # noqa: SIM115 - closed with the test
    call_command("load_demo_data", "--force", stdout=devnull)
    call_command("load_collections_demo", "--force", stdout=devnull)
    call_command("load_collections_demo", "--force", stdout=devnull)  # again: nothing doubles
    assert set(CollectionCase.objects.values_list("status", flat=True)) == set(CaseStatus.values)
    assert HomeVisit.objects.filter(status="approved", notice__template="visit_notice").exists()
    assert Complaint.objects.count() == 1 and HardshipPlan.objects.filter(status="approved")
    assert (
        ContactAttempt.objects.filter(allowed=False).values("blocked_rule").distinct().count() >= 3
    )
    assert SmsMessage.objects.filter(template="overdue_notice").exists()

    collector_user = Collector.objects.get(staff_number="C1001").user
    client.force_login(collector_user)
    queue = client.get(reverse(CASES)).context["cl"].result_list
    assert queue[0].status == CaseStatus.BROKEN_PROMISE and queue[1].queue_rank == 1
    for case in queue:
        assert client.get(case_url(case)).status_code == 200

    client.force_login(get_user_model().objects.get(username="supervisor"))
    for name in ["homevisit", "hardshipplan", "complaint"]:
        waiting = client.get(reverse(f"admin:collections_{name}_changelist")).context["cl"]
        assert waiting.result_count >= 1, name
    unassigned = client.get(reverse(CASES), {"assigned_to__isnull": "True"}).context["cl"]
    assert unassigned.result_count >= 1  # to reassign
    assert client.get(reverse("admin:collections_figures")).status_code == 200

    for role in [None, COLLECTOR, COLLECTION_SUPERVISOR, AUDITOR, CUSTOMER_SERVICE]:
        user = factories.staff(role, superuser=role is None)
        client.force_login(user)
        request = type("R", (), {"user": user})()
        for model, model_admin in admin.site._registry.items():
            if model._meta.app_label != "collections":
                continue
            name = f"admin:collections_{model._meta.model_name}"
            urls = []
            if model_admin.has_view_or_change_permission(request):
                urls.append(reverse(f"{name}_changelist"))
                first = model_admin.get_queryset(_Request(user)).first()
                if first is not None:
                    urls.append(reverse(f"{name}_change", args=[first.pk]))
            if model_admin.has_add_permission(request):
                urls.append(reverse(f"{name}_add"))
            for url in urls:
                assert client.get(url).status_code == 200, (role, url)


class _Request:
    def __init__(self, user):
        self.user, self.GET, self.method = user, {}, "GET"


# --- Query counts and timing ----------------------------------------------------------------


def _clone_loans(template: Loan, n: int) -> list[int]:
    """n more loans like `template` (own borrower, application and contract each), by SQL:
    a page's cost is about the cases, not how the loans were made."""
    from loans.models import Borrower, Contract, LoanApplication

    def copy(model, overrides: dict, template_pk: int, base: int) -> None:
        table = model._meta.db_table
        columns = [f.column for f in model._meta.concrete_fields]
        values = [overrides.get(c, f'"{c}"') for c in columns]
        names = ", ".join(f'"{c}"' for c in columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %s) "
                f"INSERT INTO {table} ({names}) SELECT {', '.join(values)} FROM {table}, s "
                f"WHERE {table}.id = %s",
                [n, template_pk],
            )
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {base + n})"
                )

    def base_of(model) -> int:
        return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 10

    b, a, c, lo = base_of(Borrower), base_of(LoanApplication), base_of(Contract), base_of(Loan)
    copy(
        Borrower,
        {
            "id": f"{b} + i",
            "id_number_index": "'bi-' || i",
            "mobile_index": "'mi-' || i",
            "user_id": "NULL",
        },
        template.borrower_id,
        b,
    )
    copy(LoanApplication, {"id": f"{a} + i", "borrower_id": f"{b} + i"}, template.application_id, a)
    copy(
        Contract,
        {"id": f"{c} + i", "application_id": f"{a} + i", "number": "'CL' || i"},
        template.contract.pk,
        c,
    )
    copy(
        Loan,
        {
            "id": f"{lo} + i",
            "borrower_id": f"{b} + i",
            "application_id": f"{a} + i",
            "contract_id": f"{c} + i",
        },
        template.pk,
        lo,
    )
    return list(range(lo + 1, lo + n + 1))


def _many_cases(owner, n: int, *, others=None) -> None:
    template = open_case(owner).loan
    loan_ids = _clone_loans(template, n)
    owners = [owner] + list(others or [])
    loans = dict(Loan.objects.filter(pk__in=loan_ids).values_list("pk", "borrower_id"))
    statuses = [CaseStatus.NEW, CaseStatus.IN_PROGRESS, CaseStatus.BROKEN_PROMISE]
    CollectionCase.objects.bulk_create(
        [
            CollectionCase(
                loan_id=loan_id,
                borrower_id=loans[loan_id],
                status=statuses[i % 3],
                bucket="M1",
                days_past_due=1 + i % 30,
                overdue_principal=Decimal(100 + i % 997),
                overdue_total=Decimal(100 + i % 997),
                assigned_to=owners[i % len(owners)],
                opened_on=DAY - timedelta(days=i % 30),
                updated_on=DAY,
            )
            for i, loan_id in enumerate(loan_ids)
        ],
        batch_size=2000,
    )


def _busy_case(owner) -> CollectionCase:
    """A case with a long timeline: calls and outcomes, notes, a promise, payments, SMS."""
    case = open_case(owner)
    for hour in range(8, 20):
        at = datetime(2026, 3, 1, hour, tzinfo=SHANGHAI)
        attempt = ContactAttempt.objects.create(
            borrower=case.borrower,
            case=case,
            staff=owner.user,
            at=at,
            channel=Channel.CALL,
            allowed=hour % 3 != 0,
            blocked_rule="" if hour % 3 else "window",
        )
        if attempt.allowed:
            CallOutcome.objects.create(attempt=attempt, outcome="busy", recorded_by=owner.user)
        CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.NOTE, actor=owner.user, text="n")
    PromiseToPay.objects.create(
        case=case, amount=Decimal("100"), promised_on=DAY, made_on=DAY, made_by=owner.user
    )
    return case


def test_the_queue_and_case_pages_make_the_same_few_queries_however_many_rows(
    client, django_assert_max_num_queries
):
    me = collector()
    _many_cases(me, 60, others=[collector()])
    busy = _busy_case(me)
    client.force_login(me.user)
    with django_assert_max_num_queries(14):
        assert client.get(reverse(CASES)).status_code == 200
    with django_assert_max_num_queries(22):
        page = client.get(case_url(busy))
    assert page.status_code == 200 and len(page.context["timeline"]) > 30
    client.force_login(supervisor())
    with django_assert_max_num_queries(16):
        assert client.get(reverse(CASES)).status_code == 200


def _best_ms(client, url, runs=15) -> float:
    """What the page costs to serve, in ms: this process's CPU time plus the time spent
    waiting on its SQL. Served through the whole middleware stack as a WSGI server would,
    logged in with the client's session; not through the test client, whose copying of every
    template context for the test's inspection would be most of the time measured. CPU time,
    not the wall clock, and the best of `runs` as `timeit` reports: the machine running the
    suite is shared, and other processes waiting for its two cores would otherwise be counted
    as this page's time (the wall clock at a million loans is measured by
    tests/benchmarks/admin_lists.py)."""
    handler = WSGIHandler()
    cookie = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
    in_sql = [0.0]

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            in_sql[0] += time.perf_counter() - started

    def serve() -> float:
        environ = RequestFactory()._base_environ(PATH_INFO=url, HTTP_COOKIE=cookie)
        statuses = []
        in_sql[0] = 0.0
        started = time.process_time()
        with connection.execute_wrapper(timed):
            body = b"".join(handler(environ, lambda status, headers: statuses.append(status)))
        elapsed = (time.process_time() - started + in_sql[0]) * 1000
        assert statuses == ["200 OK"] and body
        return elapsed

    # As the test client does: the test's transaction holds the connection open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        serve()  # warm
        return min(serve() for _ in range(runs))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.postgres
def test_on_postgresql_the_queue_and_case_pages_answer_within_200_ms(client):
    """At 5,000 open cases (the target holds at 50,000; see the README; the median at a
    million loans is measured by tests/benchmarks/admin_lists.py)."""
    me = collector()
    _many_cases(me, 5000, others=[collector(), collector()])
    busy = _busy_case(me)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    client.force_login(me.user)
    assert _best_ms(client, reverse(CASES)) < 200
    assert _best_ms(client, case_url(busy)) < 200
    client.force_login(supervisor())
    assert _best_ms(client, reverse(CASES)) < 200
