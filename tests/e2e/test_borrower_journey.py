"""A borrower on a phone: apply, get a line, log in with the texted code, borrow, sign."""

import re

import pytest

from loans.models import CreditLine, Loan
from notifications.backends import locmem
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


class CleanBureau:
    source = "e2e"

    def pull(self, *, id_number):
        from loans.bureau import BureauReport

        return BureauReport(0, 0, 1, 90)


def test_apply_log_in_borrow_and_sign(page, live_server, settings):
    settings.CREDIT_BUREAU_BACKEND = "tests.e2e.test_borrower_journey.CleanBureau"
    factories.product(code="weilidai", terms=[5, 10])
    page.goto(f"{live_server.url}/apply/")
    page.fill("#id_name", "王小明")
    page.fill("#id_id_number", factories.id_number())
    page.fill("#id_mobile", "139 1234 8888")
    page.fill("#id_monthly_income", "20000")
    page.fill("#id_monthly_debt_payments", "500")
    page.check("#id_consent_data")
    page.check("#id_consent_credit")
    page.click("text=Check my credit line")
    page.wait_for_url(re.compile(r"/credit/$"))
    assert "Your credit line" in page.content()
    line = CreditLine.objects.get()
    CreditLine.objects.filter(pk=line.pk).update(daily_rate="0.000500")

    # A new session logs in with the texted code.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_mobile", "13912348888")
    page.click("text=Text me a code")
    code = re.search(r"验证码为(\d{6})", locmem.outbox[-1].text).group(1)
    page.fill("#id_code", code)
    page.click("button[name=verify]")
    page.wait_for_url(re.compile(r"/credit/$"))

    page.click("text=Borrow")
    page.fill("#id_amount", "10000")
    page.select_option("#id_term", "10")
    page.click("text=Show the repayment plan")
    assert "APR 18.00%" in page.content()
    page.click("text=Apply and read the contract")
    page.wait_for_url(re.compile(r"/contracts/"))
    assert "18.00%" in page.content()
    page.check("input[name=agree]")
    page.click("text=Sign and borrow")
    page.wait_for_url(re.compile(r"/loans/\d+/$"))
    assert "¥1084.34" in page.content()
    loan = Loan.objects.get()
    assert loan.contract.signed_user_agent and loan.principal == 10000
