"""Every back-office list runs the same number of queries whether it shows one row or a
page of them (no query per row: DESIGN §8), and counts big tables without reading them."""

import itertools
from datetime import date
from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loans.admin.paging import EstimatedCountPaginator
from loans.models import Borrower, Loan
from loans.services import borrowers as borrower_services
from loans.services import repayments as repayment_services
from tests import factories

pytestmark = pytest.mark.django_db
_refs = itertools.count(1)


def changelists(app_label: str):
    """(name, url) of each list page of an app, as a superuser sees them."""
    for model in admin.site._registry:
        meta = model._meta
        if meta.app_label == app_label:
            yield meta.model_name, reverse(f"admin:{app_label}_{meta.model_name}_changelist")


def page_costs(client, app_label: str) -> dict[str, tuple[int, int]]:
    """{page: (queries, rows shown)} of each list of an app. Each page is asked for once
    first, so what a first visit caches (content types, the session) is not counted."""
    costs = {}
    for name, url in changelists(app_label):
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        costs[name] = (len(queries), len(response.context["cl"].result_list))
    return costs


def assert_flat(one: dict, many: dict, *, must_grow: set[str]) -> None:
    """The same queries for one row as for many, on every page; and the pages in `must_grow`
    did show more rows the second time (else the comparison proves nothing)."""
    grew = {name for name in one if many[name][1] > one[name][1]}
    assert must_grow <= grew, f"not shown with more rows: {must_grow - grew}"
    changed = {name: (one[name], many[name]) for name in one if one[name][0] != many[name][0]}
    assert not changed, f"queries (queries, rows) with 1 row vs many: {changed}"


def lend(n: int) -> None:
    """n borrowers, each with a disbursed loan, a repayment and a logged PII reveal."""
    staff = factories.staff(superuser=True)
    for _ in range(n):
        loan = factories.loan(on=date(2026, 1, 15))
        repayment_services.post_repayment(
            loan=loan,
            amount=Decimal("500"),
            channel="wechat_pay",
            external_id=f"wx-{next(_refs)}",
            value_date=date(2026, 2, 1),
            actor=staff,
        )
        borrower_services.reveal_pii(
            borrower=loan.borrower, field="mobile", actor=staff, reason="call back", ip_address=None
        )


LOANS_PAGES = {
    "borrower",
    "creditassessment",
    "creditline",
    "loanapplication",
    "contract",
    "loan",
    "instalment",
    "loantransaction",
    "repayment",
    "piiaccesslog",
    "creditreport",
    "bankcard",
}


def test_every_loans_list_runs_the_same_queries_for_one_row_as_for_many(client):
    client.force_login(factories.staff(superuser=True))
    lend(1)
    one = page_costs(client, "loans")
    lend(10)
    many = page_costs(client, "loans")
    assert Loan.objects.count() == 11 and Borrower.objects.count() == 11
    assert_flat(one, many, must_grow=LOANS_PAGES)


def test_a_filtered_list_and_a_date_drill_down_show_what_is_there(client):
    client.force_login(factories.staff(superuser=True))
    lend(2)
    # Reveals logged this month: the drill-down starts on its months, here the one month.
    response = client.get(reverse("admin:loans_piiaccesslog_changelist"))
    choices = response.context["cl"].date_hierarchy and [
        c["title"] for c in _hierarchy(response)["choices"]
    ]
    assert len(choices) == 1
    url = reverse("admin:loans_creditassessment_changelist")
    response = client.get(url, {"decision__exact": "approved"})
    assert response.context["cl"].result_count == 2
    response = client.get(url, {"decision__exact": "declined"})
    assert response.context["cl"].result_count == 0


def _hierarchy(response):
    from django.contrib.admin.templatetags.admin_list import date_hierarchy

    return date_hierarchy(response.context["cl"])


@pytest.mark.postgres
def test_a_big_filtered_list_is_counted_only_up_to_a_bound():
    """Past EXACT_BELOW rows the count is the planner's estimate, never below the bound."""
    factories.loan()
    paginator = EstimatedCountPaginator(Loan.objects.filter(status="active"), 50)
    paginator.EXACT_BELOW = 0  # every count past the bound: the estimate path
    assert paginator.count >= 1
    exact = EstimatedCountPaginator(Loan.objects.filter(status="settled"), 50)
    assert exact.count == 0
