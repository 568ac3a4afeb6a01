"""Products, applications, contracts and disbursement."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from loans import reconcile
from loans.models import Contract, CreditLine, LoanApplication, LoanTransaction
from loans.services import lending
from tests import factories

pytestmark = pytest.mark.django_db
DAY = date(2026, 1, 15)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(DAY):
        yield


def test_a_product_that_could_cost_more_than_24_percent_cannot_be_saved():
    with pytest.raises(ValidationError) as exc:
        factories.product(max_daily_rate=Decimal("0.0007"))
    message = " ".join(exc.value.message_dict["max_daily_rate"])
    assert "25.25%" in message and "24%" in message  # worst case: ¥100 over 20 months
    with pytest.raises(ValidationError) as fee:
        factories.product(upfront_fee_percent=Decimal("3"), terms=[5])
    assert "max_daily_rate" in fee.value.message_dict
    with pytest.raises(ValidationError) as first:
        factories.product(methods=["interest_first"], terms=[5, 20])
    assert "terms" in first.value.message_dict
    assert factories.product(max_daily_rate=Decimal("0.0005")).pk


def line_for():
    b = factories.borrower(income="50000")
    from loans.services import credit

    credit.assess_credit(borrower=b, as_of=DAY)
    CreditLine.objects.filter(borrower=b).update(daily_rate=Decimal("0.0005"))
    return b, CreditLine.objects.get(borrower=b)


def test_an_application_within_the_rules_is_approved_with_a_contract_and_reserves_the_line():
    b, line = line_for()
    p = factories.product()
    app = lending.apply_for_loan(
        borrower=b, product=p, amount=Decimal("10000"), term=10, method="equal_instalment"
    )
    assert app.status == LoanApplication.Status.APPROVED
    line.refresh_from_db()
    assert line.reserved_amount == Decimal("10000") and line.available_amount == line.limit - 10000
    contract = app.contract
    assert contract.status == Contract.Status.AWAITING_SIGNATURE
    # The APR is in the contract, before (and more prominent than) the daily rate.
    body = contract.body
    assert f"{app.apr_percent}%" in body and 'class="apr"' in body
    assert body.index(f"{app.apr_percent}%") < body.index("日利率 Daily rate")
    assert b.masked_id_number in body and b.id_number not in body


@pytest.mark.parametrize(
    "change, field",
    [
        ({"amount": Decimal("150")}, "amount"),
        ({"amount": Decimal("50")}, "amount"),
        ({"term": 7}, "term"),
        ({"method": "interest_first"}, "method"),
    ],
)
def test_a_draw_outside_the_product_is_refused_and_nothing_is_written(change, field):
    b, line = line_for()
    args = {"amount": Decimal("1000"), "term": 10, "method": "equal_instalment", **change}
    with pytest.raises(ValidationError) as exc:
        lending.apply_for_loan(borrower=b, product=factories.product(), **args)
    assert field in exc.value.message_dict
    assert LoanApplication.objects.count() == 0
    line.refresh_from_db()
    assert line.reserved_amount == 0


def test_more_than_the_available_amount_or_a_frozen_line_is_refused():
    b, line = line_for()
    p = factories.product(max_amount=Decimal("200000"), auto_approve_max_amount=Decimal("200000"))
    with pytest.raises(ValidationError) as over:
        lending.apply_for_loan(
            borrower=b, product=p, amount=line.limit + 100, term=10, method="equal_instalment"
        )
    assert "amount" in over.value.message_dict
    CreditLine.objects.filter(pk=line.pk).update(status="frozen")
    with pytest.raises(ValidationError):
        lending.apply_for_loan(
            borrower=b, product=p, amount=Decimal("100"), term=10, method="equal_instalment"
        )


def test_at_most_20_loans_open_at_once():
    b, line = line_for()
    p = factories.product()
    for _ in range(20):
        lending.apply_for_loan(
            borrower=b, product=p, amount=Decimal("100"), term=10, method="equal_instalment"
        )
    with pytest.raises(ValidationError) as exc:
        lending.apply_for_loan(
            borrower=b, product=p, amount=Decimal("100"), term=10, method="equal_instalment"
        )
    assert "20" in " ".join(exc.value.messages)


def test_a_borrower_no_longer_eligible_is_rejected_with_the_reasons():
    b, line = line_for()
    b.monthly_income = Decimal("1000")
    b.save()
    app = lending.apply_for_loan(
        borrower=b,
        product=factories.product(),
        amount=Decimal("1000"),
        term=10,
        method="equal_instalment",
    )
    assert app.status == LoanApplication.Status.REJECTED and app.review_reason == "not_eligible"
    app.refresh_from_db()
    assert "income" in app.reason_codes and app.decision_note == ""  # the note is for staff
    line.refresh_from_db()
    assert line.reserved_amount == 0


def test_a_large_draw_waits_for_review_then_approve_or_reject():
    b, line = line_for()
    p = factories.product(auto_approve_max_amount=Decimal("5000"))
    staff = factories.staff(superuser=True)
    app = lending.apply_for_loan(
        borrower=b, product=p, amount=Decimal("8000"), term=10, method="equal_instalment"
    )
    assert app.status == LoanApplication.Status.PENDING_REVIEW and app.review_reason
    assert not Contract.objects.filter(application=app).exists()
    app = lending.approve_application(application=app, actor=staff)
    assert app.status == LoanApplication.Status.APPROVED and app.contract.pk
    other = lending.apply_for_loan(
        borrower=b, product=p, amount=Decimal("9000"), term=10, method="equal_instalment"
    )
    with pytest.raises(ValidationError):
        lending.reject_application(application=other, actor=staff, note="")
    lending.reject_application(application=other, actor=staff, note="income unverified")
    line.refresh_from_db()
    assert line.reserved_amount == Decimal("8000")


def test_signing_records_evidence_and_a_signed_contract_never_changes():
    b, line = line_for()
    app = lending.apply_for_loan(
        borrower=b,
        product=factories.product(),
        amount=Decimal("3000"),
        term=5,
        method="equal_principal",
    )
    contract = lending.sign_contract(
        contract=app.contract, ip_address="10.0.0.8", user_agent="Mozilla/5.0 (iPhone)"
    )
    assert contract.status == "signed" and contract.signed_ip == "10.0.0.8"
    import hashlib

    assert hashlib.sha256(contract.body.encode()).hexdigest() == contract.body_sha256
    contract.body += "<p>added later</p>"
    with pytest.raises(ValueError):
        contract.save()
    with pytest.raises(ValidationError):
        lending.sign_contract(
            contract=Contract.objects.get(pk=contract.pk), ip_address=None, user_agent=""
        )


def test_disbursement_needs_a_signature_then_draws_the_line_and_writes_the_ledger():
    b, line = line_for()
    app = lending.apply_for_loan(
        borrower=b,
        product=factories.product(),
        amount=Decimal("10000"),
        term=10,
        method="equal_instalment",
    )
    with pytest.raises(ValidationError):
        lending.disburse_loan(application=app)
    lending.sign_contract(contract=app.contract, ip_address=None, user_agent="")
    with pytest.raises(lending.NoPayoutCard):  # no verified card to pay to: nothing changes
        lending.disburse_loan(application=app, on=DAY)
    app.refresh_from_db()
    assert app.status == LoanApplication.Status.APPROVED and not LoanTransaction.objects.exists()
    card = factories.bank_card(b)
    loan = lending.disburse_loan(application=app, on=DAY)
    assert [str(i.interest_due) for i in loan.instalments.all()][:3] == [
        "150.00",
        "135.98",
        "121.76",
    ]
    assert loan.instalments.count() == 10 and loan.outstanding_principal == Decimal("10000")
    line.refresh_from_db()
    assert (line.reserved_amount, line.outstanding_principal) == (0, Decimal("10000"))
    assert line.available_amount == line.limit - 10000
    paid = loan.transactions.get()
    assert paid.kind == LoanTransaction.Kind.DISBURSEMENT and paid.bank_card == card
    assert reconcile.differences() == []


def test_cancelling_before_disbursement_restores_everything():
    b, line = line_for()
    before = line.available_amount
    app = lending.apply_for_loan(
        borrower=b,
        product=factories.product(),
        amount=Decimal("5000"),
        term=10,
        method="equal_instalment",
    )
    lending.sign_contract(contract=app.contract, ip_address=None, user_agent="")
    lending.cancel_application(application=app, note="changed my mind")
    line.refresh_from_db()
    app.refresh_from_db()
    assert line.available_amount == before and line.reserved_amount == 0
    assert app.status == "cancelled" and app.contract.status == "void"
    with pytest.raises(ValidationError):
        lending.disburse_loan(application=app)
    assert reconcile.differences() == []
