"""Staff read times in Beijing time everywhere, object names in inlines and lists included (an
aware time formatted straight from the database is UTC: 07:58 beside 3:58 p.m.)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from debt_collection.models import CaseEvent, ContactAttempt
from loans.models import CreditLineEvent, CreditReport, LoginCode
from loans.models.borrowers import RegistrationAttempt

UTC_EVENING = datetime(2026, 3, 1, 16, 30, tzinfo=ZoneInfo("UTC"))  # 00:30 on 2 March in Beijing


@pytest.mark.parametrize(
    "make",
    [
        lambda: LoginCode(created_at=UTC_EVENING),
        lambda: RegistrationAttempt(at=UTC_EVENING, outcome="registered"),
        lambda: CreditLineEvent(at=UTC_EVENING, kind="opened"),
        lambda: ContactAttempt(at=UTC_EVENING, channel="call", allowed=True),
        lambda: CaseEvent(at=UTC_EVENING, kind="note"),
    ],
)
def test_object_names_say_the_beijing_time(make):
    assert "2026-03-02 00:30" in str(make())


def test_a_credit_report_pulled_after_midnight_in_beijing_is_dated_that_day():
    assert str(CreditReport(source="sandbox", pulled_at=UTC_EVENING)) == "sandbox 2026-03-02"
