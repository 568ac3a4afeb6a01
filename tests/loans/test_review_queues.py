"""Review queues as work lists: credit assessments waiting for review and loan applications in
manual review, oldest first with their age; claim marks who works an item (others see who and
since when, and cannot claim or decide it), release gives it back, deciding clears it; two
claims at once give it to one person."""

import threading
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from loans import approvals, queues
from loans.models import AuditEvent, CreditAssessment, LoanApplication
from loans.services import credit
from tests import factories
from tests.loans.test_lending_admin import DAY, apply

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
OPS = "贷款运营 Loan operations"
RISK = "风控专员 Risk officer"
NOON = datetime(2026, 1, 15, 12, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def noon():
    with time_machine.travel(NOON, tick=False):
        yield


def waiting_applications(n=2):
    apps = [apply("8000", review=True) for _ in range(n)]
    assert all(a.status == LoanApplication.Status.PENDING_REVIEW for a in apps)
    return apps


def test_claim_release_and_who_holds_it():
    application, _ = waiting_applications()
    first, second = factories.staff(OPS), factories.staff(OPS)
    queues.claim(item=application, actor=first)
    application.refresh_from_db()
    assert application.claimed_by == first
    assert queues.claimed_text(application) == f"claimed by {first.username} since 12:00"
    queues.claim(item=application, actor=first)  # again: still theirs, nothing new
    with pytest.raises(ValidationError, match=f"claimed by {first.username} since 12:00"):
        queues.claim(item=application, actor=second)
    with pytest.raises(PermissionDenied):
        queues.release(item=application, actor=second)
    with pytest.raises(PermissionDenied):
        queues.claim(item=application, actor=factories.staff("客服 Customer service"))
    queues.release(item=application, actor=first)
    queues.claim(item=application, actor=second)
    # A supervisor-ish permission releases anyone's claim (the risk officer holds it).
    queues.release(item=application, actor=factories.staff(RISK))
    application.refresh_from_db()
    assert application.claimed_by is None
    codes = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert codes == ["queue.claim", "queue.release", "queue.claim", "queue.release"]


def test_only_the_holder_decides_a_claimed_application_and_deciding_clears_it(client):
    application, _ = waiting_applications()
    holder, other = factories.staff(OPS), factories.staff(OPS)
    queues.claim(item=application, actor=holder)
    url = reverse("admin:loans_loanapplication_changelist")
    client.force_login(other)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    refused = client.post(
        url, {"action": "approve", "_selected_action": [application.pk], "apply": "1"}
    )
    assert "release it first" in " ".join(refused.context["form"].non_field_errors())
    application.refresh_from_db()
    assert application.status == LoanApplication.Status.PENDING_REVIEW

    client.force_login(holder)
    client.post(url, {"action": "approve", "_selected_action": [application.pk], "apply": "1"})
    application.refresh_from_db()
    assert application.status == LoanApplication.Status.APPROVED
    assert application.claimed_by is None
    with pytest.raises(ValidationError, match="no longer waiting"):
        queues.claim(item=application, actor=other)


def test_the_application_queue_is_oldest_first_with_ages_and_claims(client):
    newer, older = waiting_applications()
    LoanApplication.objects.filter(pk=older.pk).update(created_at=NOON - timedelta(hours=26))
    LoanApplication.objects.filter(pk=newer.pk).update(created_at=NOON - timedelta(minutes=7))
    holder = factories.staff(OPS)
    queues.claim(item=newer, actor=holder)
    client.force_login(factories.staff(OPS))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    url = reverse("admin:loans_loanapplication_changelist")
    page = client.get(url, {"status__exact": "pending_review"})
    assert [a.pk for a in page.context["cl"].result_list] == [older.pk, newer.pk]
    html = page.content.decode()
    assert "1 d 2 h" in html and "7 min" in html
    assert f"claimed by {holder.username} since 12:00" in html
    unclaimed = client.get(url, {"status__exact": "pending_review", "claim": "unclaimed"})
    assert [a.pk for a in unclaimed.context["cl"].result_list] == [older.pk]
    client.post(url, {"action": "claim", "_selected_action": [older.pk, newer.pk]})
    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.claimed_by != holder and newer.claimed_by == holder  # the held one stays held


def review_requests(n=2):
    out = []
    for _ in range(n):
        borrower = factories.borrower(income="50000")
        assessment = credit.assess_credit(borrower=borrower, as_of=DAY)
        out.append(credit.request_manual_review(assessment=assessment, note="please look"))
    return out


def test_the_review_queue_of_assessments_works_the_same_way(client):
    newer, older = review_requests()
    CreditAssessment.objects.filter(pk=older.pk).update(
        review_requested_at=NOON - timedelta(hours=3, minutes=5)
    )
    reviewer, other = factories.staff(RISK), factories.staff(RISK)
    client.force_login(reviewer)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    url = reverse("admin:loans_creditassessment_changelist")
    page = client.get(url, {"review": "pending"})
    assert [a.pk for a in page.context["cl"].result_list] == [older.pk, newer.pk]
    assert "3 h 5 min" in page.content.decode()
    client.post(url, {"action": "claim", "_selected_action": [older.pk]})
    older.refresh_from_db()
    assert older.claimed_by == reviewer and older.claimed_at == timezone.now()

    client.force_login(other)
    override = {
        "action": "override",
        "_selected_action": [older.pk],
        "apply": "1",
        "decision": "declined",
        "reason": "income not proven",
    }
    refused = client.post(url, override)
    assert "release it first" in " ".join(refused.context["form"].non_field_errors())
    client.force_login(reviewer)
    client.post(url, override)
    older.refresh_from_db()
    assert older.override_decision == "declined" and older.claimed_by is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_claims_at_once_give_the_item_to_one_person():
    from tests.loans.test_approvals import set_threshold

    set_threshold("manual_posting", "100.00")
    with time_machine.travel(DAY):
        loan = factories.loan(on=DAY)
    _, approval, _ = approvals.post_manual_repayment(
        loan=loan,
        amount=Decimal("500.00"),
        channel="counter",
        external_id="CLAIM-RACE",
        value_date=DAY,
        actor=factories.staff(superuser=True),
    )
    people = [factories.staff(superuser=True) for _ in range(2)]
    barrier = threading.Barrier(2)
    results = []

    def claim(person):
        try:
            barrier.wait()
            queues.claim(item=approval, actor=person)
            results.append("ok")
        except ValidationError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["ok", "refused"]
    approval.refresh_from_db()
    assert approval.claimed_by in people
    assert AuditEvent.objects.filter(action="queue.claim").count() == 1
