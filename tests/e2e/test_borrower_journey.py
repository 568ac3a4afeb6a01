"""A borrower on a phone: prove the mobile, apply, get a line, log in with the texted code,
borrow, sign."""

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import F

from loans import signals
from loans.models import CreditLine, Loan, LoginCode
from notifications.backends import locmem
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


class CleanBureau:
    source = "e2e"

    def pull(self, *, id_number):
        from loans.bureau import BureauReport

        return BureauReport(0, 0, 1, 90)


SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def shot(page, name: str) -> None:
    """Every page visited, for a person to look at (DESIGN §9)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"journey-{name}.png"), full_page=True)


def texted_after(sent: list, before: int, timeout: float = 5.0) -> list:
    """Codes go out just after the page has been answered: wait for what came after `before`."""
    deadline = time.monotonic() + timeout
    while len(sent) <= before and time.monotonic() < deadline:
        time.sleep(0.02)
    return sent[before:]


@pytest.fixture
def registration_codes():
    """The codes the portal asks to text to unregistered numbers (the live server runs in this
    process, so a receiver here hears them), newest last."""
    codes = []

    def capture(sender, mobile, code, request_id, **kwargs):
        codes.append((mobile, code))

    signals.registration_code_requested.connect(capture, dispatch_uid="e2e-registration-codes")
    yield codes
    signals.registration_code_requested.disconnect(dispatch_uid="e2e-registration-codes")


def test_apply_log_in_borrow_and_sign(page, live_server, settings, registration_codes):
    settings.CREDIT_BUREAU_BACKEND = "tests.e2e.test_borrower_journey.CleanBureau"
    factories.product(code="weilidai", terms=[5, 10])
    page.goto(f"{live_server.url}/apply/")
    shot(page, "1-apply-mobile")
    # Step 1: the mobile is proven with a texted code before anything else is asked.
    page.fill("#id_mobile", "139 1234 8888")
    page.click("text=Text me a code")
    page.wait_for_selector("text=A code is on its way")
    shot(page, "2-apply-code-sent")
    (mobile, code), *_ = texted_after(registration_codes, 0)
    assert mobile == "13912348888"
    page.fill("#id_code", code)
    page.click("button[name=verify]")
    page.wait_for_selector("text=Step 2 of 2")
    shot(page, "3-apply-details")
    assert "139****8888" in page.content() and "13912348888" not in page.url
    # Step 2: who they are; the proven mobile is used.
    page.fill("#id_name", "王小明")
    page.fill("#id_id_number", factories.id_number())
    page.fill("#id_monthly_income", "20000")
    page.fill("#id_monthly_debt_payments", "500")
    page.check("#id_consent_data")
    page.check("#id_consent_credit")
    page.click("text=Check my credit line")
    page.wait_for_url(re.compile(r"/credit/$"))
    shot(page, "4-credit-line")
    assert "Your credit line" in page.content()
    line = CreditLine.objects.get()
    CreditLine.objects.filter(pk=line.pk).update(daily_rate="0.000500")

    # Some minutes later (one code a minute per phone) a new session logs in with a texted code.
    LoginCode.objects.update(created_at=F("created_at") - timedelta(minutes=2))
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_mobile", "13912348888")
    before = len(locmem.outbox)
    page.click("text=Text me a code")
    page.wait_for_selector("text=a code is on its way")
    shot(page, "5-login-code-sent")
    texts = [m.text for m in texted_after(locmem.outbox, before)]
    code = re.search(r"登录验证码为(\d{6})", " ".join(texts)).group(1)
    page.fill("#id_code", code)
    page.click("button[name=verify]")
    page.wait_for_url(re.compile(r"/credit/$"))

    page.click("text=Borrow")
    page.fill("#id_amount", "10000")
    page.select_option("#id_term", "10")
    page.click("text=Show the repayment plan")
    page.wait_for_selector("text=APR 18.00%")
    shot(page, "6-borrow-plan")
    page.click("text=Apply and read the contract")
    page.wait_for_url(re.compile(r"/contracts/"))
    shot(page, "7-contract")
    assert "18.00%" in page.content()
    # No card yet: the money is paid only to a verified card, so the contract page asks for
    # one first; binding it (a code texted to her mobile) brings her back to the contract.
    page.click('a:text-is("Bind a bank card")')
    page.wait_for_url(re.compile(r"/cards/bind/\?next="))
    card_codes = []
    signals.card_verification_code_requested.connect(
        lambda sender, code, **kwargs: card_codes.append(code),
        dispatch_uid="e2e-card-codes",
        weak=False,
    )
    try:
        number = factories.card_number()
        page.fill("#id_card_number", number)
        page.select_option("#id_bank_name", "招商银行")
        page.click("text=Text me a code")
        page.wait_for_url(re.compile(r"/cards/bind/\d+/"))
        assert number not in page.url and number not in page.content()
        (card_code,) = texted_after(card_codes, 0)
        page.fill("#id_code", card_code)
        page.click("button[name=verify]")
        page.wait_for_url(re.compile(r"/contracts/"))
    finally:
        signals.card_verification_code_requested.disconnect(dispatch_uid="e2e-card-codes")
    assert f"The money will be paid to your card 招商银行 ****{number[-4:]}" in page.content()
    page.check("input[name=agree]")
    page.click("text=Sign and borrow")
    page.wait_for_url(re.compile(r"/loans/\d+/$"))
    shot(page, "8-loan-bills")
    assert "¥1084.34" in page.content()
    loan = Loan.objects.get()
    assert loan.contract.signed_user_agent and loan.principal == 10000
    assert loan.transactions.get(kind="disbursement").bank_card.number == number
