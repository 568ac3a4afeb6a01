"""Every portal form and URL under hostile input: a refusal is shown on the form (or the
page is a 404), never a 500, and a refused input writes nothing a borrower or the ledger
would see."""

from datetime import date

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from hypothesis import assume, given
from hypothesis import strategies as st

from debt_collection.models import Complaint, HardshipPlan
from loans import crypto
from loans.models import (
    BankCard,
    Borrower,
    CreditLine,
    DebitAttempt,
    LoanApplication,
    LoanTransaction,
    Repayment,
)
from loans.models.borrowers import mobile_index
from loans.models.payments import CardBinding
from loans.services import cards
from portal.session import BORROWER_SESSION_KEY, PROOF_SESSION_KEY
from tests import factories

from .strategies import (
    FUZZ,
    assert_no_500,
    counts,
    each_example,
    hostile_amount,
    hostile_date,
    hostile_form,
    hostile_id,
    hostile_text,
    hostile_value,
    mutated,
    shown_errors,
)

pytestmark = pytest.mark.django_db
DRAWN = date(2026, 1, 15)
TODAY = date(2026, 3, 1)  # the first instalment is two weeks overdue
LEDGER = (Repayment, LoanTransaction, DebitAttempt, LoanApplication)


@pytest.fixture
def clock():
    with time_machine.travel(timezone.make_aware(timezone.datetime(2026, 3, 1, 10)), tick=False):
        yield


@pytest.fixture
def borrowers(clock):
    """Two borrowers with a loan each; the first is signed in."""
    with time_machine.travel(DRAWN):
        mine = factories.loan(on=DRAWN)
        theirs = factories.loan(on=DRAWN)
    return mine, theirs


@pytest.fixture
def portal(borrowers):
    client = Client(raise_request_exception=False)
    session = client.session
    session[BORROWER_SESSION_KEY] = borrowers[0].borrower_id
    session.save()
    client.cookies["django_language"] = "en"
    return client


def refused(response, *, form_key="form") -> bool:
    """True when the form came back with its errors shown (the page, not a redirect)."""
    assert_no_500(response)
    if response.status_code in (200, 429) and response.context and form_key in response.context:
        form = response.context[form_key]
        if form is not None and form.is_bound and form.errors:
            shown_errors(response, form_key)
            return True
    return False


@FUZZ
@given(data=hostile_form(["mobile", "code"]), send=st.booleans())
def test_login(portal, data, send):
    portal.post("/logout/")
    with each_example():
        before = counts(Borrower)
        response = portal.post("/login/", {**data, **({"send": "1"} if send else {})})
        assert_no_500(response)
        assert response.status_code in (200, 429)  # no hostile value signs anyone in
        assert BORROWER_SESSION_KEY not in portal.session
        assert counts(Borrower) == before


@FUZZ
@given(data=hostile_form(["mobile", "code"]), send=st.booleans())
def test_apply_proving_the_mobile(db, data, send):
    client = Client(raise_request_exception=False)
    with each_example():
        response = client.post("/apply/", {**data, **({"send": "1"} if send else {})})
        assert_no_500(response)
        assert response.status_code in (200, 429)
        assert not Borrower.objects.exists()
        assert PROOF_SESSION_KEY not in client.session


APPLY_FIELDS = [
    "name",
    "id_number",
    "id_expiry_date",
    "employer",
    "occupation",
    "monthly_income",
    "monthly_debt_payments",
    "consent_data",
    "consent_credit",
]


@FUZZ
@given(
    data=st.one_of(
        mutated(
            {
                "name": "张三",
                "id_number": factories.id_number(),
                "monthly_income": "12000",
                "monthly_debt_payments": "0",
                "id_expiry_date": "2036-01-01",
                "consent_data": "on",
                "consent_credit": "on",
            },
            {"id_expiry_date": hostile_date, "monthly_income": hostile_amount},
        ),
        hostile_form(
            APPLY_FIELDS,
            id_number=st.one_of(hostile_value, st.builds(factories.id_number)),
            monthly_income=st.one_of(hostile_amount, st.just("12000")),
            consent_data=st.sampled_from(["on", "", "\x00"]),
            consent_credit=st.sampled_from(["on", "off"]),
        ),
    )
)
def test_apply_with_a_proven_mobile(db, clock, data):
    client = Client(raise_request_exception=False)
    mobile = factories.mobile()
    session = client.session
    session[PROOF_SESSION_KEY] = {
        "index": mobile_index(mobile),
        "mobile": crypto.encrypt(mobile),
        "at": timezone.now().isoformat(),
    }
    session.save()
    with each_example():
        response = client.post("/apply/", data)
        if refused(response):
            assert not Borrower.objects.exists() and not CreditLine.objects.exists()
        else:
            assert response.status_code in (302, 429), response.status_code


@FUZZ
@given(
    data=st.one_of(
        hostile_form(
            ["amount", "term", "method"],
            term=st.one_of(hostile_id, st.just("10")),
            method=st.one_of(hostile_text, st.just("equal_instalment")),
        ),
        mutated(
            {"amount": "1000", "term": "10", "method": "equal_instalment"},
            {"amount": hostile_amount, "term": hostile_id},
        ),
    ),
    confirm=st.booleans(),
)
def test_borrow(portal, data, confirm):
    with each_example():
        before = counts(*LEDGER)
        response = portal.post("/borrow/", {**data, **({"confirm": "1"} if confirm else {})})
        assert_no_500(response)
        if refused(response) or response.status_code == 200:
            assert counts(*LEDGER) == before


@FUZZ
@given(
    data=st.one_of(
        hostile_form(
            ["choice", "amount", "token"],
            choice=st.one_of(st.sampled_from(["bill", "amount", "settle"]), hostile_text),
            token=st.one_of(hostile_text, st.just("ab" * 16)),
        ),
        mutated(
            {"choice": "amount", "amount": "100.00", "token": "ab" * 16}, {"amount": hostile_amount}
        ),
    )
)
def test_repay(portal, borrowers, data):
    loan = borrowers[0]
    with each_example():
        before = counts(*LEDGER)
        response = portal.post(f"/loans/{loan.pk}/repay/", data)
        if refused(response):
            assert counts(*LEDGER) == before
        else:
            assert response.status_code in (200, 302)


@FUZZ
@given(
    data=st.one_of(
        hostile_form(
            ["card_number", "bank_name", "make_default", "next"],
            card_number=st.one_of(hostile_value, st.builds(factories.card_number)),
            bank_name=st.one_of(hostile_text, st.just("招商银行")),
        ),
        mutated(
            {
                "card_number": factories.card_number(),
                "bank_name": "招商银行",
                "make_default": "on",
                "next": "/borrow/",
            },
        ),
    )
)
def test_bind_card(portal, data):
    with each_example():
        before = counts(BankCard, CardBinding)
        response = portal.post("/cards/bind/", data)
        if refused(response):
            assert counts(BankCard, CardBinding) == before
        else:
            assert response.status_code == 302
            location = response.headers["Location"]
            assert location.startswith("/") and not location.startswith("//")


@pytest.fixture
def binding(borrowers):
    return cards.start_card_binding(
        borrower=borrowers[0].borrower,
        bank_name="招商银行",
        card_number=factories.card_number(),
        make_default=True,
        ip_address="127.0.0.1",
    )


@FUZZ
@given(data=hostile_form(["code", "next"]), action=st.sampled_from(["verify", "resend"]))
def test_card_code(portal, binding, data, action):
    with each_example():
        before = counts(BankCard)
        response = portal.post(f"/cards/bind/{binding.pk}/", {**data, action: "1"})
        if refused(response):
            assert counts(BankCard) == before
        else:
            assert response.status_code in (200, 302)
            assert counts(BankCard) == before  # no hostile code is the texted one


HARDSHIP_FIELDS = [
    "loan",
    "extension_days",
    "new_term",
    "waiver",
    "penalty_waiver",
    "stop_interest",
    "reason",
    "can_pay_monthly",
]


@FUZZ
@given(data=st.data())
def test_hardship_request(portal, borrowers, data):
    mine, theirs = borrowers
    valid = {
        "loan": str(mine.pk),
        "extension_days": "10",
        "waiver": "part",
        "penalty_waiver": "1.00",
        "reason": "失业了",
        "can_pay_monthly": "500",
    }
    typed = {
        "extension_days": hostile_id,
        "new_term": hostile_id,
        "penalty_waiver": hostile_amount,
        "can_pay_monthly": hostile_amount,
    }
    fields = data.draw(
        st.one_of(
            mutated(valid, typed),
            hostile_form(
                HARDSHIP_FIELDS,
                loan=st.one_of(st.sampled_from([str(mine.pk), str(theirs.pk)]), hostile_id),
                waiver=st.one_of(st.sampled_from(["", "all", "part"]), hostile_text),
                reason=st.one_of(hostile_text, st.just("失业了")),
                can_pay_monthly=st.one_of(hostile_amount, st.just("500")),
            ),
        )
    )
    with each_example():
        response = portal.post("/help/hardship/new/", fields)
        if refused(response):
            assert not HardshipPlan.objects.exists()
        else:
            assert response.status_code == 302
            assert not HardshipPlan.objects.filter(loan=theirs).exists()
        assert_no_500(portal.get("/help/hardship/new/", {"loan": fields.get("loan", "")}))


@FUZZ
@given(data=st.data())
def test_complaint(portal, borrowers, data):
    mine, theirs = borrowers
    fields = data.draw(
        st.one_of(
            mutated({"category": "conduct", "description": "催收电话太多", "loan": str(mine.pk)}),
            hostile_form(
                ["category", "description", "loan"],
                category=st.one_of(
                    st.sampled_from([c for c, _ in Complaint.Category.choices]), hostile_text
                ),
                loan=st.one_of(st.sampled_from([str(mine.pk), str(theirs.pk), ""]), hostile_id),
            ),
        )
    )
    with each_example():
        response = portal.post("/help/complaints/new/", fields)
        if refused(response):
            assert not Complaint.objects.exists()
        else:
            assert response.status_code == 302
            assert not Complaint.objects.exclude(borrower=mine.borrower).exists()


@FUZZ
@given(
    data=hostile_form(
        ["amount", "term", "method"],
        term=st.one_of(hostile_id, st.sampled_from(["3", "10", "12"])),
        method=st.one_of(hostile_text, st.just("interest_first")),
    ),
    signed_in=st.booleans(),
)
def test_calculator_and_quote(portal, data, signed_in):
    client = portal if signed_in else Client(raise_request_exception=False)
    with each_example():
        page = client.get("/calculator/", data)
        assert_no_500(page)
        assert page.status_code == 200
        quote = client.get("/quote/", data)
        assert_no_500(quote)
        if quote.status_code == 400:
            assert quote.json()["errors"]
            if data:
                assert page.context["form"].errors
        else:
            assert quote.status_code == 200 and quote.json()["instalments"]


@FUZZ
@given(
    language=st.one_of(st.sampled_from(["en", "zh-hans"]), hostile_text),
    next_url=st.one_of(
        hostile_text,
        st.sampled_from(
            ["//evil.example", "https://evil.example/", "/\\evil", "/loans/\x00", "/ok/"]
        ),
    ),
    referer=hostile_text,
)
def test_language_switch(portal, borrowers, language, next_url, referer):
    with each_example():
        response = portal.post(
            "/language/", {"language": language, "next": next_url}, headers={"Referer": referer}
        )
        assert_no_500(response)
        assert response.status_code == 302
        location = response.headers["Location"]
        assert url_has_allowed_host_and_scheme(location, allowed_hosts={"testserver"})
        assert location.isprintable()
        assert borrowers[0].borrower.__class__.objects.get(pk=borrowers[0].borrower_id).language


@FUZZ
@given(note=hostile_text, auto_debit=hostile_value, early=hostile_value)
def test_review_request_and_preferences(portal, note, auto_debit, early):
    with each_example():
        assert_no_500(portal.post("/credit/review/", {"note": note}))
        response = portal.post(
            "/cards/preferences/", {"auto_debit": auto_debit, "early_reminders": early}
        )
        assert_no_500(response)
        assert response.status_code == 302


PK_URLS = [
    "/loans/{}/",
    "/loans/{}/repay/",
    "/payments/{}/",
    "/cards/bind/{}/",
    "/help/hardship/{}/",
    "/help/complaints/{}/",
]
POST_PK_URLS = ["/draws/{}/cancel/", "/cards/{}/default/", "/cards/{}/remove/"]


@FUZZ
@given(
    pk=st.one_of(st.integers(0, 2**70), st.sampled_from([2**31, 2**63 - 1, 2**63])), data=st.data()
)
def test_ids_in_urls_are_a_404_unless_the_borrowers_own(portal, borrowers, pk, data):
    theirs = borrowers[1]
    # Another borrower's rows, by their real ids, or any number at all.
    other = data.draw(
        st.sampled_from(
            [
                pk,
                theirs.pk,
                theirs.application_id,
                BankCard.objects.filter(borrower=theirs.borrower).values_list("pk", flat=True)[0],
            ]
        )
    )
    mine = borrowers[0]
    own = {mine.pk, mine.application_id, *mine.borrower.bank_cards.values_list("pk", flat=True)}
    assume(other not in own)
    with each_example():
        before = counts(*LEDGER, BankCard)
        for url in PK_URLS:
            response = portal.get(url.format(other))
            assert_no_500(response)
            assert response.status_code == 404, url
        for url in POST_PK_URLS:
            response = portal.post(url.format(other))
            assert_no_500(response)
            assert response.status_code == 404, url
        for path in [f"/contracts/{theirs.contract.number}/", f"/contracts/{other}/download/"]:
            assert portal.get(path).status_code == 404
        assert counts(*LEDGER, BankCard) == before
