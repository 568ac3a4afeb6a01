"""The admin forms staff type into, under hostile input: a refusal is shown on the form (or
answered 400/404), never a 500, and a refused input leaves the ledger and the case as they
were."""

from datetime import date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils.html import escape
from hypothesis import given
from hypothesis import strategies as st

from debt_collection.models import (
    CallOutcome,
    CaseEvent,
    Complaint,
    ContactRestriction,
    HardshipPlan,
    HomeVisit,
    PromiseToPay,
)
from debt_collection.services import contacts as contact_services
from loans.models import (
    Approval,
    ApprovalThreshold,
    CreditLine,
    Instalment,
    LoanProduct,
    LoanTransaction,
    Refund,
    Repayment,
    WriteOff,
)
from loans.services.repayments import post_repayment
from notifications.models import SmsTemplate
from tests import factories

from .conftest import DAY, SHANGHAI
from .strategies import (
    FUZZ,
    ODD_IDS,
    assert_no_500,
    counts,
    each_example,
    form_fields,
    hostile_amount,
    hostile_date,
    hostile_form,
    hostile_id,
    hostile_text,
    hostile_time,
    hostile_value,
    mutated,
    shown_errors,
)

pytestmark = pytest.mark.django_db
LEDGER = (Repayment, LoanTransaction, Approval, Refund, WriteOff)
CASE_ROWS = (CaseEvent, PromiseToPay, HomeVisit, HardshipPlan, Complaint, ContactRestriction)


def balances():
    """What the ledger would show: every instalment's paid and due figures."""
    return list(
        Instalment.objects.order_by("pk").values_list(
            "principal_paid", "interest_paid", "penalty_paid", "penalty_due", "status"
        )
    )


def refused(response, form_key="form") -> bool:
    """The form re-shown with its errors on the page, or a 400/404."""
    assert_no_500(response)
    if response.status_code in (400, 404):
        return True
    context = response.context
    if response.status_code == 200 and context is not None and form_key in context:
        form = context[form_key]
        if form is not None and form.is_bound and form.errors:
            shown_errors(response, form_key)
            return True
    return False


def action(client, model: str, name: str, pk, fields):
    url = reverse(f"admin:loans_{model}_changelist")
    data = {"action": name, "_selected_action": [pk], "apply": "1", **fields}
    return client.post(url, data)


@FUZZ
@given(
    fields=st.one_of(
        hostile_form(
            ["amount", "channel", "external_id", "value_date"],
            amount=st.one_of(hostile_amount, st.just("100.00")),
            channel=st.one_of(hostile_text, st.just("counter")),
            external_id=st.one_of(hostile_text, st.just("T-1")),
            value_date=st.one_of(hostile_date, st.just("2026-03-10")),
        ),
        mutated(
            {
                "amount": "100.00",
                "channel": "counter",
                "external_id": "T-1",
                "value_date": "2026-03-10",
            },
            {"amount": hostile_amount, "value_date": hostile_date},
        ),
    )
)
def test_post_payment(admin_client, loan, fields):
    with each_example():
        before, owed = counts(*LEDGER), balances()
        response = action(admin_client, "loan", "post_payment", loan.pk, fields)
        if refused(response):
            assert counts(*LEDGER) == before and balances() == owed
        else:
            assert response.status_code == 302


@pytest.fixture
def repayment(loan):
    with time_machine.travel(datetime(2026, 3, 1, 10, 0, tzinfo=SHANGHAI)):
        paid, _created = post_repayment(
            loan=loan,
            amount=Decimal("500.00"),
            channel="bank_card",
            external_id="T-paid",
            value_date=date(2026, 3, 1),
        )
    return paid


@FUZZ
@given(
    reason=st.one_of(hostile_value, st.none()), line_action=st.sampled_from(["freeze", "unfreeze"])
)
def test_reverse_and_freeze(admin_client, repayment, reason, line_action):
    fields = {} if reason is None else {"reason": reason}
    line = CreditLine.objects.get(borrower=repayment.loan.borrower)
    with each_example():
        before, owed = counts(*LEDGER), balances()
        response = action(admin_client, "repayment", "reverse", repayment.pk, fields)
        if refused(response):
            assert counts(*LEDGER) == before and balances() == owed
            repayment.refresh_from_db()
            assert repayment.reversed_at is None
        response = action(admin_client, "creditline", line_action, line.pk, fields)
        if refused(response):
            assert CreditLine.objects.get(pk=line.pk).status == line.status


@FUZZ
@given(
    data=st.data(),
    kind=st.sampled_from(["refund", "writeoff"]),
)
def test_refund_and_write_off_requests(admin_client, loan, data, kind):
    fields = data.draw(
        st.one_of(
            hostile_form(
                ["loan", "amount", "reason", "reference"],
                loan=st.one_of(hostile_id, st.just(str(loan.pk))),
                reference=st.one_of(hostile_text, st.just("R-fuzz-1")),
            ),
            mutated(
                {"loan": str(loan.pk), "amount": "1.00", "reason": "多收", "reference": "R-1"},
                {"loan": hostile_id, "amount": hostile_amount},
            ),
        )
    )
    url = reverse(f"admin:loans_{kind}_add")
    with each_example():
        before, owed = counts(*LEDGER), balances()
        shown = admin_client.get(url, {"loan": fields.get("loan", "")})
        assert_no_500(shown)
        response = admin_client.post(url, fields)
        if refused(response):
            assert counts(*LEDGER) == before and balances() == owed
        else:
            assert response.status_code in (200, 302)


@FUZZ
@given(
    field=st.one_of(st.sampled_from(["id_number", "mobile", "name"]), hostile_text),
    reason=hostile_value,
    pk=st.one_of(st.just(None), st.integers(0, 2**63)),
)
def test_reveal(admin_client, loan, field, reason, pk):
    borrower_pk = loan.borrower_id if pk is None else pk
    with each_example():
        try:
            url = reverse("admin:loans_borrower_reveal", args=[borrower_pk, field])
        except Exception:  # noqa: BLE001 - no URL can hold this field name
            return
        response = admin_client.post(url, {"reason": reason})
        assert_no_500(response)
        assert response.status_code in (200, 400, 404)


@pytest.fixture
def approvals(loan):
    """Two proposals waiting for a decision: a payment above the threshold, and a write-off."""
    staff = factories.staff(superuser=True)
    from loans import approvals as approval_services

    ApprovalThreshold.objects.update_or_create(
        kind="manual_posting", defaults={"amount": Decimal("100.00")}
    )
    approval_services.post_manual_repayment(
        loan=loan,
        amount=Decimal("900.00"),
        channel="counter",
        external_id="BIG-1",
        value_date=DAY,
        actor=staff,
    )
    proposals = list(Approval.objects.all())
    assert proposals
    return proposals


@FUZZ
@given(
    note=st.one_of(hostile_value, st.none()),
    decision=st.sampled_from(["approve", "reject"]),
    pk=st.one_of(st.none(), hostile_id),
)
def test_approval_decisions(admin_client, approvals, note, decision, pk):
    fields = {} if note is None else {"note": note}
    target = approvals[0].pk if pk is None else pk
    with each_example():
        before, owed = counts(Repayment, LoanTransaction), balances()
        response = action(admin_client, "approval", decision, target, fields)
        assert_no_500(response)
        approval = Approval.objects.get(pk=approvals[0].pk)
        if approval.status == Approval.Status.PROPOSED:
            assert counts(Repayment, LoanTransaction) == before and balances() == owed


CASE_FORMS = {
    "note": ["text"],
    "promise": ["amount", "promised_on"],
    "visit": ["visit_date", "window_start", "window_end", "visitor", "purpose"],
    "hardship": ["extension_days", "new_term", "penalty_waiver", "stop_interest", "reason"],
    "complaint": ["kind", "category", "description"],
    "restrict": ["scope", "reason"],
    "escalate": ["text"],
    "sms": ["template_code"],
}
VALID_CASE_FORMS = {
    "text": "借款人说下周还",
    "amount": "500.00",
    "promised_on": "2026-03-15",
    "visit_date": "2026-03-12",
    "window_start": "10:00",
    "window_end": "12:00",
    "purpose": "面谈",
    "extension_days": "10",
    "reason": "失业",
    "kind": Complaint.Kind.choices[0][0],
    "category": Complaint.Category.choices[0][0],
    "description": "催收电话太多",
    "scope": ContactRestriction.Scope.choices[0][0],
}
TYPED = {
    "promised_on": hostile_date,
    "visit_date": hostile_date,
    "window_start": hostile_time,
    "window_end": hostile_time,
    "amount": hostile_amount,
    "penalty_waiver": hostile_amount,
}


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(CASE_FORMS)))
def test_case_actions(admin_client, case, data, name):
    typed = {f: TYPED[f] for f in CASE_FORMS[name] if f in TYPED}
    valid = {**VALID_CASE_FORMS, "visitor": str(case.assigned_to_id)}
    valid["template_code"] = (
        SmsTemplate.objects.filter(purpose="collection", is_active=True)
        .values_list("code", flat=True)
        .first()
    )
    fields = data.draw(
        st.one_of(
            hostile_form(
                CASE_FORMS[name], **{f: st.one_of(s, hostile_value) for f, s in typed.items()}
            ),
            mutated({f: valid[f] for f in CASE_FORMS[name] if valid.get(f)}, typed),
        )
    )
    posted = {f"{name}-{field}": value for field, value in fields.items()}
    url = reverse(f"admin:collections_collectioncase_{name}", args=[case.pk])
    with each_example():
        before, owed = counts(*CASE_ROWS), balances()
        response = admin_client.post(url, posted)
        assert_no_500(response)
        if response.status_code == 400 or _action_refused(response, name):
            assert counts(*CASE_ROWS) == before and balances() == owed
        else:
            assert response.status_code == 302


def _action_refused(response, name) -> bool:
    """The case page shown again, the posted action's form with its errors on it."""
    if response.status_code != 200 or not response.context:
        return False
    (form,) = [a["form"] for a in response.context["actions"] if a["name"] == name]
    assert form.is_bound and form.errors
    html = response.content.decode()
    for errors in form.errors.values():
        for message in errors:
            assert escape(str(message)) in html
    return True


@pytest.fixture
def call(admin_client, case):
    """A call the signed-in user was allowed to make, waiting for its outcome."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(pk=admin_client.session["_auth_user_id"])
    attempt, decision, _mobile = contact_services.call_borrower(case=case, staff=user)
    assert decision.allowed, decision.message
    return attempt


@FUZZ
@given(
    fields=st.one_of(
        mutated(
            {"outcome": "promise", "promise_amount": "100.00", "promise_date": "2026-03-15"},
            {"promise_amount": hostile_amount, "promise_date": hostile_date},
        ),
        hostile_form(
            ["outcome", "note", "promise_amount", "promise_date"],
            outcome=st.one_of(
                st.sampled_from([c for c, _ in CallOutcome.Outcome.choices]), hostile_text
            ),
            promise_amount=hostile_amount,
            promise_date=hostile_date,
        ),
    )
)
def test_call_outcome(admin_client, case, call, fields):
    attempt = call
    prefix = f"outcome-{attempt.pk}"
    url = reverse("admin:collections_collectioncase_outcome", args=[case.pk, attempt.pk])
    with each_example():
        before, owed = counts(CallOutcome, PromiseToPay), balances()
        response = admin_client.post(url, {f"{prefix}-{k}": v for k, v in fields.items()})
        assert_no_500(response)
        if response.status_code != 302:
            assert counts(CallOutcome, PromiseToPay) == before and balances() == owed


def _change_form_fuzz(client, url, data, model):
    page = client.get(url)
    assert page.status_code == 200
    original, _names = form_fields(page)
    fields = data.draw(st.lists(st.sampled_from(sorted(original)), min_size=1, max_size=4))
    posted = {**original, **{f: data.draw(hostile_value) for f in fields}}
    with each_example():
        rows = list(model.objects.order_by("pk").values())
        response = client.post(url, posted)
        assert_no_500(response)
        if response.status_code == 200:
            form = response.context["adminform"].form
            assert form.errors or response.context.get("errors")
            assert list(model.objects.order_by("pk").values()) == rows


@FUZZ
@given(data=st.data())
def test_sms_template_edit(admin_client, clock, data):
    template = SmsTemplate.objects.order_by("pk").first()
    url = reverse("admin:notifications_smstemplate_change", args=[template.pk])
    _change_form_fuzz(admin_client, url, data, SmsTemplate)


@FUZZ
@given(data=st.data())
def test_product_edit(admin_client, loan, data):
    product = LoanProduct.objects.get()
    url = reverse("admin:loans_loanproduct_change", args=[product.pk])
    _change_form_fuzz(admin_client, url, data, LoanProduct)


def test_add_pages_take_any_loan_in_their_address(admin_client, loan):
    """ "Request a refund" and "Propose a write-off" open on ?loan=…: an id that is no
    number (a superscript two passes str.isdigit) opens an empty form."""
    for kind in ("refund", "writeoff"):
        url = reverse(f"admin:loans_{kind}_add")
        for value in [*ODD_IDS, str(loan.pk)]:
            response = admin_client.get(url, {"loan": value})
            assert_no_500(response)
            assert response.status_code in (200, 400), (kind, value)


def test_a_selected_row_beyond_any_key_is_a_400(admin_client, approvals):
    for pk in (2**63, -(2**63) - 1, 10**25):
        response = action(admin_client, "approval", "approve", pk, {})
        assert response.status_code == 400
    assert Approval.objects.get().status == Approval.Status.PROPOSED
