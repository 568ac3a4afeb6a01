"""A borrower 40-odd days overdue on a phone: asks for a hardship plan, complains, reads their
collection record and asks for written contact only; and anyone checking a text or a visit
notice on /verify/."""

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from debt_collection import guard
from debt_collection.models import CollectionCase, Complaint, ContactAttempt, HardshipPlan
from debt_collection.services import complaints, contacts, visits
from loans.services.end_of_day import run_end_of_day
from notifications.models import SmsMessage
from notifications.reminders import queue_reminders
from tests import factories
from tests.collections import casework

from .portal_helpers import SHANGHAI, office_hours, shot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Overdue:
    loan: object
    case: CollectionCase
    collector: object
    supervisor: object


@pytest.fixture
def overdue():
    today = timezone.localdate()
    drawn = today - timedelta(days=75)
    collector = casework.collector("M2", number="C0042")
    supervisor = casework.grant(casework.supervisor(), "approve_homevisit")
    with time_machine.travel(datetime.combine(drawn, time(10), SHANGHAI)):
        loan = factories.loan(on=drawn)
    loan.borrower.address = "北京市东城区景山前街4号"
    loan.borrower.save()
    # End of day for yesterday opens the case (DPD 40-odd: the M2 queue) and the morning's
    # overdue SMS go out.
    run_end_of_day(through=today - timedelta(days=1))
    with office_hours(today):
        queue_reminders(business_date=today, now=timezone.now())
        case = CollectionCase.objects.get(loan=loan)
        assert case.assigned_to == collector
        # One call made and answered; one refused by the guard (the 21:00 end of the window).
        attempt, decision, _mobile = contacts.call_borrower(case=case, staff=collector.user)
        assert decision.allowed
        contacts.record_call_outcome(attempt=attempt, outcome="no_answer", staff=collector.user)
    with time_machine.travel(datetime.combine(today, time(21, 30), SHANGHAI), tick=False):
        _attempt, decision, _mobile = contacts.call_borrower(case=case, staff=collector.user)
        assert not decision.allowed
    return Overdue(loan, case, collector, supervisor)


def test_verify_a_real_text_and_a_visit_notice(page, live_server, overdue):
    today = timezone.localdate()
    borrower = overdue.loan.borrower
    with office_hours(today):
        visit = visits.request_visit(
            case=overdue.case,
            staff=overdue.collector.user,
            visit_date=today + timedelta(days=5),
            window_start=time(10),
            window_end=time(12),
            visitor=overdue.collector,
            purpose="talk about a plan",
        )
        visits.decide_visit(visit=visit, staff=overdue.supervisor, approve=True)
    texted = SmsMessage.objects.filter(borrower=borrower).exclude(template="visit_notice")
    notice = SmsMessage.objects.get(borrower=borrower, template="visit_notice")
    for name, message in [("sms", texted.latest("id")), ("visit-notice", notice)]:
        assert message.status in {"sent", "delivered"}, message.status
        page.goto(f"{live_server.url}/verify/")
        page.fill("#id_phone", borrower.mobile)
        page.fill("#id_code", message.verification_code)
        page.click("button[type=submit]")
        page.wait_for_selector(".verify-result.genuine")
        shot(page, f"verify-{name}")
        assert borrower.mobile not in page.url
    # The visit notice names the visitor by staff number.
    assert "C0042" in page.inner_text(".verify-result")
    # A made-up code is not genuine.
    page.goto(f"{live_server.url}/verify/")
    page.fill("#id_phone", borrower.mobile)
    page.fill("#id_code", "ZZZZZ")
    page.click("button[type=submit]")
    page.wait_for_selector(".verify-result.not_found")
    shot(page, "verify-not-genuine")


def test_an_overdue_borrower_asks_for_help_and_written_contact_only(page, live_server, overdue):
    borrower = overdue.loan.borrower
    sign_in(page, live_server, borrower)
    page.goto(f"{live_server.url}/credit/")
    shot(page, "overdue-1-my-credit")
    assert "overdue" in page.inner_text("main").lower()
    page.click("nav >> text=Help")
    page.wait_for_url(re.compile(r"/help/$"))
    shot(page, "overdue-2-help")

    # A new plan: what is overdue and what remains over 12 months.
    page.click("text=Ask for a hardship plan")
    page.wait_for_url(re.compile(r"/help/hardship/new/$"))
    shot(page, "overdue-3-hardship-form")
    page.fill("#id_new_term", "12")
    page.fill("#id_reason", "I lost my job in October and start a new one in January.")
    page.fill("#id_can_pay_monthly", "500")
    page.click("text=Send my request")
    page.wait_for_url(re.compile(r"/help/hardship/\d+/$"))
    shot(page, "overdue-4-hardship-sent")
    plan = HardshipPlan.objects.get(loan=overdue.loan)
    assert plan.new_term == 12 and plan.proposed_by_borrower

    # A complaint about a collector's conduct.
    page.click("nav >> text=Help")
    page.click("text=Make a complaint or dispute")
    page.wait_for_url(re.compile(r"/help/complaints/new/$"))
    shot(page, "overdue-5-complaint-form")
    page.check("input[name=category][value=conduct]")
    page.fill("#id_description", "A caller rang me three times during lunch.")
    page.click("text=Send my complaint")
    page.wait_for_url(re.compile(r"/help/complaints/\d+/$"))
    shot(page, "overdue-6-complaint-sent")
    complaint = Complaint.objects.get(borrower=borrower)
    assert complaint.source == "portal" and complaint.category == "conduct"

    # The collection record: the call made, and the one the guard refused, by staff number.
    page.click("footer >> text=My collection record")
    page.wait_for_url(re.compile(r"/collection-record/$"))
    shot(page, "overdue-7-collection-record")
    record = page.inner_text("main")
    assert "C0042" in record
    assert "Not made" in record
    assert borrower.mobile not in page.content()
    page.click("text=Contact me in writing only")
    page.wait_for_url(re.compile(r"/collection-record/$"))
    shot(page, "overdue-8-written-only")
    # The guard obeys it: once the complaint is answered (which pauses contact too), the
    # collector's next call is still refused, for the opt-out.
    complaints.resolve_complaint(
        complaint=complaint,
        staff=casework.grant(factories.staff(), "resolve_complaint"),
        resolution="We have spoken to the collector; it will not happen again.",
    )
    with office_hours(timezone.localdate() + timedelta(days=1)):
        decision = guard.check(borrower=borrower, channel="call", case=overdue.case)
    assert not decision.allowed and decision.rule == "opted_out", decision
    assert ContactAttempt.objects.filter(case=overdue.case, allowed=True).count() >= 1

    page.click("nav >> text=Help")
    page.click(f"text={complaint.reference}")
    page.wait_for_url(re.compile(r"/help/complaints/\d+/$"))
    shot(page, "overdue-9-complaint-answered")
    assert "it will not happen again" in page.inner_text("main")

    page.click("nav >> text=Messages")
    page.wait_for_url(re.compile(r"/messages/$"))
    shot(page, "overdue-10-messages")
    # The complaint's acknowledgement is among the texts, with its code to check.
    ack = borrower.sms_messages.get(template="complaint_ack")
    assert ack.verification_code in page.inner_text("main")
