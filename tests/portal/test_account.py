"""The borrower's bank cards and choices: removing a card (never the only card of a loan being
auto-debited), auto-debit and early reminders saved and shown, and the language switch kept
on the borrower and applied at sign-in."""

import re
import threading
from datetime import date

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from loans.models import BankCard, Borrower
from loans.services import cards
from portal.session import BORROWER_SESSION_KEY
from tests import factories

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 10)
COOKIE = settings.LANGUAGE_COOKIE_NAME


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(DAY):
        yield


@pytest.fixture
def loan():
    """An active loan, paid out to the borrower's one verified card; auto-debit on."""
    return factories.loan(on=DAY)


def sign_in(client, borrower):
    session = client.session
    session[BORROWER_SESSION_KEY] = borrower.pk
    session.save()


def remove(client, card, **extra):
    return client.post(
        reverse("portal:remove_card", args=[card.pk]), HTTP_ACCEPT_LANGUAGE="en", **extra
    )


def page_text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- The cards page -------------------------------------------------------------------------


def test_the_cards_page_shows_each_card_masked_default_and_verified(client, loan):
    borrower = loan.borrower
    spare_number = factories.card_number()
    spare = factories.bank_card(
        borrower, bank_name="中国银行", number=spare_number, make_default=False
    )
    default = cards.default_card(borrower=borrower)
    sign_in(client, borrower)
    page = client.get(reverse("portal:bank_cards"), HTTP_ACCEPT_LANGUAGE="en")
    body = page_text(page)
    assert page.status_code == 200
    assert f"中国银行 ****{spare_number[-4:]}" in body and spare_number not in body
    assert f'<strong>{default.masked}</strong> <span class="badge">Default card</span>' in body
    assert f"Verified on {timezone.localtime(spare.verified_at):%Y-%m-%d %H:%M}" in body
    assert f"Auto-debit collects from your default card: {default.masked}." in body
    assert reverse("portal:remove_card", args=[spare.pk]) in body
    assert "every message the law requires" in body
    assert "no-store" in page["Cache-Control"]


# --- Removing a card ------------------------------------------------------------------------


def test_the_only_card_of_an_auto_debited_loan_cannot_be_removed(client, loan):
    card = cards.default_card(borrower=loan.borrower)
    sign_in(client, loan.borrower)
    response = remove(client, card, follow=True)
    assert response.status_code == 200
    assert "only card your auto-debited loan is collected from" in page_text(response)
    card.refresh_from_db()
    assert card.unbound_at is None and card.is_default


def test_with_auto_debit_off_the_only_card_can_be_removed(client, loan):
    Borrower.objects.filter(pk=loan.borrower_id).update(auto_debit=False)
    card = cards.default_card(borrower=loan.borrower)
    sign_in(client, loan.borrower)
    response = remove(client, card, follow=True)
    card.refresh_from_db()
    assert card.unbound_at is not None and not card.is_default
    assert f"{card.masked} is removed." in page_text(response)
    assert "You have no default card now" in page_text(response)


def test_with_another_card_the_default_can_go_and_the_other_becomes_default(client, loan):
    borrower = loan.borrower
    card = cards.default_card(borrower=borrower)
    other = factories.bank_card(borrower, bank_name="中国银行", make_default=False)
    sign_in(client, borrower)
    response = remove(client, card, follow=True)
    card.refresh_from_db()
    assert card.unbound_at is not None
    assert cards.default_card(borrower=borrower) == other
    assert f"{other.masked} is your default card now" in page_text(response)
    # ... and now the other one is the only card of the auto-debited loan.
    response = remove(client, other, follow=True)
    other.refresh_from_db()
    assert other.unbound_at is None and "cannot be removed now" in page_text(response)


def test_a_card_without_any_active_loan_can_be_removed(client):
    borrower = factories.borrower()
    card = factories.bank_card(borrower)
    sign_in(client, borrower)
    assert remove(client, card).status_code == 302
    assert not BankCard.objects.usable().filter(borrower=borrower).exists()


def test_removing_it_again_is_calm(client, loan):
    borrower = loan.borrower
    other = factories.bank_card(borrower, make_default=False)
    sign_in(client, borrower)
    first = remove(client, other)
    again = remove(client, other, follow=True)
    assert first.status_code == 302 and again.status_code == 200
    assert "This card has already been removed." in page_text(again)
    other.refresh_from_db()
    assert other.unbound_at is not None
    assert cards.default_card(borrower=borrower) is not None  # the loan's card untouched


def test_another_borrowers_card_is_a_404_and_stays(client, loan):
    mine = factories.borrower(name="李四")
    sign_in(client, mine)
    theirs = cards.default_card(borrower=loan.borrower)
    Borrower.objects.filter(pk=loan.borrower_id).update(auto_debit=False)  # removable by them
    assert remove(client, theirs).status_code == 404
    assert client.post(reverse("portal:remove_card", args=[999999])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.unbound_at is None and theirs.is_default


def test_removing_needs_a_post_a_signed_in_borrower_and_csrf(client, loan):
    card = cards.default_card(borrower=loan.borrower)
    url = reverse("portal:remove_card", args=[card.pk])
    anonymous = client.post(url)
    assert anonymous.status_code == 302 and anonymous.url == reverse("portal:login")
    sign_in(client, loan.borrower)
    assert client.get(url).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    sign_in(strict, loan.borrower)
    Borrower.objects.filter(pk=loan.borrower_id).update(auto_debit=False)
    assert strict.post(url).status_code == 403
    card.refresh_from_db()
    assert card.unbound_at is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_removals_at_once_never_leave_an_auto_debited_loan_without_a_card():
    with time_machine.travel(DAY):
        loan = factories.loan(on=DAY)
        borrower = loan.borrower
        first = cards.default_card(borrower=borrower)
        second = factories.bank_card(borrower, make_default=False)
    barrier, outcomes = threading.Barrier(2), []

    def remove_one(card):
        try:
            barrier.wait()
            cards.remove_bank_card(card=card)
            outcomes.append("removed")
        except cards.CardNeededForAutoDebit:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=remove_one, args=(c,)) for c in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "removed"]
    assert BankCard.objects.usable().filter(borrower=borrower, is_default=True).count() == 1


# --- Auto-debit and reminders ---------------------------------------------------------------


def test_the_choices_are_saved_and_shown(client, loan):
    borrower = loan.borrower
    sign_in(client, borrower)
    url = reverse("portal:card_preferences")
    response = client.post(url, {"early_reminders": "on"}, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    borrower.refresh_from_db()
    assert (borrower.auto_debit, borrower.early_reminders) == (False, True)
    body = page_text(response)
    assert "Your choices are saved." in body and "Auto-debit is off" in body
    assert re.search(r'<input type="checkbox" name="early_reminders"[^>]*checked', body)
    assert not re.search(r'<input type="checkbox" name="auto_debit"[^>]*checked', body)
    # The same choice twice (a double click) leaves the same state.
    client.post(url, {"early_reminders": "on"})
    borrower.refresh_from_db()
    assert (borrower.auto_debit, borrower.early_reminders) == (False, True)
    client.post(url, {"auto_debit": "on"})
    borrower.refresh_from_db()
    assert (borrower.auto_debit, borrower.early_reminders) == (True, False)


def test_the_choices_need_a_post_and_a_signed_in_borrower(client, loan):
    url = reverse("portal:card_preferences")
    anonymous = client.post(url, {})
    assert anonymous.status_code == 302 and anonymous.url == reverse("portal:login")
    loan.borrower.refresh_from_db()
    assert loan.borrower.auto_debit and loan.borrower.early_reminders
    sign_in(client, loan.borrower)
    assert client.get(url).status_code == 405


def test_junk_in_the_choices_is_no_error(client, loan):
    sign_in(client, loan.borrower)
    response = client.post(
        reverse("portal:card_preferences"), {"auto_debit": "\x00", "early_reminders": "x" * 5000}
    )
    assert response.status_code == 302


# --- Language -------------------------------------------------------------------------------


def test_the_language_switch_is_kept_on_the_signed_in_borrower(client, loan):
    borrower = loan.borrower
    sign_in(client, borrower)
    response = client.post(reverse("portal:language"), {"language": "en", "next": "/cards/"})
    assert response.status_code == 302 and response.url == "/cards/"
    assert response.cookies[COOKIE].value == "en"
    borrower.refresh_from_db()
    assert borrower.language == "en"
    page = client.get(reverse("portal:bank_cards"))  # the cookie alone: no Accept-Language
    assert "My bank cards" in page.content.decode()
    client.post(reverse("portal:language"), {"language": "zh-hans", "next": "/cards/"})
    borrower.refresh_from_db()
    assert borrower.language == "zh-hans"
    assert 'lang="zh-hans"' in client.get(reverse("portal:bank_cards")).content.decode()


def test_a_visitor_gets_the_cookie_only(client):
    borrower = factories.borrower()
    response = client.post(reverse("portal:language"), {"language": "en", "next": "/calculator/"})
    assert response.url == "/calculator/" and response.cookies[COOKIE].value == "en"
    borrower.refresh_from_db()
    assert borrower.language == "zh-hans"


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/phish",
        "//evil.example/",
        "/\\evil.example",
        "/cards/\x00",
        "/cards/\r\nSet-Cookie: x=1",
        "javascript:alert(1)",
        "",
    ],
)
def test_the_switch_goes_back_only_to_this_site(client, next_url):
    response = client.post(reverse("portal:language"), {"language": "en", "next": next_url})
    assert response.status_code == 302 and response.url == "/"


def test_the_switch_falls_back_to_the_page_it_was_pressed_on(client):
    response = client.post(
        reverse("portal:language"), {"language": "en"}, HTTP_REFERER="http://testserver/login/"
    )
    assert response.url == "http://testserver/login/"


@pytest.mark.parametrize("language", ["fr", "zh", "EN", "en\x00", "", "x" * 5000])
def test_an_unknown_language_changes_nothing(client, loan, language):
    sign_in(client, loan.borrower)
    response = client.post(reverse("portal:language"), {"language": language, "next": "/cards/"})
    assert response.status_code == 302 and response.url == "/cards/"
    assert COOKIE not in response.cookies
    loan.borrower.refresh_from_db()
    assert loan.borrower.language == "zh-hans"


def test_the_switch_answers_only_a_post(client):
    assert client.get(reverse("portal:language"), {"language": "en"}).status_code == 405


@pytest.fixture
def log_in_by_code(django_capture_on_commit_callbacks, sms_outbox):
    """Sign in as a borrower does: the texted code, typed in."""

    def log_in(client, borrower, **extra):
        mobile = borrower.mobile
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("portal:login"), {"mobile": mobile, "send": "1"}, **extra)
        code = re.search(r"(\d{6})", sms_outbox[-1].text).group(1)
        return client.post(
            reverse("portal:login"), {"mobile": mobile, "code": code, "verify": "1"}, **extra
        )

    return log_in


def test_signing_in_switches_to_the_borrowers_language(client, log_in_by_code):
    borrower = factories.borrower(mobile="13912340001")
    Borrower.objects.filter(pk=borrower.pk).update(language="en")
    client.cookies[COOKIE] = "zh-hans"  # chosen on this phone before signing in
    response = log_in_by_code(client, borrower)
    assert response.status_code == 302 and response.cookies[COOKIE].value == "en"
    page = client.get(reverse("portal:bank_cards"))
    assert page.status_code == 200 and 'lang="en"' in page.content.decode()


def test_a_saved_chinese_wins_over_an_english_choice_on_this_phone(client, log_in_by_code):
    borrower = factories.borrower(mobile="13912340002")
    client.cookies[COOKIE] = "en"
    response = log_in_by_code(client, borrower)
    assert response.cookies[COOKIE].value == "zh-hans"
    assert 'lang="zh-hans"' in client.get(reverse("portal:bank_cards")).content.decode()


def test_a_never_chosen_default_leaves_the_browsers_language(client, log_in_by_code):
    borrower = factories.borrower(mobile="13912340003")
    response = log_in_by_code(client, borrower, HTTP_ACCEPT_LANGUAGE="en")
    assert COOKIE not in response.cookies
    page = client.get(reverse("portal:bank_cards"), HTTP_ACCEPT_LANGUAGE="en")
    assert 'lang="en"' in page.content.decode()
