"""Every portal page, signed in with real objects: a plain-text <title> of its own; a signed-out
visitor is turned away; another borrower's loan, contract, draw, binding, card, payment,
hardship plan or complaint is a 404, and nothing of theirs changes.

The table below names every URL in `portal.urls`: a new page without an entry fails here."""

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from debt_collection.models import Complaint, HardshipPlan
from debt_collection.services import complaints, hardship
from loans.models import BankCard, DebitAttempt, LoanApplication
from loans.services import cards, lending
from portal import urls as portal_urls
from portal.session import BORROWER_SESSION_KEY
from tests import factories

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 10)
LANGUAGES = ["en", "zh-hans"]
NOT_FOUND = 404


@dataclass(frozen=True)
class Borrowed:
    """One borrower's things: a paid-out loan, a draw waiting for signature, a card binding
    waiting for its code, a card that is not the default, a payment from the portal, a
    hardship plan and a complaint."""

    borrower: object
    loan: object
    draw: LoanApplication
    binding: object
    spare_card: BankCard
    payment: DebitAttempt
    plan: HardshipPlan
    complaint: Complaint


@dataclass(frozen=True)
class Page:
    method: str  # "get": a page (or download) to fetch; "post": an action only
    anonymous: str | int  # what a signed-out visitor gets: "page", a URL name, or 404
    args: Callable[[Borrowed], list] | None = None  # the URL's arguments, from real objects
    download: bool = False  # an attachment, not a page with a <title>


PAGES = {
    "home": Page("get", "page"),
    "apply": Page("get", "page"),
    "login": Page("get", "page"),
    "logout": Page("post", "page"),
    "my_credit": Page("get", "portal:apply"),
    "request_review": Page("post", "portal:apply"),
    "borrow": Page("get", "portal:login"),
    "contract": Page("get", NOT_FOUND, lambda b: [b.draw.contract.number]),
    "contract_download": Page("get", NOT_FOUND, lambda b: [b.loan.contract.number], download=True),
    "loan": Page("get", "portal:login", lambda b: [b.loan.pk]),
    "cancel_draw": Page("post", "portal:login", lambda b: [b.draw.pk]),
    "bank_cards": Page("get", "portal:login"),
    "bind_card": Page("get", "portal:login"),
    "card_code": Page("get", "portal:login", lambda b: [b.binding.pk]),
    "make_default_card": Page("post", "portal:login", lambda b: [b.spare_card.pk]),
    "remove_card": Page("post", "portal:login", lambda b: [b.spare_card.pk]),
    "card_preferences": Page("post", "portal:login"),
    "language": Page("post", "page"),
    "calculator": Page("get", "page"),
    "quote": Page("get", "page", download=True),  # JSON, not a page
    "loans": Page("get", "portal:login"),
    "repay": Page("get", "portal:login"),
    "repay_loan": Page("get", "portal:login", lambda b: [b.loan.pk]),
    "payment": Page("get", "portal:login", lambda b: [b.payment.pk]),
    "help": Page("get", "portal:login"),
    "hardship_new": Page("get", "portal:login"),
    "hardship": Page("get", "portal:login", lambda b: [b.plan.pk]),
    "complaint_new": Page("get", "portal:login"),
    "complaint": Page("get", "portal:login", lambda b: [b.complaint.pk]),
    "messages": Page("get", "portal:login"),
    "collection_record": Page("get", "portal:login"),
    "written_only": Page("post", "portal:login"),
    "consents": Page("get", "portal:login"),
}
URL_NAMES = [pattern.name for pattern in portal_urls.urlpatterns]
PAGES_WITH_TITLES = [
    name for name, page in PAGES.items() if page.method == "get" and not page.download
]


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(DAY):
        yield


def borrowed(name: str) -> Borrowed:
    loan = factories.loan(on=DAY, borrower_obj=factories.borrower(name=name, income="50000"))
    borrower = loan.borrower
    draw = lending.apply_for_loan(
        borrower=borrower,
        product=loan.application.product,
        amount=Decimal("1000"),
        term=loan.term,
        method=loan.method,
    )
    assert draw.status == LoanApplication.Status.APPROVED  # its contract awaits a signature
    binding = cards.start_card_binding(
        borrower=borrower, bank_name="招商银行", card_number=factories.card_number()
    )
    spare = factories.bank_card(borrower, make_default=False)
    payment = DebitAttempt.objects.create(
        loan=loan,
        bank_card=cards.default_card(borrower=borrower),
        amount=Decimal("100.00"),
        slot=DebitAttempt.Slot.PORTAL,
        business_date=DAY,
        gateway_ref=f"PP-{loan.pk}-{'0' * 32}",
    )
    plan = hardship.propose_plan(
        loan=loan, extension_days=30, reason="lost my job", by_borrower=True
    )
    complaint = complaints.register_complaint(
        borrower=borrower,
        kind=Complaint.Kind.COMPLAINT,
        category=Complaint.Category.OTHER,
        description="the app is slow",
        source="portal",
    )
    return Borrowed(borrower, loan, draw, binding, spare, payment, plan, complaint)


@pytest.fixture
def mine():
    return borrowed("张三")


@pytest.fixture
def theirs():
    return borrowed("李四")


def sign_in(client, borrower):
    session = client.session
    session[BORROWER_SESSION_KEY] = borrower.pk
    session.save()


def url(name: str, owner: Borrowed) -> str:
    page = PAGES[name]
    return reverse(f"portal:{name}", args=page.args(owner) if page.args else None)


def title_of(response) -> str:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/html")
    titles = re.findall(r"<title>(.*?)</title>", response.content.decode(), flags=re.S)
    assert len(titles) == 1, titles
    return titles[0]


def assert_plain(raw: str) -> None:
    assert raw.strip(), "empty title"
    # One line of single-spaced words: no markup, no token, no template whitespace.
    assert "<" not in raw and ">" not in raw, raw
    assert "csrf" not in raw.lower(), raw
    assert re.fullmatch(r"\S+( \S+)*", raw), repr(raw)


def test_the_table_names_every_portal_url_and_nothing_else():
    assert sorted(PAGES) == sorted(URL_NAMES)
    for pattern in portal_urls.urlpatterns:
        # A URL that names an object must say how to build it from a borrower's own things.
        assert bool(pattern.pattern.converters) == (PAGES[pattern.name].args is not None), (
            pattern.name
        )


@pytest.mark.parametrize("name", URL_NAMES)
def test_every_url_has_an_entry(name):
    assert name in PAGES, f"portal:{name} is missing from this test's table"
    assert PAGES[name].method in {"get", "post"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_has_its_own_plain_title(client, mine, lang):
    sign_in(client, mine.borrower)
    titles = {}
    for name in PAGES_WITH_TITLES:
        raw = title_of(client.get(url(name, mine), HTTP_ACCEPT_LANGUAGE=lang))
        assert_plain(raw)
        titles[name] = html.unescape(raw)
    # Each page says what it is: none shares another's title (nor the site's own name).
    by_title = {}
    for name, title in titles.items():
        by_title.setdefault(title, []).append(name)
    assert [names for names in by_title.values() if len(names) > 1] == []
    assert titles["contract"] == mine.draw.contract.number


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_signed_out_pages_have_plain_titles_too(client, lang):
    for name, page in PAGES.items():
        if page.anonymous == "page" and page.method == "get" and not page.download:
            assert_plain(title_of(client.get(url(name, None), HTTP_ACCEPT_LANGUAGE=lang)))


def test_the_contract_download_is_the_signed_text(client, mine):
    sign_in(client, mine.borrower)
    response = client.get(url("contract_download", mine))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert response.content == mine.loan.contract.body.encode()


@pytest.mark.parametrize("name", [n for n, p in PAGES.items() if p.method == "post"])
def test_actions_answer_only_a_post(client, mine, name):
    sign_in(client, mine.borrower)
    assert client.get(url(name, mine)).status_code == 405


@pytest.mark.parametrize("name", [n for n, p in PAGES.items() if p.anonymous != "page"])
def test_a_signed_out_visitor_is_turned_away(client, mine, name):
    page = PAGES[name]
    response = getattr(client, page.method)(url(name, mine))
    if page.anonymous == NOT_FOUND:
        assert response.status_code == 404
    else:
        assert response.status_code == 302 and response.url == reverse(page.anonymous)
    mine.draw.refresh_from_db()
    assert mine.draw.status == LoanApplication.Status.APPROVED
    assert cards.default_card(borrower=mine.borrower) != mine.spare_card


@pytest.mark.parametrize("name", [n for n, p in PAGES.items() if p.args])
def test_another_borrowers_object_is_a_404(client, mine, theirs, name):
    sign_in(client, mine.borrower)
    page = PAGES[name]
    response = getattr(client, page.method)(url(name, theirs))
    assert response.status_code == 404
    # ... and nothing of theirs changed.
    theirs.draw.refresh_from_db()
    assert theirs.draw.status == LoanApplication.Status.APPROVED
    assert cards.default_card(borrower=theirs.borrower) != theirs.spare_card
    theirs.spare_card.refresh_from_db()
    assert theirs.spare_card.unbound_at is None
    assert DebitAttempt.objects.filter(loan=theirs.loan).count() == 1
