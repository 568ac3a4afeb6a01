"""A borrower on a phone: prove the mobile, apply, get a line, log in with the texted code,
bind a card, borrow with the live quote, sign, see the loan; then, once the first bill is out,
pay the bill, pay an amount and settle early, each through the sandbox gateway's signed
webhook."""

import re
from datetime import datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal

import pytest
import time_machine
from django.db.models import F

from loans import signals, tasks
from loans.gateway import sandbox
from loans.models import CreditLine, DebitAttempt, Loan, LoginCode, Repayment
from notifications.backends import locmem
from notifications.models import SmsMessage
from tests import factories

from .portal_helpers import SHANGHAI, apply_for_a_line, sign_in, texted_after
from .portal_helpers import shot as portal_shot

pytestmark = pytest.mark.django_db(transaction=True)


class CleanBureau:
    source = "e2e"

    def pull(self, *, id_number):
        from loans.bureau import BureauReport

        return BureauReport(0, 0, 1, 90)


def shot(page, name: str) -> None:
    portal_shot(page, f"journey-{name}")


@pytest.fixture
def gateway_answers_at_once(monkeypatch):
    """The sandbox's answer is delivered as soon as the charge commits (in production a task
    delivers it a moment later), through the same signed-webhook handler."""
    monkeypatch.setattr(
        sandbox, "async_task", lambda func, body, **kwargs: tasks.deliver_sandbox_charge(body)
    )


def test_apply_borrow_sign_and_repay(
    page, live_server, settings, registration_codes, gateway_answers_at_once
):
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
    apply_for_a_line(page, name="王小明", monthly_debts="500")
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
    # She applied in English, so her texts are English.
    code = re.search(r"Your login code is (\d{6})", " ".join(texts)).group(1)
    page.fill("#id_code", code)
    page.click("button[name=verify]")
    page.wait_for_url(re.compile(r"/credit/$"))

    page.click("main >> text=Borrow")
    # The quote follows what she types, without a submit.
    page.fill("#id_amount", "10000")
    page.select_option("#id_term", "10")
    page.wait_for_selector("[data-quote-summary] >> text=APR 18.00%")
    assert "/borrow/" in page.url and "quote" not in page.url
    shot(page, "6-borrow-live-quote")
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
        shot(page, "7a-bind-card")
        page.click("text=Text me a code")
        page.wait_for_url(re.compile(r"/cards/bind/\d+/"))
        shot(page, "7b-card-code")
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
    page.click("text=Read the signed contract")
    page.wait_for_url(re.compile(r"/contracts/"))
    shot(page, "9-signed-contract")
    page.go_back()

    # Three days before the first due date the bill is out: she pays it, then an amount,
    # then settles what is left.
    first = loan.instalments.get(number=1)
    bill_day = datetime.combine(first.due_date - timedelta(days=3), dt_time(10), SHANGHAI)
    with time_machine.travel(bill_day, tick=True):
        repay_and_settle(page, live_server, loan)


def pay(page, choice: str, amount: str = "") -> DebitAttempt:
    page.check(f"input[name=choice][value={choice}]")
    if amount:
        page.fill("#id_amount", amount)
    before = DebitAttempt.objects.count()
    page.click("text=Pay now")
    page.wait_for_url(re.compile(r"/payments/\d+/$"))
    page.wait_for_selector("text=How it was applied")
    assert DebitAttempt.objects.count() == before + 1
    return DebitAttempt.objects.latest("id")


def repay_and_settle(page, live_server, loan):
    # Weeks later her session has long expired: she signs in again.
    page.goto(f"{live_server.url}/credit/")
    page.wait_for_url(re.compile(r"/apply/$"))
    sign_in(page, live_server, loan.borrower)
    page.goto(f"{live_server.url}/credit/")
    shot(page, "10-my-credit-bill-out")
    assert "¥1084.34" in page.inner_text("main")  # the next bill, with what it covers
    page.click("nav >> text=Repay")
    page.wait_for_url(re.compile(r"/repay/$"))
    shot(page, "11-repay")
    page.goto(f"{live_server.url}/loans/{loan.pk}/repay/")
    shot(page, "12-repay-form")
    page.check("input[name=choice][value=bill]")
    posted = {
        "csrfmiddlewaretoken": page.input_value("input[name=csrfmiddlewaretoken]"),
        "token": page.input_value("input[name=token]"),
        "choice": "bill",
        "amount": "",
    }
    attempt = pay(page, "bill")
    shot(page, "13-paid-bill")
    repayment = Repayment.objects.get(external_id=attempt.gateway_ref)
    assert (repayment.amount, repayment.interest, repayment.principal) == (
        Decimal("1084.34"),
        Decimal("150.00"),
        Decimal("934.34"),
    )
    assert repayment.channel == "bank_card"
    # The receipt follows at once (it confirms what she just did).
    receipt = SmsMessage.objects.get(borrower=loan.borrower, template="repayment_received")
    assert receipt.status == "sent" and "1084.34" in receipt.text
    # The same form posted again (a double tap, a refresh of the POST) charges nothing more.
    again = page.request.post(f"{live_server.url}/loans/{loan.pk}/repay/", form=posted)
    assert again.ok and again.url.endswith(f"/payments/{attempt.pk}/")
    assert DebitAttempt.objects.filter(loan=loan).count() == 1

    page.goto(f"{live_server.url}/loans/{loan.pk}/repay/")
    attempt = pay(page, "amount", "1000")
    shot(page, "14-paid-amount")
    repayment = Repayment.objects.get(external_id=attempt.gateway_ref)
    assert repayment.prepaid_principal == 1000
    assert "¥1000.00" in page.inner_text("main")

    page.goto(f"{live_server.url}/loans/{loan.pk}/repay/")
    shot(page, "15-repay-form-after-prepayment")
    attempt = pay(page, "settle")
    shot(page, "16-settled")
    loan.refresh_from_db()
    assert loan.status == Loan.Status.SETTLED
    assert SmsMessage.objects.filter(borrower=loan.borrower, template="loan_settled").exists()
    assert Repayment.objects.get(external_id=attempt.gateway_ref).settled_loan
    page.goto(f"{live_server.url}/loans/{loan.pk}/")
    shot(page, "17-loan-settled")
    page.click("nav >> text=Loans")
    page.wait_for_url(re.compile(r"/loans/$"))
    shot(page, "18-loans")
    for path, name in [
        ("/cards/", "19-bank-cards"),
        ("/consents/", "20-consents"),
        ("/messages/", "21-messages"),
        ("/calculator/?amount=5000&term=5&method=equal_instalment", "22-calculator"),
    ]:
        page.goto(f"{live_server.url}{path}")
        shot(page, name)
    assert "APR" in page.inner_text("main")  # the calculator answered the GET
