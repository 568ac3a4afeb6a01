"""Every collections list (cases, the contact log, call outcomes, restrictions, collectors …)
runs the same number of queries whether it shows one row or many (DESIGN §8)."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from debt_collection.models import (
    CallOutcome,
    CollectionCase,
    ContactAttempt,
    ContactRestriction,
)
from tests import factories
from tests.collections import casework
from tests.loans.test_admin_list_queries import assert_flat, page_costs

pytestmark = pytest.mark.django_db
# Instalment 1 of each loan fell due on 2026-02-15 and was not paid: past its grace days by
# these business dates, whose end of day opens the cases.
FIRST_DAY, SECOND_DAY = date(2026, 2, 25), date(2026, 2, 26)


def fall_overdue(n: int, staff, *, day: date) -> None:
    """n loans overdue since 2026-02-15, each with its case (end of day opens them), a collector
    in its queue, two logged contact attempts (one a call with its outcome) and a
    restriction the borrower asked for."""
    loans = [casework.loan() for _ in range(n)]
    for _ in range(n):
        casework.collector("M1")
    casework.eod(day)
    at = datetime.combine(day, time(10), ZoneInfo("Asia/Shanghai"))
    for case in CollectionCase.objects.filter(loan__in=loans):
        call = ContactAttempt.objects.create(
            borrower=case.borrower,
            case=case,
            staff=staff,
            at=at,
            channel="call",
            allowed=True,
            mobile_revealed=True,
        )
        CallOutcome.objects.create(attempt=call, outcome="no_answer", recorded_by=staff)
        ContactAttempt.objects.create(
            borrower=case.borrower,
            case=case,
            at=at,
            channel="sms",
            allowed=False,
            blocked_rule="daily_cap",
        )
        ContactRestriction.objects.create(
            borrower=case.borrower, scope="calls", reason="asked", recorded_by=staff
        )


def test_every_collections_list_runs_the_same_queries_for_one_row_as_for_many(client):
    staff = factories.staff(superuser=True)
    client.force_login(staff)
    fall_overdue(1, staff, day=FIRST_DAY)
    one = page_costs(client, "collections")
    fall_overdue(10, staff, day=SECOND_DAY)
    many = page_costs(client, "collections")
    assert CollectionCase.objects.count() == 11
    assert_flat(
        one,
        many,
        must_grow={
            "collectioncase",
            "contactattempt",
            "calloutcome",
            "contactrestriction",
            "collector",
        },
    )
