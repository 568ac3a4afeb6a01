"""绑卡 (binding a bank card), like 微信's: the card in the borrower's own name, proved with a
6-digit code texted to their mobile (5 minutes, 5 tries), the code kept only as a keyed hash, the
number encrypted, shown masked; the portal pages; and money paid only to a verified card."""

import logging
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation

from loans import signals
from loans.models import BankCard, Loan, LoanTransaction
from loans.models.payments import CardBinding
from loans.services import cards, credit, lending, payments
from tests import factories

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 10)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(DAY) as clock, translation.override("en"):
        yield clock


@pytest.fixture
def card_codes():
    """The codes `loans` asks to text (the signal the notifications app will answer), newest
    last, with what the text may say about the card."""
    codes = []

    def capture(sender, borrower, code, request_id, bank_name, last4, **kwargs):
        codes.append({"borrower": borrower, "code": code, "bank": bank_name, "last4": last4})

    signals.card_verification_code_requested.connect(capture, dispatch_uid="test-card-codes")
    yield codes
    signals.card_verification_code_requested.disconnect(dispatch_uid="test-card-codes")


@pytest.fixture
def borrower():
    return factories.borrower(name="张三", income="30000")


def start(borrower, number, capture, **kwargs):
    with capture(execute=True):
        return cards.start_card_binding(
            borrower=borrower, bank_name="招商银行", card_number=number, **kwargs
        )


def test_a_texted_code_proves_the_card_and_only_its_hash_is_kept(
    borrower, card_codes, django_capture_on_commit_callbacks
):
    number = factories.card_number()
    binding = start(borrower, number, django_capture_on_commit_callbacks)
    assert not BankCard.objects.exists()  # nothing is bound before the code is typed
    (sent,) = card_codes
    assert sent["borrower"] == borrower and sent["last4"] == number[-4:]
    assert sent["bank"] == "招商银行" and len(sent["code"]) == 6 and sent["code"].isdigit()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM loans_cardbinding WHERE id = %s", [binding.pk])
        row = cursor.fetchone()
    assert not any(sent["code"] in str(v) or number in str(v) for v in row)
    life = binding.expires_at - binding.created_at
    assert timedelta(minutes=5) - timedelta(seconds=1) < life <= timedelta(minutes=5)

    card = cards.confirm_card_binding(binding=binding, code=sent["code"])
    assert card.is_verified and card.is_default and card.number == number
    assert card.holder_name == borrower.name and card.masked == f"招商银行 ****{number[-4:]}"
    assert card.gateway_token.startswith("sbx-card-") and number not in card.gateway_token
    binding.refresh_from_db()
    assert binding.card == card and binding.number == ""  # the number lives on the card only
    assert cards.default_card(borrower=borrower) == card
    with pytest.raises(ValidationError, match="wrong or has expired"):  # used once
        cards.confirm_card_binding(binding=binding, code=sent["code"])
    assert BankCard.objects.count() == 1


def test_five_wrong_tries_and_the_right_code_no_longer_works(
    borrower, card_codes, django_capture_on_commit_callbacks
):
    binding = start(borrower, factories.card_number(), django_capture_on_commit_callbacks)
    code = card_codes[-1]["code"]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(ValidationError, match="wrong or has expired"):
            cards.confirm_card_binding(binding=binding, code=wrong)
    binding.refresh_from_db()
    assert binding.attempts == 5  # each wrong try was counted and kept
    with pytest.raises(ValidationError, match="wrong or has expired"):
        cards.confirm_card_binding(binding=binding, code=code)
    assert not BankCard.objects.exists()


def test_the_code_lasts_five_minutes_and_a_new_one_replaces_it(
    borrower, card_codes, today, django_capture_on_commit_callbacks
):
    binding = start(borrower, factories.card_number(), django_capture_on_commit_callbacks)
    old_code = card_codes[-1]["code"]
    with pytest.raises(ValidationError, match="less than a minute ago"):
        cards.resend_card_code(binding=binding)  # at most one code a minute
    today.shift(timedelta(minutes=6))
    with pytest.raises(ValidationError, match="wrong or has expired"):
        cards.confirm_card_binding(binding=binding, code=old_code)
    with django_capture_on_commit_callbacks(execute=True):
        fresh = cards.resend_card_code(binding=binding)
    binding.refresh_from_db()
    assert binding.used_at is not None and binding.number == ""
    card = cards.confirm_card_binding(binding=fresh, code=card_codes[-1]["code"])
    assert card.is_verified


def test_at_most_ten_codes_a_day(borrower, today, django_capture_on_commit_callbacks):
    for _ in range(10):
        start(borrower, factories.card_number(), django_capture_on_commit_callbacks)
        today.shift(timedelta(minutes=2))
    with pytest.raises(ValidationError, match="Too many codes today"):
        start(borrower, factories.card_number(), django_capture_on_commit_callbacks)


def test_only_a_valid_card_in_the_borrowers_own_name_not_bound_elsewhere(
    borrower, django_capture_on_commit_callbacks
):
    number = factories.card_number()
    cases = [
        ({"card_number": "1234"}, "card_number"),
        ({"card_number": number[:-1] + str((int(number[-1]) + 1) % 10)}, "card_number"),
        ({"holder_name": "李四"}, "holder_name"),
        ({"bank_name": ""}, "bank_name"),
    ]
    for change, field in cases:
        args = {"bank_name": "招商银行", "card_number": number, **change}
        with pytest.raises(ValidationError) as exc:
            cards.start_card_binding(borrower=borrower, **args)
        assert field in exc.value.message_dict, change
    # Spaces, and a middle dot written another way, are the same name.
    minority = factories.borrower(name="买买提·艾力")
    cards.start_card_binding(
        borrower=minority, bank_name="招商银行", card_number=number, holder_name="买买提•艾力 "
    )
    factories.bank_card(borrower, number=number)
    with pytest.raises(ValidationError) as mine:
        cards.start_card_binding(borrower=borrower, bank_name="招商银行", card_number=number)
    assert "already bound" in " ".join(mine.value.messages)
    with pytest.raises(ValidationError) as theirs:
        cards.start_card_binding(borrower=minority, bank_name="招商银行", card_number=number)
    assert "cannot be bound to your account" in " ".join(theirs.value.messages)
    assert CardBinding.objects.filter(borrower=borrower).count() == 0


def test_only_a_verified_bound_card_can_be_the_default(borrower):
    first = factories.bank_card(borrower)
    second = factories.bank_card(borrower, make_default=False)
    assert cards.default_card(borrower=borrower) == first
    cards.set_default_card(card=second)
    first.refresh_from_db()
    assert not first.is_default and cards.default_card(borrower=borrower) == second
    legacy = BankCard.objects.create(
        borrower=borrower, bank_name="工商银行", last4="1111", gateway_token="old"
    )
    with pytest.raises(ValidationError, match="not been verified"):
        cards.set_default_card(card=legacy)
    cards.unbind_bank_card(card=second)
    with pytest.raises(ValidationError, match="no longer bound"):
        cards.set_default_card(card=second)
    assert cards.default_card(borrower=borrower) is None


def test_auto_debit_charges_the_default_verified_card(borrower, settings):
    with time_machine.travel(date(2026, 1, 15)):
        credit.assess_credit(borrower=borrower, as_of=date(2026, 1, 15))
        loan = factories.loan(on=date(2026, 1, 15), borrower_obj=borrower)
    payout = loan.transactions.get(kind=LoanTransaction.Kind.DISBURSEMENT).bank_card
    other = factories.bank_card(borrower)  # the newest becomes the default
    due = loan.instalments.get(number=1)
    settings.PAYMENT_GATEWAY_BACKEND = "tests.loans.test_gateway.RecordingGateway"
    attempt = payments.request_auto_debit(
        loan=loan, business_date=due.due_date, slot="due_morning", amount=due.total_due
    )
    assert attempt.bank_card == other and payout != other


# --- The portal ------------------------------------------------------------------------------


def log_in(client, borrower):
    session = client.session
    session["portal_borrower_id"] = borrower.pk
    session.save()


def test_the_card_pages_need_a_signed_in_borrower(client):
    for name in ("bank_cards", "bind_card"):
        response = client.get(reverse(f"portal:{name}"))
        assert response.status_code == 302 and response.url == reverse("portal:login")


def test_binding_in_the_portal_then_signing_the_waiting_contract(
    client, borrower, card_codes, django_capture_on_commit_callbacks, caplog
):
    credit.assess_credit(borrower=borrower, as_of=DAY)
    application = lending.apply_for_loan(
        borrower=borrower,
        product=factories.product(),
        amount=Decimal("3000"),
        term=10,
        method="equal_instalment",
    )
    contract_url = reverse("portal:contract", args=[application.contract.number])
    log_in(client, borrower)
    number = factories.card_number()
    spaced = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    page = client.get(reverse("portal:bind_card"), {"next": contract_url}).content.decode()
    assert borrower.masked_name in page and borrower.name not in page  # the holder, locked
    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("portal:bind_card"),
            {
                "card_number": spaced,
                "bank_name": "招商银行",
                "make_default": "on",
                "next": contract_url,
            },
            HTTP_ACCEPT_LANGUAGE="en",
        )
    binding = CardBinding.objects.get()
    code_url = reverse("portal:card_code", args=[binding.pk])
    assert response.status_code == 302 and response.url.startswith(code_url)
    assert number not in response.url and number[-4:] not in response.url
    page = client.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"****{number[-4:]}" in page and number not in page
    assert borrower.masked_mobile in page
    wrong = "000000" if card_codes[-1]["code"] != "000000" else "111111"
    bad = client.post(response.url, {"code": wrong, "verify": "1", "next": contract_url})
    assert bad.status_code == 200 and bad.context["form"].errors["code"]
    with caplog.at_level(logging.DEBUG):
        done = client.post(
            response.url,
            {"code": card_codes[-1]["code"], "verify": "1", "next": contract_url},
            HTTP_ACCEPT_LANGUAGE="en",
            follow=True,
        )
    assert done.redirect_chain[-1][0] == contract_url  # back to the contract waiting for her
    body = done.content.decode()
    assert f"招商银行 ****{number[-4:]}" in body and "is bound and verified" in body
    assert number not in caplog.text and card_codes[-1]["code"] not in caplog.text

    cards = client.get(reverse("portal:bank_cards"), HTTP_ACCEPT_LANGUAGE="en")
    assert f"****{number[-4:]}" in cards.content.decode() and number not in cards.content.decode()
    signed = client.post(contract_url, {"agree": "yes"})
    loan = Loan.objects.get(application=application)
    assert signed.url == reverse("portal:loan", args=[loan.pk])
    assert loan.transactions.get(kind="disbursement").bank_card.number == number


def test_another_borrowers_binding_or_card_is_a_404_and_posts_need_csrf(
    borrower, django_capture_on_commit_callbacks
):
    stranger = factories.borrower(name="李四")
    binding = start(stranger, factories.card_number(), django_capture_on_commit_callbacks)
    card = factories.bank_card(stranger)
    client = Client()
    log_in(client, borrower)
    assert client.get(reverse("portal:card_code", args=[binding.pk])).status_code == 404
    assert client.post(reverse("portal:make_default_card", args=[card.pk])).status_code == 404
    assert client.get(reverse("portal:make_default_card", args=[card.pk])).status_code == 405

    strict = Client(enforce_csrf_checks=True)
    log_in(strict, borrower)
    posted = strict.post(
        reverse("portal:bind_card"),
        {"card_number": factories.card_number(), "bank_name": "招商银行"},
    )
    assert posted.status_code == 403
    assert not CardBinding.objects.filter(borrower=borrower).exists()


def test_the_default_card_is_chosen_in_the_portal(client, borrower):
    first = factories.bank_card(borrower)
    second = factories.bank_card(borrower, make_default=False)
    log_in(client, borrower)
    page = client.get(reverse("portal:bank_cards"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reverse("portal:make_default_card", args=[second.pk]) in page
    assert reverse("portal:make_default_card", args=[first.pk]) not in page  # already default
    client.post(reverse("portal:make_default_card", args=[second.pk]))
    assert cards.default_card(borrower=borrower) == second


def test_bad_card_input_is_a_message_not_an_error(client, borrower):
    log_in(client, borrower)
    url = reverse("portal:bind_card")
    for data in (
        {"card_number": "abc", "bank_name": "招商银行"},
        {"card_number": "6222\x00021234567890123", "bank_name": "招商银行"},
        {"card_number": factories.card_number(), "bank_name": "Evil Bank"},
        {"card_number": "9" * 40, "bank_name": "招商银行"},
        {},
    ):
        response = client.post(url, data)
        assert response.status_code == 200 and response.context["form"].errors, data
    assert not CardBinding.objects.exists()
    # Where to go afterwards is only ever a path on this site.
    hostile = client.get(url, {"next": "https://evil.example/"})
    assert 'type="hidden" name="next"' not in hostile.content.decode()
    assert 'type="hidden" name="next"' in client.get(url, {"next": "/credit/"}).content.decode()
