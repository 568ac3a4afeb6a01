"""The public loan calculator and /quote/: the DESIGN §4 worked example to the fen, the rate a
quote uses (the product's, the band's, the signed-in borrower's), bad input answered with
form errors or a 400, never a 500, and the live-quote script served under the CSP."""

import re
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from loans.models import CreditLine, LoanProduct
from loans.services import credit
from portal.session import BORROWER_SESSION_KEY
from tests import factories

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 10)
EXAMPLE = {"amount": "10000", "term": "10", "method": "equal_instalment"}


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(DAY):
        yield


@pytest.fixture
def product():
    return factories.product(
        terms=[5, 10, 20], methods=["equal_instalment", "equal_principal"], max_daily_rate="0.0005"
    )


def quote(client, **params):
    return client.get(reverse("portal:quote"), params, HTTP_ACCEPT_LANGUAGE="en")


def sign_in(client, borrower):
    session = client.session
    session[BORROWER_SESSION_KEY] = borrower.pk
    session.save()


def test_the_worked_example_to_the_fen(client, product):
    response = quote(client, **EXAMPLE)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    data = response.json()
    assert data["apr"] == "18.00" and data["daily_rate"] == "0.05"
    assert data["total_interest"] == "843.41" and data["total"] == "10843.41"
    payments = [i["payment"] for i in data["instalments"]]
    assert payments == ["1084.34"] * 9 + ["1084.35"]
    assert [i["interest"] for i in data["instalments"][:3]] == ["150.00", "135.98", "121.76"]
    assert sum(Decimal(i["principal"]) for i in data["instalments"]) == Decimal("10000.00")
    # Drawn today (10 March): due on the 10th of each following month.
    assert data["instalments"][0]["due_date"] == "2026-04-10"
    assert data["instalments"][-1]["due_date"] == "2027-01-10"
    assert data["text"]["apr"] == "APR 18.00%"
    assert data["rows"][0] == ["1", "2026-04-10", "¥934.34", "¥150.00", "¥1084.34"]


def test_the_calculator_page_shows_the_same_figures_without_javascript(client, product):
    page = client.get(reverse("portal:calculator"), EXAMPLE, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    body = page.content.decode()
    assert "APR 18.00%" in body and "Daily rate 0.05%" in body
    assert "Total interest ¥843.41 · total to repay ¥10843.41" in body
    assert body.count("<td>¥1084.34</td>") == 9 and body.count("<td>¥1084.35</td>") == 1
    # The APR comes before, and is more prominent than, the daily rate.
    assert body.index('class="apr"') < body.index("Daily rate 0.05%")
    zh = client.get(reverse("portal:calculator"), EXAMPLE, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "年化利率（APR）18.00%" in zh.content.decode()


def test_the_calculator_opens_with_the_example_and_needs_no_sign_in(client, product):
    page = client.get(reverse("portal:calculator"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert page.context["form"]["amount"].value() == "10000"
    assert "APR 18.00%" in page.content.decode()


def test_the_terms_and_methods_are_the_products(client, product):
    page = client.get(reverse("portal:calculator"), HTTP_ACCEPT_LANGUAGE="en")
    form = page.context["form"]
    assert [c[0] for c in form.fields["term"].choices] == [5, 10, 20]
    assert [c[0] for c in form.fields["method"].choices] == ["equal_instalment", "equal_principal"]
    response = quote(client, amount="10000", term="20", method="interest_first")
    assert response.status_code == 400 and "method" in response.json()["errors"]


def test_equal_principal_is_quoted_too(client, product):
    data = quote(client, amount="10000", term="5", method="equal_principal").json()
    assert [i["principal"] for i in data["instalments"]] == ["2000.00"] * 5
    assert data["instalments"][0]["interest"] == "150.00"  # 10,000 × 0.05 % × 30
    assert data["instalments"][-1]["interest"] == "30.00"  # 2,000 × 1.5 %


def test_without_a_product_the_bands_highest_rate_and_the_default_terms(client):
    LoanProduct.objects.update(is_active=False)
    data = quote(client, **EXAMPLE).json()
    assert data["apr"] == "18.00" and data["daily_rate"] == "0.05"
    assert quote(client, amount="10000", term="7", method="equal_instalment").status_code == 400


def test_the_products_own_highest_rate(client):
    factories.product(terms=[10], max_daily_rate="0.0003")
    data = quote(client, **EXAMPLE).json()
    assert data["daily_rate"] == "0.03"
    assert data["instalments"][0]["interest"] == "90.00"  # 10,000 × 0.9 %


def test_a_signed_in_borrower_is_quoted_at_their_draw_rate(client, product):
    borrower = factories.borrower(income="50000")
    credit.assess_credit(borrower=borrower, as_of=DAY)
    CreditLine.objects.filter(borrower=borrower).update(daily_rate=Decimal("0.000350"))
    sign_in(client, borrower)
    data = quote(client, **EXAMPLE).json()
    assert data["daily_rate"] == "0.035"
    assert data["instalments"][0]["interest"] == "105.00"  # 10,000 × 0.035 % × 30
    assert data["text"]["basis"] == "At the daily rate of your credit line."
    # A frozen line: the product's price again.
    CreditLine.objects.filter(borrower=borrower).update(status=CreditLine.Status.FROZEN)
    assert quote(client, **EXAMPLE).json()["daily_rate"] == "0.05"


def test_the_upfront_fee_is_in_the_apr(client):
    factories.product(terms=[10], upfront_fee_percent="1.00", max_daily_rate="0.0004")
    data = quote(client, **EXAMPLE).json()
    assert data["fee"] == "100.00"
    assert Decimal(data["apr"]) > Decimal("14.40")  # 0.04 % × 360 without the fee
    assert "Upfront fee ¥100.00" in data["text"]["fee"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"amount": "10000\x00"}, "amount"),
        ({"amount": "\x00"}, "amount"),
        ({"amount": "ten thousand"}, "amount"),
        ({"amount": "1e999999"}, "amount"),
        ({"amount": "9" * 400}, "amount"),
        ({"amount": "99999999999"}, "amount"),
        ({"amount": "-10000"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "10000.123456"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "Infinity"}, "amount"),
        ({"amount": "150"}, "amount"),  # not a multiple of ¥100
        ({"amount": "300000"}, "amount"),  # above the product's largest draw
        ({"amount": ""}, "amount"),
        ({"term": "7"}, "term"),
        ({"term": "0"}, "term"),
        ({"term": "-10"}, "term"),
        ({"term": "10\x00"}, "term"),
        ({"term": "99999999999999999999"}, "term"),
        ({"method": "bogus"}, "method"),
        ({"method": "equal_instalment\x00"}, "method"),
    ],
)
def test_bad_input_is_a_400_with_the_reason_never_a_500(client, product, params, field):
    response = quote(client, **{**EXAMPLE, **params})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert field in errors and all(isinstance(m, str) and m for m in errors[field])
    page = client.get(reverse("portal:calculator"), {**EXAMPLE, **params})
    assert page.status_code == 200 and page.context["form"].errors[field]
    assert page.context["quote"] is None


def test_missing_fields_and_a_post_are_refused(client, product):
    assert quote(client).status_code == 400
    assert set(quote(client).json()["errors"]) == {"amount", "term", "method"}
    assert client.post(reverse("portal:quote"), EXAMPLE).status_code == 405


def test_amounts_as_people_type_them(client, product):
    data = quote(client, **{**EXAMPLE, "amount": "10,000"}).json()
    assert data["amount"] == "10000.00" and data["total_interest"] == "843.41"


def test_the_live_quote_script_is_a_static_file_allowed_by_the_csp(client, product, settings):
    page = client.get(reverse("portal:calculator"), HTTP_ACCEPT_LANGUAGE="en")
    body = page.content.decode()
    assert re.search(r'<script src="[^"]*portal/quote\.js" defer></script>', body)
    assert not re.search(r"<script(?![^>]*\bsrc=)", body)  # no inline script
    assert 'data-quote-url="/quote/"' in body
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    script = (settings.BASE_DIR / "static" / "portal" / "quote.js").read_text()
    assert "innerHTML" not in script and "eval(" not in script
    assert "textContent" in script


def test_the_borrow_page_carries_the_live_quote(client, product):
    borrower = factories.borrower(income="50000")
    credit.assess_credit(borrower=borrower, as_of=DAY)
    CreditLine.objects.filter(borrower=borrower).update(daily_rate=Decimal("0.000500"))
    sign_in(client, borrower)
    page = client.get(reverse("portal:borrow"), HTTP_ACCEPT_LANGUAGE="en")
    body = page.content.decode()
    assert page.status_code == 200
    assert "portal/quote.js" in body and "data-quote-summary" in body and "data-quote-rows" in body
    # Without JavaScript, "show the plan" still renders it on the server.
    shown = client.post(
        reverse("portal:borrow"), {**EXAMPLE, "quote": "1"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert shown.status_code == 200
    assert "First payment ¥1084.34 on 2026-04-10" in shown.content.decode()
