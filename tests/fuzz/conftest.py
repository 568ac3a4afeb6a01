"""What the admin fuzz tests share: a fixed clock, a drawn loan, a signed-in superuser and
a collection case on the loan."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from debt_collection.models import CaseStatus, CollectionCase, Collector
from loans.roles import COLLECTOR
from tests import factories

SHANGHAI = ZoneInfo("Asia/Shanghai")
DRAWN = date(2026, 1, 15)
DAY = date(2026, 3, 10)


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI), tick=False):
        yield


@pytest.fixture
def loan(clock):
    with time_machine.travel(datetime(2026, 1, 15, 10, 0, tzinfo=SHANGHAI)):
        return factories.loan(on=DRAWN)


@pytest.fixture
def admin_client(clock):
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(factories.staff(superuser=True))
    return client


@pytest.fixture
def case(loan):
    user = factories.staff(COLLECTOR)
    collector = Collector.objects.create(user=user, staff_number="C9001", queue="M1")
    return CollectionCase.objects.create(
        loan=loan,
        borrower=loan.borrower,
        status=CaseStatus.IN_PROGRESS,
        assigned_to=collector,
        bucket="M1",
        days_past_due=20,
        overdue_principal=Decimal("1000.00"),
        overdue_total=Decimal("1000.00"),
        opened_on=DAY - timedelta(days=18),
        updated_on=DAY,
    )
