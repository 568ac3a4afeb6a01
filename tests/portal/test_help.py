"""Help in the portal: a borrower asks for a hardship plan (协商还款) or writes a complaint or
dispute (投诉 / 异议), and sees its status and the decision. Only their own: another borrower's
plan, complaint or loan is a 404 or a form error; a double submit acts once; bad input is a
form error, never a 500 and never a partial write."""

import re
import threading
from datetime import date, datetime, time
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import TestCase
from django.urls import reverse

from debt_collection.models import CaseStatus, CollectionCase, Complaint, HardshipPlan
from debt_collection.services import complaints as complaint_services
from debt_collection.services import hardship
from loans.services.restructuring import penalty_owed
from notifications.models import SmsMessage
from portal.session import BORROWER_SESSION_KEY
from tests import factories
from tests.collections.casework import SHANGHAI, eod, grant
from tests.collections.casework import loan as overdue_loan

pytestmark = pytest.mark.django_db
DAY = date(2026, 4, 20)  # the loan drawn on 2026-01-15 is 64 days past due, penalty charged
NOON = datetime.combine(DAY, time(12), SHANGHAI)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOON, tick=False):
        yield


@pytest.fixture
def loan():
    """The borrower's loan, overdue with penalty, its collection case open."""
    loan = overdue_loan()
    eod(DAY)
    assert penalty_owed(loan=loan) > 0
    return loan


@pytest.fixture
def other_loan():
    """Another borrower's active loan."""
    return factories.loan(on=DAY, borrower_obj=factories.borrower(name="李四", income="50000"))


def sign_in(client, borrower):
    session = client.session
    session[BORROWER_SESSION_KEY] = borrower.pk
    session.save()


def title(response) -> str:
    return re.search(r"<title>(.*?)</title>", response.content.decode(), flags=re.S).group(1)


def ask(client, target, *, lang="zh-hans", **fields):
    """Post the hardship form for loan `target`; `fields` change or add to it (even "loan")."""
    data = {
        "loan": str(target.pk),
        "extension_days": "30",
        "reason": "失业，收入中断",
        "can_pay_monthly": "500",
        **fields,
    }
    return client.post(reverse("portal:hardship_new"), data, HTTP_ACCEPT_LANGUAGE=lang)


def supervisor():
    return grant(factories.staff(), "add_hardshipplan", "decide_hardshipplan", "supervise_case")


# --- Pages ------------------------------------------------------------------------------------


def test_the_help_pages_render_for_their_owner_with_their_own_titles(client, loan):
    sign_in(client, loan.borrower)
    pages = ["portal:help", "portal:hardship_new", "portal:complaint_new"]
    titles = set()
    for name in pages:
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        titles.add(title(response))
    assert len(titles) == len(pages)
    page = client.get(reverse("portal:help")).content.decode()
    assert "95384" in page  # the official service number
    assert reverse("portal:hardship_new") in page and reverse("portal:complaint_new") in page
    form = client.get(reverse("portal:hardship_new")).content.decode()
    assert loan.contract.number in form
    assert f"¥{penalty_owed(loan=loan):,.2f}" in form  # what a full waiver would forgive


def test_signed_out_visitors_are_sent_to_log_in(client, loan):
    for name in ["portal:help", "portal:hardship_new", "portal:complaint_new"]:
        response = client.get(reverse(name))
        assert response.status_code == 302 and response.url == reverse("portal:login")
    assert client.post(reverse("portal:hardship_new"), {}).status_code == 302
    assert not HardshipPlan.objects.exists()


def test_a_borrower_without_an_active_loan_is_told_so(client):
    borrower = factories.borrower()
    sign_in(client, borrower)
    response = client.get(reverse("portal:hardship_new"))
    assert response.status_code == 200 and '<form method="post" novalidate>' not in (
        response.content.decode()
    )
    assert ask_nothing(client).status_code == 200 and not HardshipPlan.objects.exists()


def ask_nothing(client):
    return client.post(reverse("portal:hardship_new"), {"loan": "1", "reason": "x"})


# --- Hardship plans ---------------------------------------------------------------------------


def test_a_hardship_request_is_made_and_its_status_shown(client, loan):
    sign_in(client, loan.borrower)
    response = ask(client, loan, stop_interest="on")
    plan = HardshipPlan.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "portal:hardship", args=[plan.pk]
    )
    assert (plan.loan, plan.extension_days, plan.stop_interest) == (loan, 30, True)
    assert (plan.new_term, plan.penalty_waiver) == (None, None)
    assert plan.proposed_by_borrower and plan.proposed_by is None
    assert plan.status == HardshipPlan.Status.PROPOSED
    # The supervisor reads what the borrower can pay with the reason.
    assert plan.reason == "失业，收入中断\n\n每月可还 Can pay per month: ¥500.00"
    assert CollectionCase.objects.get(loan=loan).status == CaseStatus.HARDSHIP_REQUESTED
    page = client.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Proposed, waiting for a supervisor" in page
    assert "Every remaining due date 30 days later" in page
    assert "Stop further interest and penalty" in page
    assert loan.contract.number in page
    index = client.get(reverse("portal:help"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reverse("portal:hardship", args=[plan.pk]) in index
    assert "Proposed, waiting for a supervisor" in index


def test_a_double_submit_makes_one_plan(client, loan):
    sign_in(client, loan.borrower)
    first = ask(client, loan, waiver="all")
    second = ask(client, loan, waiver="all")
    plan = HardshipPlan.objects.get()
    assert first.url == second.url == reverse("portal:hardship", args=[plan.pk])
    assert plan.penalty_waiver == penalty_owed(loan=loan)


def test_a_second_different_request_while_one_is_pending_is_refused_clearly(client, loan):
    sign_in(client, loan.borrower)
    ask(client, loan)
    plan = HardshipPlan.objects.get()
    response = ask(client, loan, extension_days="", new_term="12", lang="en")
    assert response.status_code == 200
    assert "already has a hardship plan proposed or being kept" in response.content.decode()
    assert reverse("portal:hardship", args=[plan.pk]) in response.content.decode()
    assert HardshipPlan.objects.count() == 1


def test_a_whole_waiver_is_the_penalty_owed_to_the_fen(client, loan):
    sign_in(client, loan.borrower)
    owed = penalty_owed(loan=loan)
    ask(client, loan, extension_days="", waiver="all")
    plan = HardshipPlan.objects.get()
    assert plan.penalty_waiver == owed and plan.penalty_waiver.as_tuple().exponent == -2


def test_a_part_waiver_more_than_the_penalty_owed_is_refused_on_its_field(client, loan):
    sign_in(client, loan.borrower)
    owed = penalty_owed(loan=loan)
    too_much = owed + Decimal("0.01")
    response = ask(client, loan, waiver="part", penalty_waiver=str(too_much), lang="en")
    assert response.status_code == 200
    assert f"more than the penalty owed on this loan (¥{owed:.2f})" in response.content.decode()
    assert response.context["form"].errors["penalty_waiver"]
    assert not HardshipPlan.objects.exists()
    ask(client, loan, waiver="part", penalty_waiver=str(owed - Decimal("0.01")))
    assert HardshipPlan.objects.get().penalty_waiver == owed - Decimal("0.01")


def test_no_penalty_to_waive_on_a_loan_that_is_not_late(client, other_loan):
    sign_in(client, other_loan.borrower)
    response = ask(client, other_loan, extension_days="", waiver="all")
    assert response.status_code == 200 and response.context["form"].errors["waiver"]
    assert not HardshipPlan.objects.exists()


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"reason": ""}, "reason"),
        ({"reason": "   \n "}, "reason"),
        ({"reason": "a\x00b"}, "reason"),
        ({"reason": "x" * 10_000}, "reason"),
        ({"extension_days": "-5"}, "extension_days"),
        ({"extension_days": "0"}, "extension_days"),
        ({"extension_days": "91"}, "extension_days"),
        ({"extension_days": "9" * 5000}, "extension_days"),
        ({"extension_days": "1e400"}, "extension_days"),
        ({"extension_days": "3\x00"}, "extension_days"),
        ({"extension_days": "", "new_term": "37"}, "new_term"),
        ({"extension_days": "", "new_term": "-1"}, "new_term"),
        ({"extension_days": "", "waiver": "part"}, "penalty_waiver"),
        ({"extension_days": "", "waiver": "part", "penalty_waiver": "-1"}, "penalty_waiver"),
        ({"extension_days": "", "waiver": "part", "penalty_waiver": "1.005"}, "penalty_waiver"),
        ({"extension_days": "", "waiver": "part", "penalty_waiver": "1e30"}, "penalty_waiver"),
        ({"extension_days": "", "waiver": "part", "penalty_waiver": "NaN"}, "penalty_waiver"),
        ({"extension_days": "", "waiver": "everything"}, "waiver"),
        ({"extension_days": ""}, "__all__"),  # nothing asked for
        ({"can_pay_monthly": ""}, "can_pay_monthly"),
        ({"can_pay_monthly": "-100"}, "can_pay_monthly"),
        ({"can_pay_monthly": "12.345"}, "can_pay_monthly"),
        ({"can_pay_monthly": "9" * 40}, "can_pay_monthly"),
        ({"loan": "abc"}, "loan"),
        ({"loan": "\x00"}, "loan"),
        ({"loan": "9" * 30}, "loan"),
    ],
)
def test_bad_input_is_a_form_error_and_writes_nothing(client, loan, fields, field):
    sign_in(client, loan.borrower)
    response = ask(client, loan, **fields)
    assert response.status_code == 200
    assert field in response.context["form"].errors, response.context["form"].errors
    assert not HardshipPlan.objects.exists()
    assert CollectionCase.objects.get(loan=loan).status != CaseStatus.HARDSHIP_REQUESTED


def test_another_borrowers_loan_cannot_be_chosen(client, loan, other_loan):
    sign_in(client, loan.borrower)
    response = ask(client, other_loan)
    assert response.status_code == 200 and "loan" in response.context["form"].errors
    assert not HardshipPlan.objects.exists()
    assert (
        other_loan.contract.number
        not in client.get(reverse("portal:hardship_new")).content.decode()
    )


def test_another_borrowers_plan_is_a_404(client, loan, other_loan):
    theirs = hardship.propose_plan(loan=other_loan, extension_days=10, reason="r", by_borrower=True)
    sign_in(client, loan.borrower)
    assert client.get(reverse("portal:hardship", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("portal:hardship", args=[theirs.pk + 1000])).status_code == 404
    assert (
        reverse("portal:hardship", args=[theirs.pk])
        not in client.get(reverse("portal:help")).content.decode()
    )


def test_an_approved_plan_shows_what_changed_and_the_new_schedule(client, loan):
    sign_in(client, loan.borrower)
    ask(client, loan, extension_days="", new_term="12", waiver="all")
    plan = HardshipPlan.objects.get()
    with TestCase.captureOnCommitCallbacks(execute=True):
        hardship.decide_plan(plan=plan, staff=supervisor(), approve=True, note="同意")
    plan.refresh_from_db()
    page = client.get(reverse("portal:hardship", args=[plan.pk]), HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert "Approved, being kept" in text and "同意" in text
    assert f"at an APR of {plan.apr_percent}%" in text  # services.hardship.plan_summary
    assert f"penalty interest of ¥{plan.penalty_waiver:.2f} waived" in text
    assert reverse("portal:loan", args=[loan.pk]) in text


def test_a_rejected_plan_shows_the_decision_note(client, loan):
    sign_in(client, loan.borrower)
    ask(client, loan)
    plan = HardshipPlan.objects.get()
    hardship.decide_plan(plan=plan, staff=supervisor(), approve=False, note="收入证明不足")
    text = client.get(
        reverse("portal:hardship", args=[plan.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Rejected" in text and "收入证明不足" in text
    assert reverse("portal:loan", args=[loan.pk]) not in text
    # Refused, the borrower may ask again.
    ask(client, loan, extension_days="60")
    assert HardshipPlan.objects.filter(status=HardshipPlan.Status.PROPOSED).count() == 1


# --- Complaints -------------------------------------------------------------------------------


def complain(client, **fields):
    data = {"category": "amount", "description": "罚息金额不对", **fields}
    return client.post(reverse("portal:complaint_new"), data)


def test_a_complaint_is_registered_acknowledged_and_its_status_shown(client, loan):
    sign_in(client, loan.borrower)
    case = CollectionCase.objects.get(loan=loan)
    response = complain(client, loan=str(loan.pk))
    complaint = Complaint.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("portal:complaint", args=[complaint.pk])
    assert (complaint.borrower, complaint.case, complaint.source) == (
        loan.borrower,
        case,
        Complaint.Source.PORTAL,
    )
    assert (complaint.kind, complaint.category) == (Complaint.Kind.DISPUTE, "amount")
    assert complaint.registered_by is None
    assert loan.contract.number in complaint.description and "罚息金额不对" in complaint.description
    ack = SmsMessage.objects.get(template="complaint_ack", borrower=loan.borrower)
    assert complaint.acknowledgement == ack and complaint.reference in ack.text
    case.refresh_from_db()
    assert case.status == CaseStatus.PAUSED
    page = client.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert complaint.reference in page and "Open, being looked into" in page
    assert "within 15 days, by 2026-05-05" in page
    assert "0 days (our target: an answer within 15 days)" in page
    assert "every collection contact with you is paused" in page
    index = client.get(reverse("portal:help"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert complaint.reference in index


def test_a_complaint_about_no_loan_and_conduct_is_a_complaint(client, loan):
    sign_in(client, loan.borrower)
    complain(client, category="conduct", description="催收员态度恶劣")
    complaint = Complaint.objects.get()
    assert (complaint.kind, complaint.case, complaint.description) == (
        Complaint.Kind.COMPLAINT,
        None,
        "催收员态度恶劣",
    )


def test_a_double_submitted_complaint_is_one_complaint_and_one_sms(client, loan):
    sign_in(client, loan.borrower)
    first = complain(client, loan=str(loan.pk))
    second = complain(client, loan=str(loan.pk))
    complaint = Complaint.objects.get()
    assert first.url == second.url == reverse("portal:complaint", args=[complaint.pk])
    assert SmsMessage.objects.filter(template="complaint_ack").count() == 1
    # Another complaint, with other words, is another one.
    complain(client, description="另一件事")
    assert Complaint.objects.count() == 2


def test_a_resolved_complaint_shows_the_written_answer(client, loan):
    sign_in(client, loan.borrower)
    complain(client)
    complaint = Complaint.objects.get()
    staff = factories.staff(superuser=True)
    with time_machine.travel(datetime(2026, 4, 25, 10, tzinfo=SHANGHAI), tick=False):
        complaint_services.resolve_complaint(
            complaint=complaint, staff=staff, resolution="经核实，罚息计算无误。"
        )
        page = client.get(
            reverse("portal:complaint", args=[complaint.pk]), HTTP_ACCEPT_LANGUAGE="en"
        ).content.decode()
    assert "Answered" in page and "经核实，罚息计算无误。" in page
    assert "5 days (our target" in page and "2026-04-25" in page
    assert "Open, being looked into" not in page


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"description": ""}, "description"),
        ({"description": " \n\t "}, "description"),
        ({"description": "金额\x00不对"}, "description"),
        ({"description": "x" * 10_000}, "description"),
        ({"category": ""}, "category"),
        ({"category": "threat"}, "category"),
        ({"category": "\x00"}, "category"),
        ({"loan": "abc"}, "loan"),
        ({"loan": "-1"}, "loan"),
        ({"loan": "9" * 30}, "loan"),
    ],
)
def test_bad_complaints_are_form_errors_and_write_nothing(client, loan, fields, field):
    sign_in(client, loan.borrower)
    response = complain(client, **fields)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Complaint.objects.exists()
    assert not SmsMessage.objects.filter(template="complaint_ack").exists()


def test_a_complaint_cannot_name_another_borrowers_loan(client, loan, other_loan):
    sign_in(client, loan.borrower)
    response = complain(client, loan=str(other_loan.pk))
    assert response.status_code == 200 and "loan" in response.context["form"].errors
    assert not Complaint.objects.exists()
    with pytest.raises(ValidationError) as refused:
        complaint_services.submit_portal_complaint(
            borrower=loan.borrower, category="amount", description="x", loan=other_loan
        )
    assert list(refused.value.message_dict) == ["loan"]


def test_another_borrowers_complaint_is_a_404(client, loan, other_loan):
    theirs, _ = complaint_services.submit_portal_complaint(
        borrower=other_loan.borrower, category="other", description="他人的投诉"
    )
    sign_in(client, loan.borrower)
    assert client.get(reverse("portal:complaint", args=[theirs.pk])).status_code == 404
    assert "他人的投诉" not in client.get(reverse("portal:help")).content.decode()


# --- Two submits at the same moment -------------------------------------------------------------


def at_once(client, post, times: int = 2) -> list:
    """`post(client)` from `times` threads at once, each with its own connection and a copy of
    the signed-in client's cookies."""
    from django.db import connections
    from django.test import Client

    barrier = threading.Barrier(times)
    answers = []

    def run():
        twin = Client()
        twin.cookies = client.cookies
        barrier.wait()
        try:
            answers.append(post(twin))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_hardship_submits_at_once_make_one_plan(client, loan):
    sign_in(client, loan.borrower)
    answers = at_once(client, lambda c: ask(c, loan))
    plan = HardshipPlan.objects.get()
    assert sorted(a.status_code for a in answers) == [302, 302]
    assert {a.url for a in answers} == {reverse("portal:hardship", args=[plan.pk])}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_complaint_submits_at_once_make_one_complaint(client, loan):
    sign_in(client, loan.borrower)
    answers = at_once(client, lambda c: complain(c, loan=str(loan.pk)))
    complaint = Complaint.objects.get()
    assert {a.url for a in answers} == {reverse("portal:complaint", args=[complaint.pk])}
    assert SmsMessage.objects.filter(template="complaint_ack").count() == 1
