"""Collections on the borrower timeline: a collector sees a borrower of their own case (and only
that case's records), another collector gets a 404; supervisors see every case."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from debt_collection.models import (
    CaseEvent,
    CaseStatus,
    Channel,
    CollectionCase,
    Collector,
    ContactAttempt,
    PromiseToPay,
)
from loans.roles import COLLECTION_SUPERVISOR, COLLECTOR
from tests import factories

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 10)


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def collector(number):
    return Collector.objects.create(
        user=factories.staff(COLLECTOR), staff_number=number, queue="M1"
    )


def case_for(owner, borrower=None):
    loan = factories.loan(on=date(2026, 1, 15), borrower_obj=borrower)
    case = CollectionCase.objects.create(
        loan=loan,
        borrower=loan.borrower,
        status=CaseStatus.IN_PROGRESS,
        assigned_to=owner,
        bucket="M1",
        days_past_due=20,
        overdue_principal=Decimal("100.00"),
        overdue_total=Decimal("100.00"),
        opened_on=DAY - timedelta(days=18),
        updated_on=DAY,
    )
    CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.OPENED)
    ContactAttempt.objects.create(
        borrower=loan.borrower,
        case=case,
        staff=owner.user,
        channel=Channel.CALL,
        at=timezone.now(),
        allowed=False,
        blocked_rule="window",
    )
    PromiseToPay.objects.create(
        case=case,
        amount=Decimal("50.00"),
        promised_on=DAY + timedelta(days=3),
        made_on=DAY,
        made_by=owner.user,
    )
    return case


def kinds(response):
    assert response.status_code == 200
    return [e.kind for e in response.context["entries"]]


def timeline(borrower):
    return reverse("admin:loans_borrower_timeline", args=[borrower.pk])


def test_collectors_see_their_own_cases_only_and_others_get_404(client):
    mine, theirs = collector("C0001"), collector("C0002")
    own = case_for(mine)
    other = case_for(theirs)
    client.force_login(mine.user)
    shown = kinds(client.get(timeline(own.borrower)))
    assert {"case", "contact", "promise"} <= set(shown)
    assert "sms" not in shown  # collectors hold no SMS outbox permission
    client.raise_request_exception = False
    assert client.get(timeline(other.borrower)).status_code == 404

    # A borrower with a case of each: the collector sees their own case's records only.
    shared = case_for(theirs, borrower=own.borrower)
    entries = client.get(timeline(own.borrower)).context["entries"]
    links = {e.link for e in entries if e.kind in ("case", "contact", "promise")}
    own_link = reverse("admin:collections_collectioncase_change", args=[own.pk])
    assert links == {own_link}
    assert reverse("admin:collections_collectioncase_change", args=[shared.pk]) not in links

    boss = factories.staff(COLLECTION_SUPERVISOR)
    client.force_login(boss)
    entries = client.get(timeline(own.borrower)).context["entries"]
    assert len([e for e in entries if e.kind == "promise"]) == 2
