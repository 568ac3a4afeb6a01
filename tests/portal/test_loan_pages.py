"""A borrower's loan pages: the schedule with each instalment's status (paid, partly paid, open
bill, overdue N days, future) in fen, the loan's own status (a loan 88 days overdue says so),
the transactions newest first, the contract; the list of loans; and "my credit" with the next
bill, the overdue warning, open loans and pending draws, in a bounded number of queries."""

import re
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loans import selectors
from loans.models import Loan
from loans.services import lending
from loans.services.end_of_day import run_end_of_day
from loans.services.repayments import post_repayment
from portal.session import BORROWER_SESSION_KEY
from tests import factories

pytestmark = pytest.mark.django_db
DRAWN = date(2026, 1, 15)  # instalments due on the 15th; ¥1,084.34 each
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def make_loan(**kwargs):
    with time_machine.travel(DRAWN):
        return factories.loan(on=DRAWN, **kwargs)


def pay(loan, amount, on, ext=None):
    with time_machine.travel(on):
        repayment, _ = post_repayment(
            loan=loan,
            amount=Decimal(amount),
            channel="wechat_pay",
            external_id=ext or f"WX-{loan.pk}-{on}-{amount}",
            value_date=on,
        )
    return repayment


def sign_in(client, borrower):
    session = client.session
    session[BORROWER_SESSION_KEY] = borrower.pk
    session.save()


def page(client, url, on, lang="en"):
    with time_machine.travel(on):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200
    return response.content.decode()


def instalment(html: str, number: int) -> str:
    """The block of instalment `number` in the schedule."""
    blocks = re.findall(r'<li class="loan-inst [a-z_]+">.*?</li>', html, re.S)
    (block,) = [b for b in blocks if f"Instalment {number} ·" in b]
    return block


def state(html: str, number: int) -> str:
    block = instalment(html, number)
    return re.search(r'<span class="loan-state">(.*?)</span>', block, re.S).group(1).strip()


def test_each_instalment_says_where_it_stands_in_fen(client):
    loan = make_loan()
    pay(loan, "1084.34", date(2026, 2, 15))  # instalment 1 in full
    pay(loan, "982.25", date(2026, 3, 15))  # instalment 2 in part: 102.09 principal left
    sign_in(client, loan.borrower)
    on = date(2026, 4, 12)  # instalment 3 (due 04-15) is billed; 2 is 28 days late
    html = page(client, reverse("portal:loan", args=[loan.pk]), on)
    assert state(html, 1) == "Paid"
    assert state(html, 2) == "Overdue 28 days · partly paid"
    assert state(html, 3) == "Bill open"
    assert state(html, 4) == "Not yet billed" and state(html, 10) == "Not yet billed"
    # Paid to the fen: 1,084.34 + 982.25, never cut to whole yuan.
    assert "Repaid so far: ¥2066.59" in html
    assert "Paid ¥1084.34" in instalment(html, 1) and "Paid ¥982.25" in instalment(html, 2)
    # 28 days of penalty on 102.09: 102.09 × 0.0005 × 1.5 = 0.08 a day → 2.24.
    second = instalment(html, 2)
    assert "To pay <strong>¥104.33</strong>" in second
    assert re.search(r"To pay</th><td>¥102.09</td><td>¥0.00</td><td>¥2.24</td>", second)
    assert re.search(r"Paid</th><td>¥846.27</td><td>¥135.98</td><td>¥0.00</td>", second)
    assert "To pay <strong>¥1084.34</strong>" in instalment(html, 3)
    with time_machine.travel(on):
        figures = selectors.repayment_figures(loan=loan, on=on)
    assert figures.overdue == Decimal("104.33")
    assert "Overdue: ¥104.33, 28 days past due" in html
    assert f"¥{figures.pay_bill}" in html and f"¥{figures.settle}" in html
    assert "Overdue 28 days (M1)" in html  # the loan's own status


def test_a_part_paid_ahead_is_partly_paid(client):
    loan = make_loan()
    pay(loan, "1084.34", date(2026, 2, 15))
    pay(loan, "2.00", date(2026, 2, 20))  # less than the interest accrued since 02-15
    sign_in(client, loan.borrower)
    html = page(client, reverse("portal:loan", args=[loan.pk]), date(2026, 2, 25))
    assert state(html, 1) == "Paid"
    assert state(html, 2) == "Partly paid" and "Paid ¥2.00" in instalment(html, 2)
    assert state(html, 3) == "Not yet billed"
    assert "Repaying normally" in html


def test_a_loan_88_days_overdue_says_so_and_a_cured_one_does_not(client):
    loan = make_loan()
    on = date(2026, 5, 14)  # instalment 1 was due 2026-02-15
    with time_machine.travel(on):
        run_end_of_day(through=on)
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.bucket) == (88, "M3")
    sign_in(client, loan.borrower)
    url = reverse("portal:loan", args=[loan.pk])
    html = page(client, url, on)
    assert "Overdue 88 days (M3)" in html and "Repaying normally" not in html
    assert state(html, 1) == "Overdue 88 days" and state(html, 2) == "Overdue 60 days"
    assert state(html, 3) == "Overdue 29 days" and state(html, 4) == "Bill open"
    zh = page(client, url, on, lang="zh-hans")
    status = re.search(r'<p class="loan-status overdue">(.*?)</p>', zh, re.S).group(1)
    assert "88" in status and "M3" in status and "正常" not in status
    # The list and my credit say the same.
    assert "Overdue 88 days (M3)" in page(client, reverse("portal:loans"), on)
    assert "Overdue 88 days (M3)" in page(client, reverse("portal:my_credit"), on)
    # Paying what is overdue cures it today, before the next end of day updates the field.
    with time_machine.travel(on):
        overdue = selectors.repayment_figures(loan=loan, on=on).overdue
    pay(loan, overdue, on)
    html = page(client, url, on)
    assert "Repaying normally" in html and "Overdue 88 days" not in html
    assert state(html, 1) == "Paid" and state(html, 4) == "Bill open"


def test_transactions_newest_first_and_the_contract_and_ways_back(client):
    loan = make_loan()
    pay(loan, "1084.34", date(2026, 2, 15))
    pay(loan, "3000.00", date(2026, 3, 15))
    sign_in(client, loan.borrower)
    html = page(client, reverse("portal:loan", args=[loan.pk]), date(2026, 3, 16))
    tx = html.split("<h2>Transactions</h2>")[1].split("</section>")[0]
    order = [tx.index(s) for s in ("2026-03-15 · Repayment", "2026-02-15 · Repayment")]
    order.append(tx.index("2026-01-15 · Disbursement"))
    assert order == sorted(order)
    assert "principal ¥934.34" in tx and "interest ¥150.00" in tx
    assert "Repaid so far: ¥4084.34" in html  # ¥3,000 shown as 3000.00, not 2999
    for name in ("portal:contract", "portal:contract_download"):
        assert reverse(name, args=[loan.contract.number]) in html
    assert reverse("portal:repay_loan", args=[loan.pk]) in html
    assert reverse("portal:my_credit") in html


def test_the_loan_list_puts_active_loans_first(client):
    older = make_loan()
    newer = make_loan(borrower_obj=older.borrower, product_obj=older.product, amount="2000")
    with time_machine.travel(date(2026, 2, 1)):
        settle = selectors.repayment_figures(loan=newer, on=date(2026, 2, 1)).settle
    pay(newer, settle, date(2026, 2, 1))
    sign_in(client, older.borrower)
    html = page(client, reverse("portal:loans"), date(2026, 2, 1))
    active_at = html.index(reverse("portal:loan", args=[older.pk]))
    settled_at = html.index(reverse("portal:loan", args=[newer.pk]))
    assert active_at < settled_at
    assert "Repaying normally" in html and "Settled" in html
    assert "Principal still owed: ¥10000.00" in html
    assert "next due 2026-02-15: ¥1084.34" in html
    assert "settled on 2026-02-01" in html


def test_the_loan_list_is_empty_politely(client):
    sign_in(client, factories.borrower())
    html = page(client, reverse("portal:loans"), DRAWN)
    assert "You have no loans yet." in html


def test_my_credit_shows_the_next_bill_overdue_loans_and_pending_draws(client):
    loan = make_loan()
    with time_machine.travel(date(2026, 2, 1)):  # a draw waiting for its signature since
        draw = lending.apply_for_loan(
            borrower=loan.borrower,
            product=loan.product,
            amount=Decimal("1000"),
            term=10,
            method="equal_instalment",
        )
    pay(loan, "982.25", date(2026, 2, 15))  # part of instalment 1: 102.09 principal left
    on = date(2026, 3, 10)  # instalment 1 is 23 days late; instalment 2 (03-15) billed
    with time_machine.travel(on):
        figures = selectors.repayment_figures(loan=loan, on=on)
    sign_in(client, loan.borrower)
    html = page(client, reverse("portal:my_credit"), on)
    assert "APR" in html and "Daily rate" in html
    assert html.index('class="apr"') < html.index("Daily rate")  # APR first, larger
    # 23 days of penalty on 102.09 (0.08 a day) = 1.84.
    assert figures.overdue == Decimal("102.09") + Decimal("1.84")
    assert "¥103.93 is overdue, 23 days past due" in html
    next_bill = html.split("<h2>Next bill</h2>")[1].split("</section>")[0]
    assert "¥1084.34" in next_bill and "Due 2026-03-15 (instalment 2)" in next_bill
    assert "Covers principal ¥948.36, interest ¥135.98, penalty ¥0.00." in next_bill
    assert reverse("portal:loan", args=[loan.pk]) in html
    assert reverse("portal:cancel_draw", args=[draw.pk]) in html
    assert "Cancel this draw of ¥1000.00" in html


def test_my_credit_queries_do_not_grow_with_loans_or_instalments(client):
    one = make_loan()
    sign_in(client, one.borrower)
    url = reverse("portal:my_credit")

    def queries():
        with time_machine.travel(date(2026, 2, 10)), CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for _ in range(3):
        make_loan(borrower_obj=one.borrower, product_obj=one.product, amount="1000")
    assert Loan.objects.filter(borrower=one.borrower).count() == 4
    assert queries() == few


def test_a_signed_out_visitor_and_a_stranger_see_no_loan(client):
    loan = make_loan()
    for url in (reverse("portal:loans"), reverse("portal:loan", args=[loan.pk])):
        response = client.get(url)
        assert response.status_code == 302 and response.url == reverse("portal:login")
    sign_in(client, factories.borrower())
    assert client.get(reverse("portal:loan", args=[loan.pk])).status_code == 404
    assert reverse("portal:loan", args=[loan.pk]) not in page(
        client, reverse("portal:loans"), DRAWN
    )
