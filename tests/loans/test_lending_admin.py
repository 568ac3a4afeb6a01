"""The lending back office as staff see it: pages render, actions go through the services."""

import hashlib
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.contrib import admin
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loans import selectors
from loans.models import (
    Contract,
    CreditLine,
    Loan,
    LoanApplication,
    LoanProduct,
    LoanTransaction,
    Repayment,
)
from loans.services import credit, lending
from loans.services.repayments import post_repayment
from tests import factories

pytestmark = pytest.mark.django_db
DAY = date(2026, 1, 15)
OPS = "贷款运营 Loan operations"
RISK = "风控专员 Risk officer"
SERVICE = "客服 Customer service"
ROLES = [
    RISK,
    OPS,
    SERVICE,
    "催收员 Collector",
    "催收主管 Collection supervisor",
    "合规审计 Auditor",
]
LENDING_MODELS = [LoanProduct, LoanApplication, Contract, Loan, Repayment, LoanTransaction]


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(DAY):
        yield


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def login(client, role=None):
    user = factories.staff(role, superuser=role is None)
    client.force_login(user)
    return user


def apply(amount="10000", *, review=False):
    """An application by a fresh borrower: waiting for review, or approved and unsigned."""
    b = factories.borrower(income="50000")
    credit.assess_credit(borrower=b, as_of=DAY)
    CreditLine.objects.filter(borrower=b).update(daily_rate=Decimal("0.0005"))
    product = factories.product(auto_approve_max_amount=Decimal("5000" if review else "50000"))
    return lending.apply_for_loan(
        borrower=b, product=product, amount=Decimal(amount), term=10, method="equal_instalment"
    )


def pay(loan, amount="500", ext=None):
    repayment, _ = post_repayment(
        loan=loan,
        amount=Decimal(amount),
        channel="wechat_pay",
        external_id=ext or f"WX-{loan.pk}-{amount}",
        value_date=DAY,
    )
    return repayment


def action_names(response) -> list[str]:
    form = response.context["action_form"]  # None when the user may run no action
    return [name for name, _ in form.fields["action"].choices] if form else []


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def action(client, url, name, pks, **fields):
    return client.post(
        url, {"action": name, "_selected_action": pks, "apply": "1", **fields}, follow=True
    )


def _as(client, role, url):
    login(client, role)
    return client.get(url)


def url_of(model, view="changelist", *args):
    return reverse(f"admin:loans_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def book():
    """One of everything: a loan with a payment, an application waiting, one approved."""
    loan = factories.loan(on=DAY)
    pay(loan)
    return {"loan": loan, "pending": apply(review=True), "approved": apply()}


@pytest.mark.parametrize("role", [None, *ROLES])
def test_every_lending_page_renders_for_each_role(client, book, role):
    user = login(client, role)
    seen = 0
    for model in LENDING_MODELS:
        model_admin = admin.site._registry[model]
        request = type("R", (), {"user": user})()
        if not model_admin.has_view_or_change_permission(request):
            assert client.get(url_of(model)).status_code == 403
            continue
        seen += 1
        assert client.get(url_of(model)).status_code == 200, model
        for obj in model.objects.all()[:3]:
            response = client.get(url_of(model, "change", obj.pk))
            assert response.status_code == 200, (model, obj.pk)
        if model_admin.has_add_permission(request):
            assert client.get(url_of(model, "add")).status_code == 200
    assert seen >= 2  # every role sees at least loans and repayments
    if role in (None, OPS):
        assert seen == len(LENDING_MODELS)


def test_the_loan_page_shows_instalments_and_the_contract_page_the_signed_text(client, book):
    login(client, OPS)
    loan = book["loan"]
    page = client.get(url_of(Loan, "change", loan.pk)).content.decode()
    first = loan.instalments.get(number=1)
    assert str(first.principal_due) in page and "2026-02-15" in page
    assert loan.borrower.masked_mobile in page and loan.borrower.mobile not in page
    contract = loan.contract
    page = client.get(url_of(Contract, "change", contract.pk)).content.decode()
    assert contract.body_sha256 in page and contract.signed_user_agent in page
    assert contract.body in page  # the HTML itself, not escaped
    assert url_of(Contract, "download", contract.pk) in page


def product_data(**changes):
    return {
        "code": "wld",
        "name": "微粒贷",
        "methods": ["equal_instalment", "equal_principal"],
        "terms": "5, 10, 20",
        "min_amount": "100",
        "max_amount": "200000",
        "amount_step": "100",
        "max_daily_rate": "0.000500",
        "penalty_multiplier": "1.50",
        "grace_days": "1",
        "upfront_fee_percent": "0",
        "auto_approve_max_amount": "50000",
        "is_active": "on",
        **changes,
    }


def test_a_product_over_the_apr_cap_is_refused_on_the_form_and_a_valid_one_saves(client):
    login(client, OPS)
    url = url_of(LoanProduct, "add")
    response = client.post(url, product_data(max_daily_rate="0.000700"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "25.25%" in " ".join(errors["max_daily_rate"]) and "24%" in response.content.decode()
    assert not LoanProduct.objects.exists()

    for bad_terms in ("5, ten", "5.5", "-5"):
        response = client.post(url, product_data(terms=bad_terms))
        assert response.status_code == 200
        assert "separated by commas" in " ".join(response.context["adminform"].form.errors["terms"])
    response = client.post(url, product_data(max_daily_rate="-1"))
    assert response.status_code == 200  # the APR check is not run on a negative rate
    assert "cannot be below 0" in " ".join(
        response.context["adminform"].form.errors["max_daily_rate"]
    )
    response = client.post(url, product_data(upfront_fee_percent="100"))
    assert response.status_code == 200 and "upfront_fee_percent" in (
        response.context["adminform"].form.errors
    )
    assert not LoanProduct.objects.exists()

    response = client.post(url, product_data(terms="5, 10"))
    assert response.status_code == 302
    product = LoanProduct.objects.get(code="wld")
    assert product.terms == [5, 10]
    assert product.methods == ["equal_instalment", "equal_principal"]
    listing = client.get(url_of(LoanProduct)).content.decode()
    assert "0.0500%" in listing and "18.01%" in listing  # worst APR: ¥100 rounds up
    change = client.get(url_of(LoanProduct, "change", product.pk)).content.decode()
    assert 'value="5, 10"' in change


def test_the_application_queue_lists_waiting_applications_first(client):
    pending = apply(review=True)
    newer = [apply(), apply()]
    login(client, RISK)
    response = client.get(url_of(LoanApplication))
    rows = list(response.context["cl"].result_list)
    assert rows[0] == pending and set(rows[1:]) == set(newer)
    assert rows[1] == newer[-1]  # then the newest
    queue = client.get(url_of(LoanApplication), {"status__exact": "pending_review"})
    assert list(queue.context["cl"].result_list) == [pending]
    assert "Waiting for review" in queue.content.decode()
    found = client.get(url_of(LoanApplication), {"q": pending.borrower.mobile}, follow=True)
    assert list(found.context["cl"].result_list) == [pending]


def test_approve_and_reject_from_the_queue(client):
    first, second = apply(review=True), apply(review=True)
    login(client, RISK)
    url = url_of(LoanApplication)
    form = client.post(url, {"action": "approve", "_selected_action": [first.pk]})
    assert form.status_code == 200 and 'name="note"' in form.content.decode()
    action(client, url, "approve", [first.pk], note="salary verified")
    first.refresh_from_db()
    assert first.status == LoanApplication.Status.APPROVED
    assert first.decision_note == "salary verified"
    assert first.contract.status == Contract.Status.AWAITING_SIGNATURE

    no_reason = client.post(
        url, {"action": "reject", "_selected_action": [second.pk], "apply": "1", "note": ""}
    )
    assert no_reason.status_code == 200 and no_reason.context["form"].errors["note"]
    second.refresh_from_db()
    assert second.status == LoanApplication.Status.PENDING_REVIEW

    action(client, url, "reject", [second.pk], note="income not verified")
    second.refresh_from_db()
    assert (second.status, second.decision_note) == ("rejected", "income not verified")
    refused = action(client, url, "approve", [second.pk], note="")
    second.refresh_from_db()
    assert second.status == LoanApplication.Status.REJECTED
    # One row refused: the form stays, with the service's reason on it.
    assert refused.status_code == 200 and "errorlist" in refused.content.decode()
    assert "Only an application waiting for review can be approved." in refused.content.decode()


def test_customer_service_cannot_decide_or_disburse(client):
    pending = apply(review=True)
    login(client, SERVICE)
    response = client.get(url_of(LoanApplication))
    assert not {"approve", "reject", "disburse", "cancel"} & set(action_names(response))
    assert {"approve", "reject"} <= set(action_names(_as(client, RISK, url_of(LoanApplication))))
    login(client, SERVICE)
    action(client, url_of(LoanApplication), "approve", [pending.pk], note="x")
    pending.refresh_from_db()
    assert pending.status == LoanApplication.Status.PENDING_REVIEW


def test_disburse_refuses_an_unsigned_contract_and_disburses_a_signed_one(client):
    application = apply()
    factories.bank_card(application.borrower)  # the money is paid to a verified card
    login(client, OPS)
    url = url_of(LoanApplication)
    refused = action(client, url, "disburse", [application.pk])
    application.refresh_from_db()
    assert f"{application}: The contract must be signed before disbursement." in messages_of(
        refused
    )
    assert not Loan.objects.exists()
    lending.sign_contract(contract=application.contract, ip_address="10.0.0.8", user_agent="UA")
    done = action(client, url, "disburse", [application.pk])
    loan = Loan.objects.get(application=application)
    assert (loan.principal, loan.drawdown_date) == (Decimal("10000.00"), DAY)
    assert loan.instalments.count() == 10
    application.refresh_from_db()
    assert application.status == LoanApplication.Status.DISBURSED
    assert any("disbursed as" in m for m in messages_of(done))


def test_cancel_needs_a_note_and_returns_the_reserved_amount(client):
    application = apply()
    login(client, OPS)
    action(client, url_of(LoanApplication), "cancel", [application.pk], note="borrower called")
    application.refresh_from_db()
    assert application.status == LoanApplication.Status.CANCELLED
    assert application.contract.status == Contract.Status.VOID
    assert CreditLine.objects.get(pk=application.credit_line_id).reserved_amount == 0


def test_contract_download_is_the_exact_signed_text(client, book):
    contract = book["loan"].contract
    url = url_of(Contract, "download", contract.pk)
    login(client, "催收员 Collector")  # collectors do not see contracts
    assert client.get(url).status_code == 403
    login(client, SERVICE)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert f'filename="contract-{contract.number}.html"' in response["Content-Disposition"]
    assert response["Content-Disposition"].startswith("attachment")
    assert response.content == contract.body.encode()
    assert hashlib.sha256(response.content).hexdigest() == contract.body_sha256


def test_post_a_payment_from_the_loan_page_once_per_transaction_id(client):
    loan = factories.loan(on=DAY)
    other = factories.loan(on=DAY)
    login(client, OPS)
    url = url_of(Loan)
    form = client.post(url, {"action": "post_payment", "_selected_action": [loan.pk]})
    assert form.status_code == 200 and 'value="2026-01-15"' in form.content.decode()

    fields = {"amount": "1000", "channel": "wechat_pay", "external_id": "WX-1", "value_date": DAY}
    both = action(client, url, "post_payment", [loan.pk, other.pk], **fields)
    assert "Select exactly one loan to post a payment to." in messages_of(both)
    assert not Repayment.objects.exists()

    done = action(client, url, "post_payment", [loan.pk], **fields)
    repayment = Repayment.objects.get(external_id="WX-1")
    assert (repayment.loan, repayment.amount, repayment.prepaid_principal) == (
        loan,
        Decimal("1000.00"),
        Decimal("1000.00"),
    )
    assert any("¥1000.00 posted" in m for m in messages_of(done))
    loan.refresh_from_db()
    before = (loan.outstanding_principal, list(loan.instalments.values_list("principal_due")))

    again = action(client, url, "post_payment", [loan.pk], **{**fields, "amount": "3000"})
    assert Repayment.objects.count() == 1
    refusal = " ".join(again.context["form"].non_field_errors())
    assert "already posted" in refusal and "nothing changed" in refusal
    loan.refresh_from_db()
    assert before == (
        loan.outstanding_principal,
        list(loan.instalments.values_list("principal_due")),
    )

    future = action(
        client,
        url,
        "post_payment",
        [loan.pk],
        **{**fields, "external_id": "WX-2", "value_date": date(2026, 2, 1)},
    )
    assert "future" in " ".join(future.context["form"].errors["value_date"])
    assert 'value="WX-2"' in future.content.decode()  # what was typed stays
    zero = client.post(
        url,
        {
            "action": "post_payment",
            "_selected_action": [loan.pk],
            "apply": "1",
            **fields,
            "amount": "0",
        },
    )
    assert zero.status_code == 200 and zero.context["form"].errors["amount"]
    assert Repayment.objects.count() == 1


def test_reverse_a_payment_from_the_repayment_list(client):
    loan = factories.loan(on=DAY)
    repayment = pay(loan, "2000", "WX-R")
    login(client, OPS)
    url = url_of(Repayment)
    action(client, url, "reverse", [repayment.pk], reason="payment bounced")
    repayment.refresh_from_db()
    assert (repayment.status, repayment.reversal_reason) == ("reversed", "payment bounced")
    loan.refresh_from_db()
    assert loan.outstanding_principal == loan.principal
    assert LoanTransaction.objects.filter(kind="reversal", repayment=repayment).exists()
    found = client.get(url, {"q": "WX-R"})
    assert list(found.context["cl"].result_list) == [repayment]
    of_loan = client.get(url, {"loan__id__exact": loan.pk})
    assert list(of_loan.context["cl"].result_list) == [repayment]


def test_customer_service_cannot_post_or_reverse_payments(client):
    loan = factories.loan(on=DAY)
    repayment = pay(loan)
    login(client, SERVICE)
    response = client.get(url_of(Loan))
    assert "post_payment" not in action_names(response)
    assert "post_payment" in action_names(_as(client, OPS, url_of(Loan)))
    login(client, SERVICE)
    fields = {"amount": "100", "channel": "counter", "external_id": "C-1", "value_date": DAY}
    action(client, url_of(Loan), "post_payment", [loan.pk], **fields)
    action(client, url_of(Repayment), "reverse", [repayment.pk], reason="x")
    assert list(Repayment.objects.values_list("external_id", "status")) == [
        (repayment.external_id, "posted")
    ]


def test_loan_search_goes_through_the_blind_index(client):
    loans = [factories.loan(on=DAY) for _ in range(3)]
    login(client, SERVICE)
    target = loans[1]
    for term in (target.borrower.mobile, target.borrower.id_number):
        response = client.get(url_of(Loan), {"q": term}, follow=True)
        assert list(response.context["cl"].result_list) == [target]
    assert target.borrower.mobile not in client.get(url_of(Loan)).content.decode()


def test_lending_lists_do_not_query_per_row(client):
    login(client, OPS)
    lists = [Loan, LoanApplication, Contract, Repayment, LoanTransaction]

    def build(n):
        for _ in range(n):
            pay(factories.loan(on=DAY), "300")

    def count_queries():
        counts = {}
        for model in lists:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url_of(model)).status_code == 200
            counts[model] = len(ctx)
        return counts

    build(3)
    few = count_queries()
    build(12)
    assert Loan.objects.count() == 15
    assert count_queries() == few


def test_the_post_payment_form_shows_what_the_loan_owes(client):
    loan = factories.loan(on=DAY)
    on = date(2026, 2, 12)  # the first bill (due 02-15) is open
    with time_machine.travel(on):
        login(client, OPS)
        form = client.post(url_of(Loan), {"action": "post_payment", "_selected_action": [loan.pk]})
        assert form.status_code == 200, form.get("Location")
        figures = selectors.repayment_figures(loan=loan, on=on)
    html = form.content.decode()
    assert f"¥{figures.pay_bill:.2f}" in html and f"¥{figures.settle:.2f}" in html
    assert figures.pay_bill == Decimal("1084.34") and figures.settle == Decimal("10140.00")
