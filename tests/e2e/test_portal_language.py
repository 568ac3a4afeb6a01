"""The 中文 / EN switch: Chinese by default, English once chosen, remembered on the borrower,
and their texts follow it."""

import re
import time

import pytest

from notifications.backends import locmem
from tests import factories

from .conftest import browser_page
from .portal_helpers import shot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chinese_phone(browser):
    """A phone whose browser asks for Chinese, as most of our borrowers' do."""
    with browser_page(browser, locale="zh-CN") as page:
        yield page


def test_the_english_switch_is_remembered_and_texts_follow_it(chinese_phone, live_server):
    page = chinese_phone
    loan = factories.loan()
    borrower = loan.borrower
    assert borrower.language == "zh-hans"
    sign_in(page, live_server, borrower)
    page.goto(f"{live_server.url}/loans/{loan.pk}/")
    shot(page, "language-1-chinese-loan")
    assert "我的额度" in page.inner_text("nav")
    page.click("header >> text=EN")
    page.wait_for_url(re.compile(rf"/loans/{loan.pk}/$"))
    shot(page, "language-2-english-loan")
    assert "My credit" in page.inner_text("nav")
    borrower.refresh_from_db()
    assert borrower.language == "en"

    # Signed out, on another day, a login code comes in English.
    page.click("nav >> text=Sign out")
    page.wait_for_url(re.compile(r"/$"))
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/login/")
    shot(page, "language-3-login-chinese-again")  # a new browser: its own language
    page.fill("#id_mobile", borrower.mobile)
    before = len(locmem.outbox)
    page.click("button[name=send]")
    deadline = time.monotonic() + 5
    while len(locmem.outbox) <= before and time.monotonic() < deadline:
        time.sleep(0.02)
    (text,) = [m.text for m in locmem.outbox[before:]]
    assert "Your login code is" in text and "登录" not in text
    assert text.rstrip().endswith("at /verify/)"), text
