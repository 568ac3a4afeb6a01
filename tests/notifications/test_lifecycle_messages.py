"""The texts a borrower gets for the new lending events: card-binding code (masked in the
outbox), a cancelled draw with its reason, a refund paid, a payment on a written-off loan,
and the disbursement naming the card the money went to."""

from datetime import date, datetime
from datetime import time as dt_time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from loans.services import cards, lending, refunds
from notifications.models import SmsMessage
from notifications.services import SECRET_MASK
from tests import factories
from tests.loans.test_refunds import OPS, gateway_queue, overpaid_loan  # noqa: F401

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = datetime.combine(date(2026, 1, 26), dt_time(10), SHANGHAI)


def texts(template):
    return list(SmsMessage.objects.filter(template=template).values_list("text", flat=True))


def test_a_card_binding_code_is_masked_in_the_outbox_and_real_for_the_provider(
    sms_outbox, django_capture_on_commit_callbacks
):
    borrower = factories.borrower()
    with time_machine.travel(MORNING), django_capture_on_commit_callbacks(execute=True):
        cards.start_card_binding(
            borrower=borrower, bank_name="招商银行", card_number=factories.card_number()
        )
    (stored,) = texts("card_verification_code")
    assert SECRET_MASK in stored and "招商银行尾号" in stored
    sent = [m.text for m in sms_outbox if m.template == "card_verification_code"]
    assert len(sent) == 1 and SECRET_MASK not in sent[0]


def test_a_cancelled_draw_is_texted_with_its_reason(django_capture_on_commit_callbacks):
    with time_machine.travel(MORNING), django_capture_on_commit_callbacks(execute=True):
        borrower = factories.borrower(income="50000")
        factories.loan(on=MORNING.date(), borrower_obj=borrower)
        application = lending.apply_for_loan(
            borrower=borrower,
            product=borrower.loans.get().product,
            amount=Decimal("2000"),
            term=10,
            method="equal_instalment",
        )
        lending.cancel_application(application=application)
    (text,) = texts("application_cancelled")
    assert "¥2000.00" in text and "原因：您已取消这笔借款。" in text


def test_a_refund_paid_names_the_card(gateway_queue, django_capture_on_commit_callbacks):  # noqa: F811
    with time_machine.travel(MORNING), django_capture_on_commit_callbacks(execute=True):
        loan, _ = overpaid_loan("120.00")
        refunds.request_refund(
            loan=loan, amount=Decimal("120.00"), actor=factories.staff(OPS), reference="R-1"
        )
    (text,) = texts("refund_paid")
    card = cards.default_card(borrower=loan.borrower)
    assert "¥120.00" in text and f"尾号{card.last4}" in text


def test_the_disbursement_text_names_the_card(django_capture_on_commit_callbacks):
    with time_machine.travel(MORNING), django_capture_on_commit_callbacks(execute=True):
        loan = factories.loan(on=MORNING.date())
    card = cards.default_card(borrower=loan.borrower)
    (text,) = texts("loan_disbursed")
    assert f"{card.bank_name}尾号{card.last4}" in text
