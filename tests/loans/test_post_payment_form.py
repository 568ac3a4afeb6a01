"""The post-payment form shows what the loan owes ("pay this bill" / "settle today") and the
approval threshold; a payment above the threshold becomes a proposal, posted once approved."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from loans import selectors
from loans.models import Approval, ApprovalThreshold, Repayment
from tests import factories

pytestmark = pytest.mark.django_db
DRAWN = date(2026, 1, 15)
BILL_OPEN = date(2026, 2, 12)  # the first bill (due 02-15) is open
OPS = "贷款运营 Loan operations"


def form_page(client, loan, **fields):
    data = {"action": "post_payment", "_selected_action": [loan.pk]}
    if fields:
        data.update(apply="1", **fields)
    return client.post(reverse("admin:loans_loan_changelist"), data, follow=bool(fields))


def test_the_form_shows_the_bill_and_the_settle_today_amount(client):
    with time_machine.travel(DRAWN):
        loan = factories.loan(on=DRAWN)
    with time_machine.travel(BILL_OPEN):
        client.force_login(factories.staff(OPS))
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        page = form_page(client, loan)
        figures = selectors.repayment_figures(loan=loan, on=BILL_OPEN)
    html = page.content.decode()
    assert figures.pay_bill == Decimal("1084.34") and figures.settle == Decimal("10140.00")
    assert "Pay this bill: ¥1084.34" in html and "due 2026-02-15" in html
    assert "Settle today: ¥10140.00" in html
    assert "above ¥20000.00 waits for a second person" in html


def test_above_the_threshold_the_form_proposes_and_another_person_posts_it(client):
    ApprovalThreshold.objects.filter(kind="manual_posting").update(amount=Decimal("5000.00"))
    with time_machine.travel(DRAWN):
        loan = factories.loan(on=DRAWN)
    maker, checker = factories.staff(OPS), factories.staff(OPS)
    fields = {"amount": "10140.00", "channel": "counter", "external_id": "C-77"}
    with time_machine.travel(BILL_OPEN):
        client.force_login(maker)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        page = form_page(client, loan, **fields, value_date="2026-02-12")
        assert "so it waits for a second person" in page.content.decode()
        assert not Repayment.objects.exists()
        approval = Approval.objects.get(kind="manual_posting")
        url = reverse("admin:loans_approval_changelist")
        client.force_login(checker)
        client.post(url, {"action": "approve", "_selected_action": [approval.pk], "apply": "1"})
    repayment = Repayment.objects.get(external_id="C-77")
    assert repayment.amount == Decimal("10140.00") and repayment.settled_loan
    loan.refresh_from_db()
    assert loan.status == loan.Status.SETTLED
