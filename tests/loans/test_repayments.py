"""Repayments to the fen: allocation, prepayment, settlement, duplicates, reversals."""

import threading
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection

from loans import reconcile
from loans.models import CreditLine, Loan, LoanTransaction, Repayment
from loans.services.repayments import post_repayment, reverse_repayment
from tests import factories

DRAWN = date(2026, 1, 15)


def post(loan, amount, on, ext=None, channel="wechat_pay"):
    """(repayment, whether this call posted it)."""
    with time_machine.travel(on):
        return post_repayment(
            loan=loan,
            amount=Decimal(amount),
            channel=channel,
            external_id=ext or f"T-{loan.pk}-{on}-{amount}",
            value_date=on,
        )


def pay(loan, amount, on, ext=None, channel="wechat_pay"):
    repayment, _ = post(loan, amount, on, ext=ext, channel=channel)
    return repayment


def make_loan(**kwargs):
    with time_machine.travel(DRAWN):
        return factories.loan(on=DRAWN, **kwargs)


def assert_reconciled():
    assert reconcile.differences() == []


def rows(loan):
    return [
        (str(i.principal_due), str(i.interest_due), i.status)
        for i in loan.instalments.order_by("number")
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, term", [("equal_instalment", 10), ("equal_principal", 10), ("interest_first", 5)]
)
def test_paying_every_instalment_on_its_due_date_settles_the_loan(method, term):
    loan = make_loan(method=method, term=term)
    scheduled = list(loan.instalments.order_by("number"))
    for inst in scheduled:
        r = pay(loan, inst.principal_due + inst.interest_due, inst.due_date)
        assert (r.penalty, r.unapplied, r.prepaid_principal) == (0, 0, 0)
        assert_reconciled()
    loan.refresh_from_db()
    assert loan.status == Loan.Status.SETTLED and loan.outstanding_principal == 0
    assert loan.settled_on == scheduled[-1].due_date
    paid_interest = sum(r.interest for r in loan.repayments.all())
    assert paid_interest == sum(i.interest_due for i in scheduled)
    line = CreditLine.objects.get(pk=loan.credit_line_id)
    assert line.outstanding_principal == 0 and line.available_amount == line.limit


@pytest.mark.django_db
def test_paid_within_grace_costs_no_penalty_and_two_days_late_costs_two_days():
    loan = make_loan()
    first = loan.instalments.get(number=1)  # due 2026-02-15, 934.34 principal
    r = pay(loan, "1084.34", date(2026, 2, 16))
    assert r.penalty == 0
    second = loan.instalments.get(number=2)  # due 2026-03-15, 948.36 principal
    r = pay(loan, "2000", date(2026, 3, 17))
    # 948.36 × 0.0005 × 1.5 = 0.71127 → 0.71 a day, two days.
    assert r.penalty == Decimal("1.42")
    assert first.pk != second.pk
    assert_reconciled()


@pytest.mark.django_db
def test_a_partial_payment_pays_penalty_then_interest_then_principal_of_the_oldest():
    loan = make_loan()
    r = pay(loan, "100", date(2026, 2, 20))  # 5 days late: 3.50 penalty accrued
    assert (r.penalty, r.interest, r.principal) == (Decimal("3.50"), Decimal("96.50"), 0)
    first = loan.instalments.get(number=1)
    assert first.status == "overdue" and first.interest_outstanding == Decimal("53.50")
    assert_reconciled()


@pytest.mark.django_db
def test_a_partial_prepayment_re_amortises_the_remaining_instalments():
    loan = make_loan()
    r = pay(loan, "3000", date(2026, 2, 20))
    # Instalment 1 (1084.34) + 5 days' penalty (3.50); then interest accrued since the due date
    # on 9065.66 for 5 days (22.66); the rest, 1889.50, repays principal.
    assert (r.penalty, r.interest, r.prepaid_principal) == (
        Decimal("3.50"),
        Decimal("172.66"),
        Decimal("1889.50"),
    )
    loan.refresh_from_db()
    assert loan.outstanding_principal == Decimal("7176.16")
    second = loan.instalments.get(number=2)
    # Interest of the second: the 22.66 paid plus 7176.16 × 0.0005 × 23 days (82.53).
    assert second.interest_due == Decimal("105.19")
    later = list(loan.instalments.filter(number__gt=2).order_by("number"))
    assert len(later) == 8
    payments = {i.principal_due + i.interest_due for i in later[:-1]}
    assert len(payments) == 1  # still equal instalments
    assert sum(i.principal_due for i in loan.instalments.all()) == Decimal("10000.00")
    assert_reconciled()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["equal_instalment", "equal_principal", "interest_first"])
def test_early_settlement_costs_principal_plus_interest_to_the_day(method):
    loan = make_loan(method=method, term=5)
    first = loan.instalments.get(number=1)
    pay(loan, first.principal_due + first.interest_due, first.due_date)
    loan.refresh_from_db()
    outstanding = loan.outstanding_principal
    # 10 days after the first due date: interest for 10 days only.
    interest = (outstanding * Decimal("0.0005") * 10).quantize(Decimal("0.01"))
    r = pay(loan, outstanding + interest, date(2026, 2, 25))
    assert r.settled_loan and r.unapplied == 0 and r.interest == interest
    loan.refresh_from_db()
    assert loan.status == "settled" and loan.outstanding_principal == 0
    assert set(loan.instalments.filter(number__gt=1).values_list("status", flat=True)) == {
        "settled"
    }
    assert_reconciled()


@pytest.mark.django_db
def test_an_overpayment_settles_and_the_excess_is_kept_to_refund():
    loan = make_loan(amount="1000", term=5)
    r = pay(loan, "5000", date(2026, 1, 25))
    interest = (Decimal("1000") * Decimal("0.0005") * 10).quantize(Decimal("0.01"))
    assert r.settled_loan and r.interest == interest
    assert r.unapplied == Decimal("5000") - Decimal("1000") - interest
    with pytest.raises(ValidationError):
        pay(loan, "1", date(2026, 1, 26))
    assert_reconciled()


@pytest.mark.django_db
def test_posting_the_same_transaction_id_twice_changes_nothing():
    loan = make_loan()
    first, posted = post(loan, "500", date(2026, 2, 15), ext="WX-1")
    before = rows(loan)
    again, posted_again = post(loan, "500", date(2026, 2, 15), ext="WX-1")
    assert posted and not posted_again
    assert again.pk == first.pk and Repayment.objects.count() == 1
    assert rows(loan) == before
    other = make_loan()
    with pytest.raises(ValidationError):
        pay(other, "500", date(2026, 2, 15), ext="WX-1")
    assert_reconciled()


@pytest.mark.django_db
def test_bad_payments_are_refused_with_reasons():
    loan = make_loan()
    for amount, on in [
        ("0", date(2026, 2, 1)),
        ("-5", date(2026, 2, 1)),
        ("1.005", date(2026, 2, 1)),
    ]:
        with pytest.raises(ValidationError) as exc:
            pay(loan, amount, on)
        assert "amount" in exc.value.message_dict
    with pytest.raises(ValidationError) as early:
        pay(loan, "10", date(2026, 1, 1))
    assert "value_date" in early.value.message_dict
    with time_machine.travel(date(2026, 2, 1)), pytest.raises(ValidationError) as future:
        post_repayment(
            loan=loan,
            amount=Decimal("10"),
            channel="alipay",
            external_id="F",
            value_date=date(2026, 3, 1),
        )
    assert "value_date" in future.value.message_dict
    assert Repayment.objects.count() == 0


@pytest.mark.django_db
def test_a_reversal_undoes_a_posting_exactly():
    loan = make_loan()
    pay(loan, "1084.34", date(2026, 2, 15))
    before = rows(loan)
    line_before = CreditLine.objects.get(pk=loan.credit_line_id).outstanding_principal
    bounced = pay(loan, "3000", date(2026, 3, 20), ext="BOUNCE")
    assert rows(loan) != before
    with pytest.raises(ValidationError):
        reverse_repayment(repayment=bounced, reason="")
    with time_machine.travel(date(2026, 3, 21)):
        reverse_repayment(repayment=bounced, reason="card payment bounced")
    after = rows(loan)
    # Same schedule; instalment 2 is overdue again and keeps the penalty already accrued.
    assert [r[:2] for r in after] == [r[:2] for r in before]
    assert after[1][2] == "overdue"
    assert CreditLine.objects.get(pk=loan.credit_line_id).outstanding_principal == line_before
    reversal = LoanTransaction.objects.filter(kind="reversal")
    assert sum(t.principal + t.interest + t.penalty for t in reversal) == -Decimal("3000")
    with pytest.raises(ValidationError):
        reverse_repayment(repayment=Repayment.objects.get(pk=bounced.pk), reason="again")
    assert_reconciled()


@pytest.mark.django_db
def test_only_the_newest_payment_can_be_reversed_first():
    loan = make_loan()
    older = pay(loan, "500", date(2026, 2, 15), ext="A")
    pay(loan, "500", date(2026, 2, 16), ext="B")
    with time_machine.travel(date(2026, 2, 17)), pytest.raises(ValidationError) as exc:
        reverse_repayment(repayment=older, reason="bounced")
    assert "B" in " ".join(exc.value.messages)


@pytest.mark.django_db
def test_reconcile_command_finds_a_tampered_balance(capsys):
    loan = make_loan()
    pay(loan, "1084.34", date(2026, 2, 15))
    call_command("reconcile_loans")
    loan.instalments.filter(number=1).update(interest_paid=Decimal("149.99"))
    with pytest.raises(SystemExit) as exc:
        call_command("reconcile_loans")
    assert exc.value.code == 1
    assert "instalment 1" in capsys.readouterr().err


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_payments_posted_at_once_on_one_loan_each_post_once():
    loan = make_loan()
    day = date(2026, 2, 15)
    barrier = threading.Barrier(20)
    errors = []

    def worker(n):
        try:
            barrier.wait()
            # Two workers share each id: every id must post exactly once.
            pay(loan, "100", day, ext=f"C-{n // 2}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Repayment.objects.filter(loan=loan).count() == 10
    first = loan.instalments.get(number=1)
    assert first.interest_paid == Decimal("150.00")
    assert first.principal_paid == Decimal("850.00")
    assert_reconciled()
