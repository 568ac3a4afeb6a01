"""Repaying from the portal: "pay this bill", "pay an amount" and "settle today", each through
the sandbox gateway and its signed webhook, to the fen; a double submit charging once; bad
input shown as messages; nobody else's loan or payment."""

import re
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils.module_loading import import_string
from stdnum import luhn

from loans import reconcile, selectors
from loans.gateway import sandbox
from loans.models import DebitAttempt, Instalment, Loan, Repayment
from loans.services import payments
from notifications.models import SmsMessage
from portal.session import BORROWER_SESSION_KEY
from tests import factories

pytestmark = pytest.mark.django_db
DRAWN = date(2026, 1, 15)
EARLY = date(2026, 2, 12)  # instalment 1 (due 2026-02-15, ¥1,084.34) is billed
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def delivered(monkeypatch):
    """The sandbox gateway's signed answer goes through the webhook handler at once."""
    queued = []

    def deliver_now(func, *args, **kwargs):
        queued.append(args[0])
        import_string(func)(*args)

    monkeypatch.setattr(sandbox, "async_task", deliver_now)
    return queued


@pytest.fixture
def today():
    with time_machine.travel(EARLY):
        yield EARLY


@pytest.fixture
def loan():
    with time_machine.travel(DRAWN):
        return factories.loan(on=DRAWN)  # ¥10,000, 10 equal instalments, 0.05 %/day


def sign_in(client, borrower):
    session = client.session
    session[BORROWER_SESSION_KEY] = borrower.pk
    session.save()


@pytest.fixture
def signed_in(client, loan):
    sign_in(client, loan.borrower)
    return client


def token_of(html: str) -> str:
    return re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)


def form_page(client, loan):
    response = client.get(reverse("portal:repay_loan", args=[loan.pk]), **EN)
    assert response.status_code == 200
    return response.content.decode()


def submit(client, loan, capture, **data):
    html = form_page(client, loan)
    data.setdefault("token", token_of(html))
    with capture(execute=True):
        return client.post(reverse("portal:repay_loan", args=[loan.pk]), data, **EN)


def result(client, response):
    assert response.status_code == 302, response.content.decode()[:2000]
    page = client.get(response.url, **EN)
    assert page.status_code == 200
    return page.content.decode()


def test_the_repay_page_offers_the_three_figures(signed_in, loan, today):
    html = form_page(signed_in, loan)
    assert "Pay this bill: ¥1084.34" in html
    assert "Settle today: ¥10140.00" in html  # 28 days of interest since drawdown
    assert "Pay an amount" in html
    assert "招商银行 ****" in html  # the card charged, masked
    assert 'name="csrfmiddlewaretoken"' in html


def test_paying_the_bill_applies_it_as_billed_and_shows_the_new_schedule(
    signed_in, loan, today, delivered, django_capture_on_commit_callbacks
):
    response = submit(signed_in, loan, django_capture_on_commit_callbacks, choice="bill")
    attempt = DebitAttempt.objects.get()
    assert response.url == reverse("portal:payment", args=[attempt.pk])
    assert attempt.amount == Decimal("1084.34") and attempt.slot == DebitAttempt.Slot.PORTAL
    html = result(signed_in, response)
    assert "Payment of ¥1084.34" in html and "Paid." in html
    applied = re.search(r"How it was applied(.*?)</dl>", html, re.S).group(1)
    assert re.search(r"Interest</dt><dd>¥150.00", applied)
    assert re.search(r"Principal of the bills</dt><dd>¥934.34", applied)
    assert re.search(r"Principal repaid early</dt><dd>¥0.00", applied)
    assert re.search(r"Penalty interest</dt><dd>¥0.00", applied)
    assert "Principal still owed: ¥9065.66" in html
    schedule = html.split("Your schedule now")[1]
    assert re.search(
        r"Instalment 1 · 2026-02-15</span>\s*<span class=\"loan-state\">Paid", schedule
    )
    assert re.search(
        r"Instalment 2 · 2026-03-15</span>\s*<span class=\"loan-state\">Not yet", schedule
    )
    assert SmsMessage.objects.filter(template="repayment_received").count() == 1
    assert reconcile.differences() == []


def test_paying_an_amount_shows_the_prepayment_split(
    signed_in, loan, today, delivered, django_capture_on_commit_callbacks
):
    response = submit(
        signed_in, loan, django_capture_on_commit_callbacks, choice="amount", amount=" 1584.34 "
    )
    html = result(signed_in, response)
    repayment = Repayment.objects.get()
    assert repayment.channel == "bank_card"
    # The bill in full, then 500.00 of principal prepaid as of the bill's due date.
    assert (repayment.interest, repayment.principal, repayment.prepaid_principal) == (
        Decimal("150.00"),
        Decimal("1434.34"),
        Decimal("500.00"),
    )
    assert re.search(r"Principal of the bills</dt><dd>¥934.34", html)
    assert re.search(r"Principal repaid early</dt><dd>¥500.00", html)
    assert "Principal still owed: ¥8565.66" in html
    second = loan.instalments.get(number=2)
    # Re-computed: 28 days (from the bill's due date) on the new principal, to the fen.
    assert second.interest_due == Decimal("119.92")
    assert f"¥{second.total_due}" in html.split("Your schedule now")[1]


def test_settling_today_settles_the_loan(
    signed_in, loan, today, delivered, django_capture_on_commit_callbacks
):
    response = submit(signed_in, loan, django_capture_on_commit_callbacks, choice="settle")
    html = result(signed_in, response)
    loan.refresh_from_db()
    assert loan.status == Loan.Status.SETTLED and loan.outstanding_principal == 0
    assert "Payment of ¥10140.00" in html and "The loan is now settled" in html
    assert re.search(r"Interest</dt><dd>¥140.00", html)
    # Settling pays no bill as billed: all the principal is repaid early, interest to today.
    assert re.search(r"Principal of the bills</dt><dd>¥0.00", html)
    assert re.search(r"Principal repaid early</dt><dd>¥10000.00", html)
    assert "Settled early" in html
    assert SmsMessage.objects.filter(template="loan_settled").count() == 1
    # Settled: the repay page says so and offers no form.
    page = form_page(signed_in, loan)
    assert "This loan was settled on 2026-02-12" in page and 'name="token"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        again = signed_in.post(
            reverse("portal:repay_loan", args=[loan.pk]),
            {"choice": "settle", "token": "a" * 32},
            **EN,
        )
    assert again.status_code == 200 and DebitAttempt.objects.count() == 1
    # The settling form posted again: the first payment's result, not a second charge.
    token = re.search(r"PP-\d+-([0-9a-f]{32})", DebitAttempt.objects.get().gateway_ref).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        twice = signed_in.post(
            reverse("portal:repay_loan", args=[loan.pk]), {"choice": "settle", "token": token}
        )
    assert twice.url == response.url and DebitAttempt.objects.count() == 1


def test_the_amounts_are_the_servers_not_the_forms(
    signed_in, loan, today, delivered, django_capture_on_commit_callbacks
):
    submit(signed_in, loan, django_capture_on_commit_callbacks, choice="bill", amount="1.00")
    assert DebitAttempt.objects.get().amount == Decimal("1084.34")


def test_a_repeated_submit_charges_once(
    signed_in, loan, today, delivered, django_capture_on_commit_callbacks
):
    html = form_page(signed_in, loan)
    data = {"choice": "bill", "token": token_of(html)}
    url = reverse("portal:repay_loan", args=[loan.pk])
    with django_capture_on_commit_callbacks(execute=True):
        first = signed_in.post(url, data, **EN)
        second = signed_in.post(url, data, **EN)
        third = signed_in.post(url, {**data, "choice": "settle"}, **EN)
    assert first.url == second.url == third.url
    assert DebitAttempt.objects.count() == 1 and Repayment.objects.count() == 1
    assert len(delivered) == 1
    # Each showing of the form is a new token: paying again later is a new payment.
    assert token_of(form_page(signed_in, loan)) != data["token"]


@pytest.mark.parametrize(
    "amount, message",
    [
        ("", "Enter the amount you want to pay."),
        ("abc", "Enter the amount in yuan"),
        ("12\x0034", "Null characters are not allowed."),
        ("-5", "The amount must be more than ¥0."),
        ("0", "The amount must be more than ¥0."),
        ("0.00", "The amount must be more than ¥0."),
        ("1.234", "at most 2 decimal places"),
        ("1e5", "Enter the amount in yuan"),
        ("NaN", "Enter the amount in yuan"),
        ("１００", "Enter the amount in yuan"),
        ("9" * 19, "settles it today"),
        ("9" * 40, "at most 20 characters"),
        ("10140.01", "¥10140.00 settles it today"),
    ],
)
def test_bad_amounts_are_messages_not_errors(
    signed_in, loan, today, django_capture_on_commit_callbacks, amount, message
):
    response = submit(
        signed_in, loan, django_capture_on_commit_callbacks, choice="amount", amount=amount
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["amount"])
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert not DebitAttempt.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"choice": "everything"},
        {"choice": ""},
        {"choice": "bill", "token": "not-a-token"},
        {"choice": "bill", "token": "A" * 32},
        {"choice": "bill", "token": "a" * 31 + "\x00"},
        {"choice": "bill", "token": ""},
    ],
)
def test_bad_choices_and_tokens_are_messages_not_errors(
    signed_in, loan, today, django_capture_on_commit_callbacks, data
):
    response = submit(signed_in, loan, django_capture_on_commit_callbacks, **data)
    assert response.status_code == 200 and response.context["form"].errors
    assert not DebitAttempt.objects.exists()


def test_no_bill_open_means_no_pay_this_bill(signed_in, loan, django_capture_on_commit_callbacks):
    with time_machine.travel(date(2026, 1, 20)):  # the first bill opens on 2026-02-08
        html = form_page(signed_in, loan)
        assert "Pay this bill" not in html and "Settle today: ¥10025.00" in html
        response = submit(signed_in, loan, django_capture_on_commit_callbacks, choice="bill")
    assert response.status_code == 200 and response.context["form"].errors["choice"]


def test_without_a_card_the_borrower_is_sent_to_bind_one(
    signed_in, loan, today, django_capture_on_commit_callbacks
):
    url = reverse("portal:repay_loan", args=[loan.pk])
    html = form_page(signed_in, loan)
    loan.borrower.bank_cards.update(is_default=False)
    page = form_page(signed_in, loan)
    assert f"{reverse('portal:bind_card')}?next={url.replace('/', '%2F')}" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(url, {"choice": "bill", "token": token_of(html)}, **EN)
    assert response.status_code == 302
    assert response.url == f"{reverse('portal:bind_card')}?next={url.replace('/', '%2F')}"
    assert not DebitAttempt.objects.exists()


def failing_card_number() -> str:
    """A valid card number ending 0000: the sandbox gateway fails every charge to it."""
    (number,) = [n for d in range(10) if luhn.is_valid(n := f"62220277{d}1234560000")]
    return number


def test_a_failed_charge_says_why_and_offers_another_try(
    client, today, delivered, django_capture_on_commit_callbacks
):
    with time_machine.travel(DRAWN):
        b = factories.borrower(income="50000")
        factories.bank_card(b, number=failing_card_number())
        loan = factories.loan(on=DRAWN, borrower_obj=b)
    sign_in(client, b)
    html = result(
        client,
        submit(client, loan, django_capture_on_commit_callbacks, choice="amount", amount="100"),
    )
    assert "The payment did not go through" in html and "insufficient funds" in html
    assert reverse("portal:repay_loan", args=[loan.pk]) in html
    assert not Repayment.objects.exists()


def test_a_payment_waiting_for_the_bank_refreshes_itself(
    signed_in, loan, today, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(sandbox, "async_task", lambda *args, **kwargs: None)  # no answer yet
    html = result(
        signed_in, submit(signed_in, loan, django_capture_on_commit_callbacks, choice="bill")
    )
    head = html.split("</head>")[0]
    assert '<meta http-equiv="refresh" content="3">' in head
    assert "Processing" in html


def test_another_borrowers_loan_and_payment_are_404(
    client, loan, today, delivered, django_capture_on_commit_callbacks
):
    sign_in(client, loan.borrower)
    submit(client, loan, django_capture_on_commit_callbacks, choice="amount", amount="100")
    mine = DebitAttempt.objects.get()
    with time_machine.travel(DRAWN):
        stranger = factories.loan(on=DRAWN)
    sign_in(client, stranger.borrower)
    assert client.get(reverse("portal:payment", args=[mine.pk])).status_code == 404
    url = reverse("portal:repay_loan", args=[loan.pk])
    assert client.get(url).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(url, {"choice": "settle", "token": "b" * 32})
    assert posted.status_code == 404 and DebitAttempt.objects.count() == 1
    assert client.get(reverse("portal:payment", args=[999999])).status_code == 404


def test_an_auto_debit_attempt_is_no_portal_payment_page(signed_in, loan, monkeypatch):
    monkeypatch.setattr(sandbox, "async_task", lambda *args, **kwargs: None)
    first = loan.instalments.get(number=1)
    with time_machine.travel(first.due_date):
        attempt = payments.request_auto_debit(
            loan=loan,
            business_date=first.due_date,
            slot=DebitAttempt.Slot.DUE_MORNING,
            amount=first.total_due,
        )
    assert signed_in.get(reverse("portal:payment", args=[attempt.pk])).status_code == 404


def test_signed_out_visitors_are_sent_to_log_in(client, loan):
    for url in (
        reverse("portal:repay"),
        reverse("portal:repay_loan", args=[loan.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response.url == reverse("portal:login")


def test_repay_lists_each_open_loan_with_its_figures(client, loan, today):
    with time_machine.travel(DRAWN):
        second = factories.loan(on=DRAWN, amount="5000", borrower_obj=loan.borrower)
    sign_in(client, loan.borrower)
    html = client.get(reverse("portal:repay"), **EN).content.decode()
    for each in (loan, second):
        figures = selectors.repayment_figures(loan=each, on=EARLY)
        assert f"¥{figures.pay_bill}" in html and f"¥{figures.settle}" in html
        assert reverse("portal:repay_loan", args=[each.pk]) in html
    assert "¥10140.00" in html and "¥5070.00" in html
    assert "2026-02-15" in html  # the open bill's due date


def test_repay_with_nothing_open_is_a_friendly_page(client, today):
    sign_in(client, factories.borrower())
    response = client.get(reverse("portal:repay"), **EN)
    html = response.content.decode()
    assert response.status_code == 200 and "You have nothing to repay" in html
    assert reverse("portal:my_credit") in html


def test_overdue_figures_on_the_repay_pages(client, loan, django_capture_on_commit_callbacks):
    on = date(2026, 2, 20)  # instalment 1 five days late: 5 days of penalty: the grace day is past
    sign_in(client, loan.borrower)
    with time_machine.travel(on):
        html = client.get(reverse("portal:repay"), **EN).content.decode()
        figures = selectors.repayment_figures(loan=loan, on=on)
    # 934.34 × 0.0005 × 1.5 = 0.70 a day (to the fen), for each of the 5 days after the due date.
    assert figures.overdue == Decimal("1084.34") + Decimal("3.50")
    assert "¥1087.84" in html and "5 days past due" in html
    assert loan.instalments.get(number=1).status == Instalment.Status.PENDING  # no end of day
