"""What every portal page shows in its header, footer and small print: the price band, and
whether a borrower is signed in (the navigation)."""

from datetime import date
from decimal import Decimal
from functools import cache

from django.conf import settings

from loans import schedules
from loans.scorecard import MAX_DAILY_RATE, MIN_DAILY_RATE

from .session import BORROWER_SESSION_KEY


@cache
def typical_apr(daily_rate: Decimal) -> Decimal:
    """APR of a typical loan (¥10,000 over 10 equal instalments) at a daily rate: the price
    shown most prominently, per PBOC announcement [2021] No. 3."""
    return schedules.build_schedule(
        principal=Decimal("10000.00"),
        term=10,
        daily_rate=daily_rate,
        method=schedules.RepaymentMethod.EQUAL_INSTALMENT,
        drawdown=date(2026, 1, 15),
    ).apr_percent


def prices(request) -> dict:
    """The APR and daily rate band and the official service number. Arithmetic on constants,
    cached: no query, so it costs nothing on the pages that do not show it."""
    return {
        "apr_min": typical_apr(MIN_DAILY_RATE),
        "apr_max": typical_apr(MAX_DAILY_RATE),
        "daily_min": (MIN_DAILY_RATE * 100).quantize(Decimal("0.01")),
        "daily_max": (MAX_DAILY_RATE * 100).quantize(Decimal("0.01")),
        "service_phone": settings.SERVICE_PHONE,
    }


def navigation(request) -> dict:
    """Whether the header shows the signed-in borrower's navigation. Read from the session, no
    query; the pages themselves check who is signed in."""
    session = getattr(request, "session", None)
    return {"signed_in": bool(session is not None and session.get(BORROWER_SESSION_KEY))}
