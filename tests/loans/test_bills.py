"""出账 (bills) and paying early (DESIGN §4): a borrower who pays this month's bill a few days
early, as the T−3 reminder invites, has paid that bill, not made a prepayment; and the two
figures ("pay this bill", "settle today") are what posting them actually does."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine

from loans import reconcile, selectors
from loans.models import Instalment, Loan
from notifications.models import SmsMessage
from notifications.reminders import queue_reminders
from portal.session import BORROWER_SESSION_KEY
from tests.loans.test_repayments import make_loan, pay

pytestmark = pytest.mark.django_db
BILL_DUE = date(2026, 2, 15)  # instalment 1 of a loan drawn 2026-01-15
EARLY = BILL_DUE - timedelta(days=3)


def figures(loan, on):
    with time_machine.travel(on):
        return selectors.repayment_figures(loan=loan, on=on)


def test_paying_the_bill_three_days_early_pays_it_as_scheduled():
    loan = make_loan()  # ¥10,000 over 10 equal instalments of 1,084.34
    before = [(i.principal_due, i.interest_due) for i in loan.instalments.order_by("number")]
    r = pay(loan, "1084.34", EARLY)
    assert (r.principal, r.interest, r.prepaid_principal, r.unapplied) == (
        Decimal("934.34"),
        Decimal("150.00"),  # the whole period's interest, as billed
        Decimal("0.00"),
        Decimal("0.00"),
    )
    after = [(i.principal_due, i.interest_due) for i in loan.instalments.order_by("number")]
    assert after == before  # nothing re-computed
    first = loan.instalments.get(number=1)
    assert first.status == Instalment.Status.PAID and first.total_outstanding == 0
    # On the due date nothing is owed; the next bill is the next instalment, unchanged.
    on_due = figures(loan, BILL_DUE)
    assert on_due.overdue == 0 and on_due.bill is None and on_due.pay_bill == 0
    assert reconcile.differences() == []


def test_money_beyond_the_bill_is_a_prepayment_as_of_the_bill_due_date():
    loan = make_loan()
    pay(loan, "1584.34", EARLY)  # the bill and 500 more
    loan.refresh_from_db()
    assert loan.outstanding_principal == Decimal("10000.00") - Decimal("934.34") - 500
    second = loan.instalments.get(number=2)  # due 2026-03-15: 28 days after the bill's
    assert second.interest_due == (loan.outstanding_principal * Decimal("0.0005") * 28).quantize(
        Decimal("0.01")
    )
    later = list(loan.instalments.filter(number__gt=2).order_by("number"))
    level = {i.total_outstanding for i in [second, *later[:-1]]}
    assert len(level) == 1  # equal instalments, all paying A'
    assert reconcile.differences() == []


def test_a_payment_of_the_settlement_amount_settles_with_interest_to_that_day():
    loan = make_loan()
    quoted = figures(loan, EARLY)
    # 28 days since drawdown: 10,000 × 0.0005 × 28 = 140.00, less than the billed 150.00.
    assert quoted.settle == Decimal("10140.00")
    assert quoted.pay_bill == Decimal("1084.34") and quoted.bill.number == 1
    r = pay(loan, quoted.settle, EARLY)
    loan.refresh_from_db()
    assert loan.status == Loan.Status.SETTLED and r.unapplied == 0
    assert r.interest == Decimal("140.00")
    assert reconcile.differences() == []


def test_part_of_the_bill_pays_part_of_it_and_is_no_prepayment():
    loan = make_loan()
    r = pay(loan, "600", EARLY)
    assert (r.interest, r.principal, r.prepaid_principal) == (
        Decimal("150.00"),
        Decimal("450.00"),
        Decimal("0.00"),
    )
    assert figures(loan, EARLY).pay_bill == Decimal("484.34")


def test_before_the_bill_opens_money_is_a_prepayment_on_the_day():
    loan = make_loan()
    before_bill = BILL_DUE - timedelta(days=loan.bill_days + 1)
    assert figures(loan, before_bill).bill is None
    r = pay(loan, "1084.34", before_bill)
    assert r.prepaid_principal > 0


@pytest.mark.parametrize("offset", [-10, -7, -3, 0, 5, 40])
def test_paying_what_the_figures_say_does_what_they_say(offset):
    """Whatever the day: paying "pay this bill" leaves nothing overdue and the bill paid;
    paying "settle today" settles with nothing left over."""
    on = BILL_DUE + timedelta(days=offset)
    loan = make_loan()
    twin = make_loan(product_obj=loan.product)
    quoted = figures(loan, on)
    if quoted.pay_bill:
        pay(loan, quoted.pay_bill, on, ext=f"BILL-{offset}")
        after = figures(loan, on)
        assert after.overdue == 0 and after.pay_bill == 0
    settle = figures(twin, on).settle
    r = pay(twin, settle, on, ext=f"SETTLE-{offset}")
    twin.refresh_from_db()
    assert twin.status == Loan.Status.SETTLED and r.unapplied == 0
    assert reconcile.differences() == []


def test_the_t_minus_3_reminder_quotes_the_bill_the_portal_shows():
    loan = make_loan()
    pay(loan, "300", BILL_DUE - timedelta(days=5))  # part of the bill paid already
    with time_machine.travel(EARLY):
        queue_reminders(business_date=EARLY)
    bill = figures(loan, EARLY).bill_amount
    assert bill == Decimal("784.34")
    text = SmsMessage.objects.get(dedupe_key__startswith="due-reminder:").text
    assert f"{bill:.2f}" in text


def test_the_loan_page_shows_both_figures_and_paid_amounts_in_fen(client):
    loan = make_loan()
    pay(loan, "1084.34", BILL_DUE)
    pay(loan, "982.25", date(2026, 3, 15))  # part of the second bill
    session = client.session
    session[BORROWER_SESSION_KEY] = loan.borrower_id
    session.save()
    with time_machine.travel(date(2026, 3, 15)):
        html = client.get(f"/loans/{loan.pk}/").content.decode()
        quoted = selectors.repayment_figures(loan=loan, on=date(2026, 3, 15))
    assert f"¥{quoted.pay_bill}" in html and f"¥{quoted.settle}" in html
    assert "¥1084.34" in html and "¥982.25" in html  # paid, to the fen
