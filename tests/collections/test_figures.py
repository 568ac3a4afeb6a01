"""Supervisor figures on a small data set whose every figure is known by hand: open cases,
contacts made and blocked by rule, right-party contact rate, promises and kept rate, amounts
recovered, cure rate, and roll rates between buckets, per collector and per bucket."""

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils.html import escape

from debt_collection import selectors
from debt_collection.models import (
    CallOutcome,
    CaseStatus,
    CollectionCase,
    Collector,
    ContactAttempt,
    PromiseToPay,
)
from loans.models import Repayment
from loans.roles import AUDITOR, COLLECTION_SUPERVISOR, COLLECTOR
from tests import factories

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 10)
MARCH = date(2026, 3, 1)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=SHANGHAI), tick=False):
        yield


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), SHANGHAI)


def collector(number: str, queue: str) -> Collector:
    return Collector.objects.create(
        user=factories.staff(COLLECTOR), staff_number=number, queue=queue
    )


def loan(drawn: date = date(2026, 1, 15)):
    with time_machine.travel(at(drawn)):
        return factories.loan(on=drawn)


def case(owner, bucket, opened, *, closed=None, reason="", drawn=date(2026, 1, 15)):
    loan_obj = loan(drawn)
    return CollectionCase.objects.create(
        loan=loan_obj,
        borrower=loan_obj.borrower,
        status=CaseStatus.CLOSED if closed else CaseStatus.IN_PROGRESS,
        close_reason=reason,
        bucket=bucket,
        days_past_due=20,
        assigned_to=owner,
        opened_on=opened,
        closed_on=closed,
        updated_on=closed or TODAY,
    )


def attempt(case_obj, day, *, allowed=True, rule="", channel="call", outcome=None):
    row = ContactAttempt.objects.create(
        borrower=case_obj.borrower if case_obj else factories.borrower(),
        case=case_obj,
        staff=case_obj.assigned_to.user if case_obj and case_obj.assigned_to else None,
        at=at(day),
        channel=channel,
        allowed=allowed,
        blocked_rule=rule,
    )
    if outcome:
        with time_machine.travel(at(day, 11), tick=False):  # recorded an hour after the call
            CallOutcome.objects.create(attempt=row, outcome=outcome, recorded_by=row.staff)
    return row


def promise(case_obj, made, due, status):
    return PromiseToPay.objects.create(
        case=case_obj,
        amount=Decimal("100"),
        made_on=made,
        promised_on=due,
        made_by=case_obj.assigned_to.user,
        status=status,
    )


def paid(case_obj, day, amount, *, status=Repayment.Status.POSTED, principal="0", unapplied="0"):
    return Repayment.objects.create(
        loan=case_obj.loan,
        external_id=f"F-{case_obj.pk}-{day}-{amount}",
        channel="bank_card",
        amount=Decimal(amount),
        principal=Decimal(principal),
        unapplied=Decimal(unapplied),
        value_date=day,
        status=status,
    )


@pytest.fixture
def book():
    a, b = collector("A001", "M1"), collector("B001", "M2")
    c1 = case(a, "M1", date(2026, 2, 20))
    c2 = case(a, "M1", date(2026, 3, 2), closed=date(2026, 3, 8), reason="cured")
    c3 = case(b, "M2", date(2026, 1, 10))
    c4 = case(b, "M2", date(2026, 2, 1), closed=date(2026, 2, 25), reason="settled")
    c5 = case(None, "M3", date(2026, 3, 5))
    return {"a": a, "b": b, "c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5}


def rows(figures):
    """Rows by staff number or bucket ("" for unassigned)."""
    return {row.key: row for row in [*figures.by_collector, *figures.by_bucket]}


def test_open_cases_and_cure_rate_per_collector_and_bucket(book, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):  # one grouped query per figure, whatever the rows
        f = selectors.supervisor_figures(month=MARCH)
    by = rows(f)
    a, b = by["A001"], by["B001"]
    assert f.through == TODAY
    assert (a.open_cases, b.open_cases, by[""].open_cases, f.total.open_cases) == (1, 1, 1, 3)
    assert (by["M1"].open_cases, by["M2"].open_cases, by["M3"].open_cases) == (1, 1, 1)
    # Worked in March: c1, c2 (cured on the 8th), c3, c5; c4 closed in February.
    assert (a.cured, a.cases_worked, a.cure_rate) == (1, 2, Decimal("0.5000"))
    assert (b.cured, b.cases_worked, b.cure_rate) == (0, 1, Decimal("0"))
    assert (f.total.cured, f.total.cases_worked, f.total.cure_rate) == (1, 4, Decimal("0.2500"))
    # February: c4 settled, c1 and c3 were open; c2 and c5 had not opened yet.
    feb = selectors.supervisor_figures(month=date(2026, 2, 1))
    assert (feb.through, feb.total.cases_worked, feb.total.cured) == (date(2026, 2, 28), 3, 1)
    assert feb.total.open_cases == 2


def test_contacts_made_and_blocked_by_rule_and_the_right_party_rate(book):
    c1, c3 = book["c1"], book["c3"]
    attempt(c1, date(2026, 3, 2), outcome="right_party")
    attempt(c1, date(2026, 3, 3), outcome="no_answer")
    attempt(c1, date(2026, 3, 4), outcome="wrong_number")
    attempt(c1, date(2026, 3, 4), allowed=False, rule="window")
    attempt(c3, date(2026, 3, 5), allowed=False, rule="complaint_open")
    attempt(c3, date(2026, 3, 5), channel="sms")
    attempt(None, date(2026, 3, 6), channel="auto_sms")  # a loan without a case: total only
    attempt(c1, date(2026, 2, 27), outcome="promise")  # February

    f = selectors.supervisor_figures(month=MARCH)
    by = rows(f)
    a, b = by["A001"], by["B001"]
    assert (a.contacts_made, a.contacts_blocked, a.blocked_rules) == (3, 1, [("window", 1)])
    assert (b.contacts_made, b.contacts_blocked, b.blocked_rules) == (1, 1, [("complaint_open", 1)])
    assert (f.total.contacts_made, f.total.contacts_blocked) == (5, 2)
    assert by["M1"].contacts_made == 3 and by["M2"].blocked_rules == [("complaint_open", 1)]
    # Connected: right party and wrong number; the borrower themself only in the first.
    assert (a.connected, a.right_party, a.right_party_rate) == (2, 1, Decimal("0.5000"))
    assert b.right_party_rate is None  # no connected call: no rate, not zero


def test_promises_made_kept_broken_and_the_kept_rate(book):
    c1, c3 = book["c1"], book["c3"]
    promise(c1, date(2026, 3, 2), date(2026, 3, 5), PromiseToPay.Status.KEPT)
    promise(c1, date(2026, 3, 6), date(2026, 3, 9), PromiseToPay.Status.BROKEN)
    promise(c1, date(2026, 3, 9), date(2026, 3, 12), PromiseToPay.Status.OPEN)  # not due yet
    promise(c3, date(2026, 2, 25), date(2026, 3, 3), PromiseToPay.Status.PARTLY_KEPT)

    by = rows(selectors.supervisor_figures(month=MARCH))
    a, b = by["A001"], by["B001"]
    assert (a.promises_made, a.promises_due, a.promises_kept, a.promises_broken) == (3, 2, 1, 1)
    assert a.kept_rate == Decimal("0.5000")
    assert (b.promises_made, b.promises_due, b.promises_partly_kept, b.kept_rate) == (
        0,
        1,
        1,
        Decimal("0"),  # partly kept is not kept
    )


def test_amounts_recovered_count_money_within_each_cases_life_and_the_month(book):
    c1, c2, c3, c4 = book["c1"], book["c2"], book["c3"], book["c4"]
    paid(c1, date(2026, 3, 5), "300.00")
    paid(c1, date(2026, 3, 6), "250.00", unapplied="50.00")  # 50 of it to be refunded
    paid(c1, date(2026, 2, 10), "999.00")  # before the case opened and the month
    paid(c2, date(2026, 3, 7), "200.00")  # the day before its case closed
    paid(c3, date(2026, 3, 4), "100.00", status=Repayment.Status.REVERSED)
    paid(c4, date(2026, 3, 2), "50.00")  # after its case closed

    f = selectors.supervisor_figures(month=MARCH)
    by = rows(f)
    assert by["A001"].recovered == Decimal("700.00")
    assert by["B001"].recovered == Decimal("0")
    assert f.total.recovered == Decimal("700.00") and by["M1"].recovered == Decimal("700.00")


def test_roll_rates_weigh_balances_in_each_bucket_at_the_two_month_ends():
    owner = collector("R001", "M1")
    # First instalments unpaid, due 2026-02-01, 02-15 and 01-05: at the end of February the
    # loans are 27, 13 and 54 days past due (M1, M1, M2); on 10 March 37, 23 and 64 (M2, M1, M3).
    rolling = case(owner, "M2", date(2026, 2, 3), drawn=date(2026, 1, 1))
    staying = case(owner, "M1", date(2026, 2, 17), drawn=date(2026, 1, 15))
    case(owner, "M3", date(2026, 1, 7), drawn=date(2025, 12, 5))
    # Principal received on 1 March lowers this month's balance of the loan that stays in M1.
    paid(staying, date(2026, 3, 1), "500.00", principal="400.00")
    assert rolling.loan.principal == Decimal("10000.00")

    rolls = {
        (r.from_bucket, r.to_bucket): r
        for r in selectors.supervisor_figures(month=MARCH).roll_rates
    }
    assert list(rolls) == [("M1", "M2"), ("M2", "M3"), ("M3", "M4+")]
    m1 = rolls[("M1", "M2")]
    assert (m1.balance_before, m1.balance_after, m1.rate) == (
        Decimal("20000.00"),
        Decimal("10000.00"),
        Decimal("0.5000"),
    )
    assert rolls[("M2", "M3")].rate == Decimal("1.0000")
    assert rolls[("M3", "M4+")].rate is None  # nothing was in M3 at the end of February


def test_the_figures_page_shows_each_figure_with_its_definition(client, book):
    attempt(book["c1"], date(2026, 3, 4), allowed=False, rule="window")
    url = reverse("admin:collections_figures")
    client.force_login(factories.staff(COLLECTOR))
    assert client.get(url).status_code == 403
    for role in [COLLECTION_SUPERVISOR, AUDITOR]:
        client.force_login(factories.staff(role))
        page = client.get(url, {"month": "2026-03"}, HTTP_ACCEPT_LANGUAGE="en")
        assert page.status_code == 200
        text = page.content.decode()
        for definition in selectors.FIGURE_DEFINITIONS.values():
            assert escape(str(definition)[:40]) in text
        assert "window: 1" in text and str(book["a"]) in text
    client.raise_request_exception = False
    assert client.get(url, {"month": "2026-13"}).status_code == 400
    assert client.get(url, {"month": "x\x00"}).status_code == 400
    apps = client.get(reverse("admin:app_list", args=["collections"])).content.decode()
    assert url in apps
