"""The collections panels of the back-office home: open complaints and hardship requests with
their ages, the supervisor's team, money recovered this month, roll rates from the stored
end-of-day balances, and what a collector or customer service may not see."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from debt_collection.models import CaseStatus, CollectionCase, Collector, Complaint, HardshipPlan
from loans.models import BusinessDay, Repayment
from loans.roles import AUDITOR, COLLECTION_SUPERVISOR, COLLECTOR, CUSTOMER_SERVICE
from tests import factories

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 10)


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def at(day: date, hour: int = 10):
    return time_machine.travel(datetime.combine(day, time(hour), SHANGHAI), tick=False)


def panels(client, user) -> dict:
    client.force_login(user)
    with at(TODAY):
        response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return {p.key: p for p in response.context["dashboard_panels"]}


def figures(panel) -> dict[str, str]:
    return {str(f.label): f.value for f in panel.figures}


def loan(drawn: date = date(2026, 1, 15)):
    with at(drawn):
        return factories.loan(on=drawn)


def case(owner, *, status=CaseStatus.IN_PROGRESS, overdue="1000.00", opened=date(2026, 2, 20)):
    loan_obj = loan()
    return CollectionCase.objects.create(
        loan=loan_obj,
        borrower=loan_obj.borrower,
        status=status,
        bucket="M1",
        days_past_due=20,
        overdue_total=Decimal(overdue),
        assigned_to=owner,
        opened_on=opened,
        updated_on=TODAY,
    )


def complaint(borrower, received: date, *, kind=Complaint.Kind.COMPLAINT, resolved=False):
    with at(received):
        row = Complaint.objects.create(
            borrower=borrower,
            kind=kind,
            category=Complaint.Category.CONDUCT,
            description="rude call",
            source=Complaint.Source.PORTAL,
        )
    if resolved:
        Complaint.objects.filter(pk=row.pk).update(resolved_at=datetime.now(SHANGHAI))
    return row


def test_open_complaints_show_their_age_against_the_target(client):
    b = factories.borrower()
    complaint(b, TODAY - timedelta(days=20))  # past the 15-day target
    complaint(b, TODAY - timedelta(days=15), kind=Complaint.Kind.DISPUTE)  # on its last day
    complaint(b, TODAY - timedelta(days=30), resolved=True)
    shown = panels(client, factories.staff(CUSTOMER_SERVICE))
    f = figures(shown["complaints"])
    assert f["Open"] == "2" and f["of which disputes"] == "1"
    assert f["Past the 15-day answer target"] == "1"
    assert f["Oldest open"] == "20 days"
    oldest = next(x for x in shown["complaints"].figures if str(x.label) == "Oldest open")
    assert oldest.detail == "since 2026-02-18 10:00"
    assert shown["complaints"].section == "work"  # customer service registers complaints


def test_hardship_requests_waiting_for_a_supervisor(client):
    first, second = loan(), loan()
    with at(TODAY - timedelta(days=2)):
        HardshipPlan.objects.create(loan=first, extension_days=30, proposed_by_borrower=True)
    with at(TODAY):
        HardshipPlan.objects.create(loan=second, stop_interest=True)
    HardshipPlan.objects.create(loan=loan(), extension_days=10, status=HardshipPlan.Status.REJECTED)
    supervisor = factories.staff(COLLECTION_SUPERVISOR)
    f = figures(panels(client, supervisor)["hardship"])
    assert f["Waiting"] == "2" and f["asked for by the borrower"] == "1"
    assert f["Oldest waiting"] == "2 days"
    # The auditor oversees it; customer service may not see hardship plans at all.
    assert panels(client, factories.staff(AUDITOR))["hardship"].section == "figures"
    assert "hardship" not in panels(client, factories.staff(CUSTOMER_SERVICE))


def test_the_supervisor_sees_the_team_and_the_money_recovered(client):
    a = Collector.objects.create(user=factories.staff(COLLECTOR), staff_number="A001", queue="M1")
    mine = case(a, overdue="1000.00")
    case(a, status=CaseStatus.BROKEN_PROMISE, overdue="234.56")
    case(None, overdue="99.00")
    Repayment.objects.create(
        loan=mine.loan,
        external_id="R-1",
        channel="bank_card",
        amount=Decimal("1300.00"),
        principal=Decimal("0"),
        unapplied=Decimal("0"),
        value_date=date(2026, 3, 2),
        status=Repayment.Status.POSTED,
    )
    shown = panels(client, factories.staff(COLLECTION_SUPERVISOR))
    table = {row[0]: row for row in shown["team"].table.rows}
    [row_a] = [row for name, row in table.items() if name.startswith("A001")]
    assert row_a[2:] == ["2", "1", "¥1,234.56"]
    assert table["Unassigned"][2:] == ["1", "0", "¥99.00"]
    assert figures(shown["recovery"])["Recovered this month"] == "¥1,300.00"
    assert shown["recovery"].link == reverse("admin:collections_figures")


def day(on: date, **balances) -> BusinessDay:
    moment = datetime.combine(on, time(0, 10), SHANGHAI)
    return BusinessDay.objects.create(
        business_date=on,
        started_at=moment,
        finished_at=moment,
        seconds=1,
        **{f"balance_{k}": Decimal(v) for k, v in balances.items()},
    )


def test_roll_rates_come_from_the_month_end_balances(client):
    day(date(2026, 1, 31), m1="100000", m2="50000", m3="20000")
    day(date(2026, 2, 15), m1="1", m2="1", m3="1", m4_plus="1")  # not a month end
    day(date(2026, 2, 28), m1="40000", m2="30000", m3="10000", m4_plus="5000")
    day(date(2026, 3, 9), m2="12000", m3="3000", m4_plus="4000")  # March so far
    recovery = panels(client, factories.staff(AUDITOR))["recovery"]
    f = figures(recovery)
    assert f["M1 → M2 (2026-03)"] == "30.00%"  # 12,000 ÷ 40,000
    assert f["M2 → M3 (2026-03)"] == "10.00%"  # 3,000 ÷ 30,000
    assert f["M3 → M4+ (2026-03)"] == "40.00%"  # 4,000 ÷ 10,000
    assert "PAR30 (over 30 days past due)" not in f  # no outstanding principal stored
    assert "<svg" in recovery.chart and "2026-02" in recovery.chart
    assert recovery.link == ""  # the supervisor figures page is for supervisors


def test_without_two_month_ends_the_roll_rates_say_why(client):
    day(date(2026, 3, 9), m2="12000")
    recovery = panels(client, factories.staff(COLLECTION_SUPERVISOR))["recovery"]
    assert "two month ends" in str(recovery.note)
    assert recovery.chart == ""


def test_a_collector_with_cases_and_a_supervisor_who_carries_some_see_their_queue(client):
    boss = factories.staff(COLLECTION_SUPERVISOR)
    me = Collector.objects.create(user=boss, staff_number="S001", queue="M1")
    case(me, status=CaseStatus.BROKEN_PROMISE)
    case(me, status=CaseStatus.NEW)
    case(me, status=CaseStatus.PAUSED)
    shown = panels(client, boss)
    queue = figures(shown["my-queue"])
    assert queue["Broken promise"] == "1" and queue["New case"] == "1"
    assert queue["Contact paused"] == "1" and queue["Work the case"] == "0"
    assert list(shown)[0] == "my-queue"
    # A collector's home stays their case list; they never reach the dashboard.
    collector_user = factories.staff(COLLECTOR)
    client.force_login(collector_user)
    assert client.get(reverse("admin:index")).status_code == 302
