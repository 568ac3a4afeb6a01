"""The back-office home as each role sees it: their own work first, only the panels their
permissions allow, portfolio figures from the stored end-of-day row (PAR balance-weighted,
money with thousands separators), and a page whose queries do not grow with the loans."""

from datetime import date, datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loans import panels as panel_kit
from loans.models import BusinessDay, CreditAssessment
from loans.roles import (
    AUDITOR,
    COLLECTION_SUPERVISOR,
    COLLECTOR,
    CUSTOMER_SERVICE,
    LOAN_OPERATIONS,
    RISK_OFFICER,
)
from tests import factories

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 10)
HOME = "admin:index"


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def at(day: date, hour: int = 10):
    return time_machine.travel(datetime.combine(day, dt_time(hour), SHANGHAI), tick=False)


def business_day(day: date, **figures) -> BusinessDay:
    moment = datetime.combine(day, dt_time(0, 10), SHANGHAI)
    return BusinessDay.objects.create(
        business_date=day, started_at=moment, finished_at=moment, seconds=1.5, **figures
    )


PORTFOLIO = {
    "active_loans": 1234,
    "outstanding_principal": Decimal("1234567.89"),
    "balance_current": Decimal("1000000.00"),
    "balance_m1": Decimal("111111.11"),
    "balance_m2": Decimal("61728.39"),
    "balance_m3": Decimal("37037.04"),
    "balance_m4_plus": Decimal("24691.35"),
    "loans_current": 1000,
    "loans_m1": 120,
    "loans_m2": 60,
    "loans_m3": 34,
    "loans_m4_plus": 20,
}


def home(client, user):
    client.force_login(user)
    with at(TODAY):
        return client.get(reverse(HOME))


def keys(response) -> list[str]:
    return [p.key for p in response.context["dashboard_panels"]]


def test_portfolio_figures_come_from_the_latest_end_of_day_row(client):
    business_day(TODAY - timedelta(days=1), outstanding_principal=Decimal("5"))
    business_day(TODAY, **PORTFOLIO)
    response = home(client, factories.staff(RISK_OFFICER))
    text = response.content.decode()
    panel = text[text.index('id="panel-portfolio"') :]
    panel = panel[: panel.index("</article>")]
    assert "¥1,234,567.89" in panel
    assert "1,234" in panel
    # PAR30 counts M2 and later (DPD > 30): 123,456.78 ÷ 1,234,567.89; with M1 it would be 19 %.
    assert "10.00%" in panel
    assert "2.00%" in panel  # PAR90: M4+ only
    assert "<svg" in panel
    # Drawn on the server: no script anywhere on the dashboard, no inline style (CSP).
    board = text[text.index('id="dashboard"') : text.index('id="dashboard-apps"')]
    assert "<script" not in board and "style=" not in board
    buckets = text[text.index('id="panel-buckets"') :]
    assert "¥111,111.11" in buckets and "¥24,691.35" in buckets


def test_disbursed_today_and_this_month_are_live(client):
    for day in (TODAY, TODAY.replace(day=2), TODAY.replace(day=1) - timedelta(days=1)):
        with at(day):
            factories.loan(on=day)
    business_day(TODAY, **PORTFOLIO)
    response = home(client, factories.staff(LOAN_OPERATIONS))
    figures = {
        str(f.label): f.value
        for p in response.context["dashboard_panels"]
        if p.key == "portfolio"
        for f in p.figures
    }
    assert figures["Disbursed today"] == "¥10,000.00 · 1"
    assert figures["Disbursed this month"] == "¥20,000.00 · 2"


def test_without_an_end_of_day_run_the_home_says_so(client):
    response = home(client, factories.staff(superuser=True))
    assert response.status_code == 200
    assert "buckets" not in keys(response)
    text = response.content.decode()
    assert "No end-of-day run yet" in text
    assert "¥" in text  # disbursements still shown


def test_a_stale_end_of_day_is_flagged(client):
    business_day(TODAY - timedelta(days=2), **PORTFOLIO)
    response = home(client, factories.staff(LOAN_OPERATIONS))
    panel = next(p for p in response.context["dashboard_panels"] if p.key == "end-of-day")
    assert panel.figures[0].alert and panel.figures[0].value == str(TODAY - timedelta(days=2))
    assert "has not run yet" in str(panel.note)


# --- each role -------------------------------------------------------------------------------

# (group, panels they see, panels they never see, the panel their home starts with)
ROLES = [
    (
        RISK_OFFICER,
        {"credit-reviews", "approvals", "applications", "write-offs", "portfolio", "buckets"},
        {"refunds", "audit", "sms-today", "complaints", "team", "hardship"},
        "credit-reviews",
    ),
    (
        LOAN_OPERATIONS,
        {"approvals", "applications", "refunds", "portfolio", "end-of-day", "sms-today"},
        {"credit-reviews", "write-offs", "audit", "complaints", "team", "hardship"},
        "approvals",
    ),
    (
        CUSTOMER_SERVICE,
        {"complaints", "sms-today"},
        {"portfolio", "end-of-day", "applications", "refunds", "team", "recovery", "approvals"},
        "complaints",
    ),
    (
        COLLECTION_SUPERVISOR,
        {"approvals", "complaints", "hardship", "write-offs", "team", "recovery"},
        {"portfolio", "buckets", "end-of-day", "sms-today", "applications", "refunds"},
        "approvals",
    ),
    (
        AUDITOR,
        {"audit", "portfolio", "buckets", "end-of-day", "sms-today", "complaints", "hardship"},
        {"credit-reviews", "applications", "refunds", "write-offs", "team", "approvals"},
        "audit",
    ),
]


@pytest.mark.parametrize(("group", "sees", "never", "first"), ROLES, ids=[r[0] for r in ROLES])
def test_each_role_sees_its_own_work_first_and_nothing_it_may_not(
    client, group, sees, never, first
):
    business_day(TODAY, **PORTFOLIO)
    response = home(client, factories.staff(group))
    assert response.status_code == 200
    shown = keys(response)
    assert sees <= set(shown), sees - set(shown)
    assert not never & set(shown), never & set(shown)
    assert shown[0] == first
    text = response.content.decode()
    for key in never:
        assert f'id="panel-{key}"' not in text
    if "portfolio" in never:
        assert "¥1,234,567.89" not in text
    if "recovery" in never:  # collections see PAR (in the recovery panel), not the book's size
        assert "PAR30" not in text
    # The admin's app list is still there, behind a disclosure.
    assert 'id="dashboard-apps"' in text and "app-loans" in text or "app-collections" in text


def test_only_operations_get_the_run_now_link(client):
    business_day(TODAY, **PORTFOLIO)
    jobs = reverse("jobs:index")
    assert f'href="{jobs}"' in home(client, factories.staff(LOAN_OPERATIONS)).content.decode()
    assert f'href="{jobs}"' not in home(client, factories.staff(AUDITOR)).content.decode()
    assert f'href="{jobs}"' not in home(client, factories.staff(RISK_OFFICER)).content.decode()


def test_a_collectors_home_is_still_their_case_list(client):
    client.force_login(factories.staff(COLLECTOR))
    response = client.get(reverse(HOME))
    assert response.status_code == 302
    assert response.url == reverse("admin:collections_collectioncase_changelist")


def test_a_superuser_sees_every_panel(client):
    business_day(TODAY, **PORTFOLIO)
    shown = set(keys(home(client, factories.staff(superuser=True))))
    everything = {r for _g, sees, _n, _f in ROLES for r in sees}
    assert everything <= shown


def test_staff_without_any_dashboard_permission_get_the_plain_index(client):
    business_day(TODAY, **PORTFOLIO)
    response = home(client, factories.staff())
    assert response.status_code == 200
    assert keys(response) == []
    assert 'id="dashboard"' not in response.content.decode()


def test_the_review_queue_counts_what_waits_and_how_long(client):
    with at(TODAY - timedelta(days=3)):
        b = factories.borrower(income="50000")
        from loans.services import credit

        waiting = credit.assess_credit(borrower=b, as_of=TODAY - timedelta(days=3))
        CreditAssessment.objects.filter(pk=waiting.pk).update(
            review_requested_at=datetime.now(SHANGHAI)
        )
    response = home(client, factories.staff(RISK_OFFICER))
    panel = next(p for p in response.context["dashboard_panels"] if p.key == "credit-reviews")
    assert panel.figures[0].value == "1" and panel.figures[0].alert
    assert panel.figures[1].value == "3 days"
    assert panel.figures[1].detail == "since 2026-03-07 10:00"  # Beijing time


# --- the hook and a broken panel -------------------------------------------------------------


def test_a_registered_provider_is_shown_only_with_its_permission_and_a_broken_one_is_left_out(
    client, monkeypatch
):
    def extra(request):
        return [
            panel_kit.Panel(
                key="extra",
                title="Extra",
                permission="loans.decide_loanapplication",
                section=panel_kit.WORK,
                order=1,
            ),
            panel_kit.Panel(key="secret", title="Secret", permission="loans.reveal_pii"),
        ]

    def broken(request):
        raise RuntimeError("boom")

    monkeypatch.setattr(panel_kit, "_PROVIDERS", [])
    panel_kit.register_panels(extra)
    panel_kit.register_panels(broken)
    panel_kit.register_panels(extra)  # twice is harmless
    response = home(client, factories.staff(LOAN_OPERATIONS))
    assert response.status_code == 200
    shown = keys(response)
    assert shown[0] == "extra" and shown.count("extra") == 1
    assert "secret" not in shown  # operations may not reveal PII
    assert "applications" in shown


# --- speed -----------------------------------------------------------------------------------


def page_queries(client, user) -> int:
    client.force_login(user)
    with at(TODAY), CaptureQueriesContext(connection) as queries:
        assert client.get(reverse(HOME)).status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_loans(client):
    for day in range(60):
        business_day(TODAY - timedelta(days=day), **PORTFOLIO)
    superuser = factories.staff(superuser=True)
    operations = factories.staff(LOAN_OPERATIONS)
    with at(TODAY):
        factories.loan(on=TODAY)
    one = (page_queries(client, superuser), page_queries(client, operations))
    with at(TODAY):
        for _ in range(29):
            factories.loan(on=TODAY)
    thirty = (page_queries(client, superuser), page_queries(client, operations))
    assert one == thirty
    assert thirty[0] <= 30


def test_the_approvals_panel_counts_what_others_proposed_for_me_to_decide(client):
    from loans import approvals

    proposer, approver = factories.staff(RISK_OFFICER), factories.staff(RISK_OFFICER)
    loan = factories.loan()
    with at(TODAY - timedelta(days=2)):
        approvals.propose(
            kind="write_off",
            actor=proposer,
            summary="write off",
            reason="long past due",
            target=loan,
        )
    panel = next(
        p for p in home(client, approver).context["dashboard_panels"] if p.key == "approvals"
    )
    assert panel.figures[0].value == "1" and panel.figures[0].alert
    assert panel.table.rows[0][1:] == ["1", "1", "2 days"]
    # The proposer sees it waiting, but nothing for them to decide.
    mine = next(
        p for p in home(client, proposer).context["dashboard_panels"] if p.key == "approvals"
    )
    assert mine.figures[0].value == "0" and mine.table.rows[0][1:3] == ["0", "1"]
