"""Fifty payments and gateway deliveries at once, on one loan and across several, the same
transaction id and the same event delivered several times: each payment is booked once and the
balances come out, to the fen, as if the payments had arrived one after another."""

from collections import Counter
from decimal import Decimal
from secrets import token_hex

import pytest
from django.test import Client

from loans.models import DebitAttempt, GatewayNotification, Repayment
from loans.services.repayments import post_repayment

from .support import (
    VALUE_DATE,
    assert_reconciled,
    deliver_success,
    ledger_state,
    make_loan,
    portal_attempt,
    run_concurrently,
    run_day,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
Outcome = GatewayNotification.Outcome


def plan_for(loan, *, postings: int, copies: int, attempts: int, key: str):
    """`postings` payments posted `copies` times each under one transaction id, and
    `attempts` portal charges whose success is delivered twice as one event and once more as
    another event: the jobs to run at once, and the distinct payments they carry."""
    results, responses, jobs, payments = [], [], [], []
    for n in range(postings):
        ext, amount = f"WX-{key}-{n}", Decimal("41.01") + n
        payments.append(amount)

        def post(ext=ext, amount=amount):
            _, posted = post_repayment(
                loan=loan,
                amount=amount,
                channel="wechat_pay",
                external_id=ext,
                value_date=VALUE_DATE,
            )
            results.append((ext, posted))

        jobs += [post] * copies
    for n in range(attempts):
        attempt = portal_attempt(loan, amount=Decimal("23.45") + 3 * n, token=token_hex(16))
        payments.append(attempt.amount)
        for event_id in (f"evt-{key}-{n}", f"evt-{key}-{n}", f"evt-{key}-{n}-again"):

            def deliver(attempt=attempt, event_id=event_id):
                responses.append(deliver_success(Client(), attempt, event_id=event_id).status_code)

            jobs.append(deliver)
    return jobs, payments, results, responses


def post_one_after_another(twin, payments):
    for n, amount in enumerate(payments):
        post_repayment(
            loan=twin,
            amount=amount,
            channel="wechat_pay",
            external_id=f"SERIAL-{twin.pk}-{n}",
            value_date=VALUE_DATE,
        )


def assert_booked_once(loan, payments, results, responses, *, key):
    repayments = Repayment.objects.filter(loan=loan)
    assert sorted(r.amount for r in repayments) == sorted(payments)
    assert len({r.external_id for r in repayments}) == len(payments)
    # Each posted id reported "posted" to exactly one of its callers.
    assert set(Counter(ext for ext, posted in results if posted).values()) <= {1}
    assert {ext for ext, posted in results if posted} == {ext for ext, _ in results}
    assert set(responses) == {200}
    attempts = DebitAttempt.objects.filter(loan=loan)
    assert all(a.status == "succeeded" and a.repayment.amount == a.amount for a in attempts)
    # Every delivery is logged; a re-delivered event is logged before it is known to which
    # loan it belongs, so the log is read by event id.
    events = GatewayNotification.objects.filter(event_id__startswith=f"evt-{key}-")
    outcomes = Counter(events.values_list("outcome", flat=True))
    assert outcomes == {Outcome.ACCEPTED: len(attempts), Outcome.DUPLICATE: 2 * len(attempts)}


def test_fifty_at_once_on_one_loan_book_each_payment_once():
    loan, twin = make_loan(), make_loan()
    run_day(VALUE_DATE)  # instalments 1 and 2 overdue, penalty accrued
    jobs, payments, results, responses = plan_for(loan, postings=5, copies=4, attempts=10, key="a")
    assert len(jobs) == 50
    assert run_concurrently(jobs) == []
    post_one_after_another(twin, payments)

    assert_booked_once(loan, payments, results, responses, key="a")
    got, expected = ledger_state(loan), ledger_state(twin)
    assert got == expected
    # All of it went to the oldest instalment: its penalty, its interest, then its principal.
    first = loan.instalments.get(number=1)
    assert first.penalty_paid == first.penalty_due > 0
    assert first.penalty_paid + first.interest_paid + first.principal_paid == sum(payments)
    assert_reconciled()


def test_fifty_at_once_across_five_loans_book_each_payment_once():
    amounts = [f"{5000 + 1000 * n}" for n in range(5)]
    pairs = [(make_loan(amount=a), make_loan(amount=a)) for a in amounts]
    run_day(VALUE_DATE)
    jobs, expected = [], []
    for n, (loan, twin) in enumerate(pairs):
        loan_jobs, payments, results, responses = plan_for(
            loan, postings=2, copies=2, attempts=2, key=f"l{n}"
        )
        jobs += loan_jobs
        expected.append((loan, twin, payments, results, responses, f"l{n}"))
    assert len(jobs) == 50
    assert run_concurrently(jobs) == []

    for loan, twin, payments, results, responses, key in expected:
        post_one_after_another(twin, payments)
        assert_booked_once(loan, payments, results, responses, key=key)
        assert ledger_state(loan) == ledger_state(twin)
    assert_reconciled()
