"""What the portal's browser tests share: screenshots that also prove the page fits a phone,
a signed-in browser without the texted-code dance, and the clock for staff-side work."""

import re
import time as clock
from datetime import datetime, time
from importlib import import_module
from pathlib import Path
from zoneinfo import ZoneInfo

import time_machine
from django.conf import settings

from portal.session import BORROWER_SESSION_KEY

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots" / "portal"
PHONE_WIDTH = 390
SHANGHAI = ZoneInfo("Asia/Shanghai")


def shot(page, name: str) -> None:
    """Every page visited, saved at 390 px for a person to look at (DESIGN §9); a page wider
    than the phone (something that does not wrap) fails the test."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{name}: the page is {width} px wide on a {PHONE_WIDTH}-px phone"


def sign_in(page, live_server, borrower) -> None:
    """The browser signed in as `borrower`, as the texted-code login leaves it (the login
    itself has its own browser test)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[BORROWER_SESSION_KEY] = borrower.pk
    store.save()
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": store.session_key, "url": live_server.url}]
    )


def office_hours(day):
    """Staff work (calls, visits) happens inside the contact window, whatever the real clock
    says; the browser keeps the real time."""
    return time_machine.travel(datetime.combine(day, time(10), SHANGHAI), tick=False)


def texted_after(sent: list, before: int, timeout: float = 5.0) -> list:
    """Codes go out just after the page has been answered: wait for what came after `before`."""
    deadline = clock.monotonic() + timeout
    while len(sent) <= before and clock.monotonic() < deadline:
        clock.sleep(0.02)
    return sent[before:]


def apply_for_a_line(page, *, name: str, monthly_debts: str) -> None:
    """Step 2 of /apply/ (the mobile already proven): who they are, both consents, submit;
    the answer is on /credit/."""
    from tests import factories

    page.fill("#id_name", name)
    page.fill("#id_id_number", factories.id_number())
    page.fill("#id_monthly_income", "20000")
    page.fill("#id_monthly_debt_payments", monthly_debts)
    page.check("#id_consent_data")
    page.check("#id_consent_credit")
    page.click("text=Check my credit line")
    page.wait_for_url(re.compile(r"/credit/$"))
