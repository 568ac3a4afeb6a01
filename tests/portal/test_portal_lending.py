"""A borrower logs in with a texted code, borrows, signs the contract and sees the bills."""

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse

from loans.models import Contract, CreditLine, Loan, LoginCode
from loans.services import credit
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
DAY = date(2026, 3, 10)


@pytest.fixture
def borrower():
    with time_machine.travel(DAY):
        b = factories.borrower(income="30000", mobile="13912340000")
        credit.assess_credit(borrower=b, as_of=DAY)
        factories.bank_card(b)  # the money is paid only to a verified card
    CreditLine.objects.filter(borrower=b).update(daily_rate="0.000500")
    factories.product(terms=[5, 10], auto_approve_max_amount="20000")
    return b


def log_in(client, sms_outbox, mobile="13912340000"):
    client.post(reverse("portal:login"), {"mobile": mobile, "send": "1"})
    code = re.search(r"验证码为(\d{6})", sms_outbox[-1].text).group(1)
    return client.post(reverse("portal:login"), {"mobile": mobile, "code": code, "verify": "1"})


def test_login_code_is_texted_signed_and_logs_the_borrower_in(client, borrower, sms_outbox):
    with time_machine.travel(DAY):
        response = log_in(client, sms_outbox)
    assert response.status_code == 302 and response.url == reverse("portal:my_credit")
    text = sms_outbox[-1].text
    assert text.startswith("【微众银行】") and sms_outbox[-1].verification_code in text[-30:]
    assert LoginCode.objects.get().used_at is not None


def test_unknown_numbers_get_the_same_answer_and_no_sms(client, borrower, sms_outbox):
    with time_machine.travel(DAY):
        known = client.post(reverse("portal:login"), {"mobile": "13912340000", "send": "1"})
        unknown = client.post(reverse("portal:login"), {"mobile": "13912349999", "send": "1"})
    assert len(sms_outbox) == 1
    assert known.context["sent"] and unknown.context["sent"]


def test_code_rules_one_a_minute_five_tries_five_minutes(client, borrower, sms_outbox):
    url = reverse("portal:login")
    with time_machine.travel(DAY) as clock:
        client.post(url, {"mobile": "13912340000", "send": "1"})
        again = client.post(url, {"mobile": "13912340000", "send": "1"})
        assert again.context["form"].errors and len(sms_outbox) == 1
        code = re.search(r"验证码为(\d{6})", sms_outbox[-1].text).group(1)
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(5):
            bad = client.post(url, {"mobile": "13912340000", "code": wrong, "verify": "1"})
            assert bad.status_code == 200 and bad.context["form"].errors["code"]
        # The right code no longer works after five wrong tries.
        late = client.post(url, {"mobile": "13912340000", "code": code, "verify": "1"})
        assert late.status_code == 200
        clock.shift(timedelta(minutes=2))
        client.post(url, {"mobile": "13912340000", "send": "1"})
        fresh = re.search(r"验证码为(\d{6})", sms_outbox[-1].text).group(1)
        clock.shift(timedelta(minutes=6))
        expired = client.post(url, {"mobile": "13912340000", "code": fresh, "verify": "1"})
        assert expired.status_code == 200


def test_borrow_sign_and_see_the_bills(client, borrower, sms_outbox):
    with time_machine.travel(DAY):
        log_in(client, sms_outbox)
        quote = client.post(
            reverse("portal:borrow"),
            {"amount": "10000", "term": "10", "method": "equal_instalment", "quote": "1"},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert "APR 18.00%" in quote.content.decode()
        applied = client.post(
            reverse("portal:borrow"),
            {"amount": "10000", "term": "10", "method": "equal_instalment", "confirm": "1"},
        )
        contract = Contract.objects.get()
        assert applied.url == reverse("portal:contract", args=[contract.number])
        page = client.get(applied.url).content.decode()
        assert "18.00%" in page and borrower.masked_id_number in page
        download = client.get(reverse("portal:contract_download", args=[contract.number]))
        assert download.content == contract.body.encode()
        signed = client.post(applied.url, {"agree": "yes"}, HTTP_USER_AGENT="Mozilla/5.0 (iPhone)")
        loan = Loan.objects.get()
        assert signed.url == reverse("portal:loan", args=[loan.pk])
        contract.refresh_from_db()
        assert contract.status == "signed" and contract.signed_user_agent.startswith("Mozilla")
        bills = client.get(signed.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "2026-04-10" in bills and "¥1084.34" in bills
    assert loan.credit_line.outstanding_principal == 10000


def test_a_borrower_never_sees_another_borrowers_contract_or_loan(client, borrower, sms_outbox):
    with time_machine.travel(DAY):
        other_loan = factories.loan(on=DAY)
        log_in(client, sms_outbox)
        number = other_loan.contract.number
        assert client.get(reverse("portal:contract", args=[number])).status_code == 404
        assert client.get(reverse("portal:contract_download", args=[number])).status_code == 404
        assert client.get(reverse("portal:loan", args=[other_loan.pk])).status_code == 404


def test_bad_borrow_input_is_a_message_not_an_error(client, borrower, sms_outbox):
    with time_machine.travel(DAY):
        log_in(client, sms_outbox)
        for data in (
            {"amount": "abc", "term": "10", "method": "equal_instalment", "quote": "1"},
            {"amount": "150", "term": "10", "method": "equal_instalment", "confirm": "1"},
            {"amount": "99999999", "term": "10", "method": "equal_instalment", "quote": "1"},
            {"amount": "1000", "term": "7", "method": "equal_instalment", "quote": "1"},
            {"amount": "1000", "term": "10", "method": "bogus", "quote": "1"},
        ):
            response = client.post(reverse("portal:borrow"), data)
            assert response.status_code == 200 and response.context["form"].errors, data
    assert not Loan.objects.exists()
