"""The back office against the security issue: masks that cannot be rebuilt, no ID number or
mobile in any URL, hostile input answered 400 (never 500), absurd manual postings refused,
refused reveals logged as one line, reveal links only for those who may use them."""

import logging
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import unquote

import pytest
import time_machine
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from django.utils import formats, translation

from loans import selectors
from loans.models import (
    Borrower,
    CreditAssessment,
    DebitAttempt,
    Loan,
    LoanTransaction,
    Repayment,
)
from loans.services import borrowers as borrower_services
from loans.services.repayments import post_repayment
from notifications.services import queue_sms
from tests import factories

pytestmark = pytest.mark.django_db
DAY = date(2026, 1, 15)
BIRTH = date(1992, 11, 3)
REGION = "310101"  # 上海市黄浦区
COLLECTOR = "催收员 Collector"
SUPERVISOR = "催收主管 Collection supervisor"
OPS = "贷款运营 Loan operations"
AUDITOR = "合规审计 Auditor"
SERVICE = "客服 Customer service"
RISK = "风控专员 Risk officer"
WITHOUT_REVEAL = [COLLECTOR, SUPERVISOR, OPS, AUDITOR]


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(DAY + timedelta(days=20)):
        yield


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def book():
    """One borrower, born 1992-11-03 in 310101, with a loan, a payment and an SMS: the first
    row of every list is about them."""
    with time_machine.travel(DAY):
        b = factories.borrower(income="50000", birth=BIRTH, region=REGION, mobile="13912345678")
        loan = factories.loan(on=DAY, borrower_obj=b)
    post_repayment(
        loan=loan, amount=Decimal("100"), channel="wechat_pay", external_id="WX-1", value_date=DAY
    )
    queue_sms(borrower=b, template="t", body="hello", purpose="service", dedupe_key="k-1")
    return {"borrower": b, "loan": loan}


def login(client, role=None):
    user = factories.staff(role, superuser=role is None)
    client.force_login(user)
    return user


def pages_of(user):
    """Every admin list and first change page the user may open, plus the borrower's own
    other pages (popup list, history, a reveal page)."""
    request = RequestFactory().get("/admin/")
    request.user = user
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        if model_admin.has_view_or_change_permission(request):
            yield reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
            obj = model_admin.get_queryset(request).first()  # one this user may open
            try:
                if obj is not None:
                    yield reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            except NoReverseMatch:  # a list with no page per row (the candidate lists)
                pass
    b = Borrower.objects.get()
    yield reverse("admin:loans_borrower_changelist") + "?_popup=1&_to_field=id"
    yield reverse("admin:loans_borrower_history", args=[b.pk])
    yield reverse("admin:loans_borrower_reveal", args=[b.pk, "id_number"])
    yield reverse("admin:loans_borrower_timeline", args=[b.pk])


def id_number_parts() -> list[str]:
    """The birth date as the ID number writes it and as each language's pages show it, and
    the region code: with the masked `310***********1234` they rebuild the whole number."""
    forms = {BIRTH.isoformat(), BIRTH.strftime("%Y%m%d"), REGION}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for fmt in ("DATE_FORMAT", "SHORT_DATE_FORMAT"):
                forms.add(formats.date_format(BIRTH, fmt))
    return sorted(forms)


# --- (4) Masking cannot be undone by what stands beside it ----------------------------------


@pytest.mark.parametrize("role", WITHOUT_REVEAL)
def test_without_the_reveal_permission_no_page_shows_birth_date_or_region(client, book, role):
    user = login(client, role)
    b = book["borrower"]
    seen = 0
    for url in pages_of(user):
        response = client.get(url)
        # A collector with no case for the borrower: their timeline is not there to see.
        assert response.status_code in (200, 403, 404 if "timeline" in url else 200), url
        page = response.content.decode()
        for part in id_number_parts():
            assert part not in page, (url, part)
        assert b.id_number not in page
        seen += response.status_code == 200
    assert seen >= 4
    change = client.get(reverse("admin:loans_borrower_change", args=[b.pk])).content.decode()
    assert b.masked_id_number in change
    # Age and province instead (neither tells more than the mask already shows).
    assert "field-age" in change and "field-province" in change and "上海市" in change
    assert "field-birth_date" not in change and "field-region_code" not in change


@pytest.mark.parametrize("role", [SERVICE, RISK])
def test_with_the_reveal_permission_the_birth_date_and_region_are_shown(client, book, role):
    login(client, role)
    b = book["borrower"]
    change = client.get(reverse("admin:loans_borrower_change", args=[b.pk])).content.decode()
    assert REGION in change
    assert any(part in change for part in id_number_parts() if part != REGION)
    assert b.id_number not in change  # the full number still needs a logged reveal


def test_the_borrower_list_cannot_be_filtered_by_birth_date_or_region_without_permission(
    client, book
):
    b = book["borrower"]
    url = reverse("admin:loans_borrower_changelist")
    probes = [
        {"birth_date": BIRTH.isoformat()},
        {"birth_date__year": "1992", "id": b.pk},
        {"region_code__startswith": "3101"},
    ]
    login(client, COLLECTOR)
    for params in probes:
        assert client.get(url, params).status_code == 400, params
    login(client, SERVICE)
    for params in probes:
        response = client.get(url, params)
        assert list(response.context["cl"].result_list) == [b], params


# --- (5) No full ID number or mobile in any URL -------------------------------------------


def borrower_lists(b):
    """(list URL name, rows that belong to borrower b) for every list searched by borrower."""
    return [
        ("loans_borrower", [b]),
        ("loans_loan", list(b.loans.all())),
        ("loans_loanapplication", list(b.applications.all())),
        ("loans_creditassessment", list(CreditAssessment.objects.filter(borrower=b))),
        ("loans_creditline", [b.credit_line]),
        ("loans_loantransaction", list(LoanTransaction.objects.filter(loan__borrower=b))),
        ("loans_bankcard", list(b.bank_cards.all())),
        ("loans_debitattempt", list(DebitAttempt.objects.filter(loan__borrower=b))),
        ("notifications_smsmessage", list(b.sms_messages.all())),
    ]


def assert_never_in_url_or_page(response, *values):
    for past in getattr(response, "redirect_chain", []):
        for value in values:
            assert value not in unquote(past[0]), past[0]
    page = response.content.decode()
    for value in values:
        assert value not in page and value not in unquote(page)


@pytest.mark.parametrize("spelling", ["id_number", "mobile", "spaced_mobile"])
def test_search_by_id_number_or_mobile_finds_the_borrower_without_a_url_holding_it(
    client, book, spelling
):
    b = book["borrower"]
    with time_machine.travel(DAY):
        factories.loan(on=DAY)  # rows of someone else, not to be found
    term = {
        "id_number": b.id_number,
        "mobile": b.mobile,
        "spaced_mobile": f"+86 {b.mobile[:3]} {b.mobile[3:7]} {b.mobile[7:]}",
    }[spelling]
    login(client)
    lists = borrower_lists(b)
    assert lists[-1][1], "the SMS list has a row to find"
    for name, expected in lists:
        if name == "notifications_smsmessage" and spelling == "id_number":
            expected = []  # the outbox is searched by phone only
        listing = client.get(reverse(f"admin:{name}_changelist"))
        search_url = reverse(f"admin:{name}_search")
        assert f'method="post" action="{search_url}"' in listing.content.decode(), name

        posted = client.post(search_url, {"q": term})
        assert posted.status_code == 302
        assert "bi=" in posted["Location"] and b.mobile not in unquote(posted["Location"])
        assert b.id_number not in unquote(posted["Location"])
        found = client.get(posted["Location"])
        assert sorted(r.pk for r in found.context["cl"].result_list) == sorted(
            r.pk for r in expected
        ), name
        assert_never_in_url_or_page(found, b.id_number, b.mobile)

        # A hand-made or bookmarked GET is moved out of the address bar the same way.
        typed = client.get(reverse(f"admin:{name}_changelist"), {"q": term}, follow=True)
        assert typed.redirect_chain and "bi=" in typed.redirect_chain[-1][0]
        assert list(typed.context["cl"].result_list) == list(found.context["cl"].result_list)
        assert_never_in_url_or_page(typed, b.id_number, b.mobile)


@pytest.mark.parametrize(
    "term",
    [
        "310101199211030476",  # valid
        "310101199211030477",  # wrong check digit
        "31010119921103047",  # the last character left off
        "310101921103047",  # old 15-digit form
        "13912345678",
        "+86 139-1234-5678",
        "１３９１２３４５６７８",  # typed on a Chinese keyboard
        "10012345678",  # no mobile range, but a mobile's shape
    ],
)
def test_id_numbers_and_mobiles_and_their_near_misses_never_stay_in_the_address(client, term):
    login(client)
    response = client.get(reverse("admin:loans_loan_changelist"), {"q": term})
    assert response.status_code == 302
    location = unquote(response["Location"])
    assert "bi=" in location and "q=" not in location
    assert term not in location and term.replace(" ", "") not in location


@pytest.mark.parametrize("term", ["DA-20260115-0001", "WX-1", "HT2026011500001", "张三", "1234"])
def test_other_terms_stay_a_plain_search(client, term):
    login(client)
    response = client.get(reverse("admin:loans_loan_changelist"), {"q": term})
    assert response.status_code == 200


def test_the_search_keeps_the_lists_filters_and_other_searches_stay_as_they_were(client, book):
    b, loan = book["borrower"], book["loan"]
    login(client)
    url = reverse("admin:loans_loan_changelist")
    posted = client.post(
        reverse("admin:loans_loan_search"), {"q": b.id_number, "status__exact": "active"}
    )
    assert "status__exact=active" in posted["Location"]
    found = client.get(posted["Location"])
    assert list(found.context["cl"].result_list) == [loan]
    page = found.content.decode()
    assert 'id="person-search"' in page  # says the list is searched, without the number
    settled = client.get(posted["Location"].replace("active", "settled"))
    assert list(settled.context["cl"].result_list) == []

    # Transaction ids and contract numbers are no personal data: they stay in `q`.
    repayments = reverse("admin:loans_repayment_search")
    plain = client.post(repayments, {"q": "WX-1"}, follow=True)
    assert plain.redirect_chain[-1][0].endswith("?q=WX-1")
    assert [r.external_id for r in plain.context["cl"].result_list] == ["WX-1"]
    # ... but a mobile typed into a list that holds none finds nothing, and stays hidden.
    wrong_box = client.post(repayments, {"q": b.mobile}, follow=True)
    assert list(wrong_box.context["cl"].result_list) == []
    assert_never_in_url_or_page(wrong_box, b.mobile)
    assert client.get(url).status_code == 200


def test_the_search_needs_a_post_and_the_permission_to_see_the_list(client, book):
    login(client, COLLECTOR)
    assert client.get(reverse("admin:loans_borrower_search")).status_code == 405
    assert client.post(reverse("admin:loans_repayment_search"), {"q": "x"}).status_code == 302
    assert client.post(reverse("admin:loans_contract_search"), {"q": "x"}).status_code == 403


# --- (7) Hostile input: 400 or a form error, never a 500 -----------------------------------

HOSTILE_QUERIES = [
    ("loans_loan", {"status": "\x00"}),
    ("loans_loan", {"status__exact": "\x00"}),
    ("loans_loan", {"bucket": "\x00"}),
    ("loans_loan", {"q": "\x00"}),
    ("loans_loan", {"o": "\x00"}),
    ("loans_loan", {"\x00": "1"}),
    ("loans_borrower", {"sex__exact": "\x00"}),
    ("loans_borrower", {"_popup": "1", "_to_field": "\x00"}),
    ("loans_creditassessment", {"as_of__year": "\x00"}),
    ("loans_creditassessment", {"as_of__year": "9999"}),
    ("loans_creditassessment", {"as_of__year": "9999", "as_of__month": "12"}),
    ("loans_creditassessment", {"as_of__year": "99999999999999999999999"}),
    ("loans_creditassessment", {"as_of__year": "2026", "as_of__month": "13"}),
    ("loans_piiaccesslog", {"at__year": "9999", "at__month": "12", "at__day": "31"}),
    ("notifications_smsmessage", {"status": "\x00"}),
    ("notifications_smsmessage", {"created_at__year": "9999"}),
]


@pytest.mark.parametrize(("name", "params"), HOSTILE_QUERIES)
def test_hostile_list_parameters_answer_400(client, book, name, params):
    login(client)
    client.raise_request_exception = False
    response = client.get(reverse(f"admin:{name}_changelist"), params)
    assert response.status_code == 400, response.status_code


def test_a_nul_byte_in_any_list_filter_of_any_admin_list_answers_400(client, book):
    """Every list, the task lists of django-q and the login logs included."""
    login(client)
    client.raise_request_exception = False
    checked = 0
    for model, model_admin in admin.site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for list_filter in model_admin.list_filter:
            name = getattr(list_filter, "parameter_name", list_filter)
            for param in (name, f"{name}__exact", f"{name}__gte"):
                response = client.get(url, {param: "\x00"})
                assert response.status_code == 400, (url, param, response.status_code)
                checked += 1
    assert checked > 50


def test_hostile_raw_id_selections_and_prefills_answer_400(client, book):
    login(client)
    client.raise_request_exception = False
    url = reverse("admin:loans_borrower_changelist")
    for selected in ["abc", "\x00"]:
        response = client.post(url, {"action": "delete_selected", "_selected_action": [selected]})
        assert response.status_code == 400, selected
    add = reverse("admin:loans_creditreport_add")
    assert client.get(add, {"borrower": "\x00"}).status_code == 400
    assert client.get(add, {"borrower": "abc"}).status_code == 200
    search = reverse("admin:loans_borrower_search")
    assert client.post(search, {"q": "\x00"}).status_code == 400


ADD_BORROWER = {
    "name": "钱七",
    "mobile": "13987654321",
    "monthly_income": "9000",
    "monthly_debt_payments": "500",
    "civil_capacity": "full",
    "consents": ["data_processing", "credit_query"],
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("monthly_income", "-0.01"),
        ("monthly_debt_payments", "-1"),
        ("account_activity_score", "101"),
        ("account_activity_score", "-1"),
        ("monthly_income", "\x00"),
        ("employer", "Acme\x00"),
        ("civil_capacity", "\x00"),
    ],
)
def test_adding_a_borrower_with_out_of_range_values_shows_a_form_error(client, field, value):
    login(client, OPS)
    client.raise_request_exception = False
    data = {**ADD_BORROWER, "id_number": factories.id_number(), field: value}
    response = client.post(reverse("admin:loans_borrower_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field]
    assert not Borrower.objects.exists()


def test_a_refusal_by_the_registration_service_is_shown_on_the_form(client, monkeypatch):
    """Whatever the service refuses after the form said yes (a number registered a moment
    earlier by a colleague) comes back on the form, with what was typed."""
    login(client, OPS)
    id_number = factories.id_number()

    def refuse(**kwargs):
        raise ValidationError({"id_number": "already registered a moment ago"})

    monkeypatch.setattr(borrower_services, "register_borrower", refuse)
    response = client.post(
        reverse("admin:loans_borrower_add"), {**ADD_BORROWER, "id_number": id_number}
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["id_number"] == ["already registered a moment ago"]
    assert 'value="9000"' in response.content.decode()
    assert not Borrower.objects.exists()


def test_a_good_borrower_is_still_added(client):
    login(client, OPS)
    response = client.post(
        reverse("admin:loans_borrower_add"),
        {**ADD_BORROWER, "id_number": factories.id_number(), "account_activity_score": "100"},
    )
    assert response.status_code == 302
    assert Borrower.objects.get().account_activity_score == 100


# --- (8) A manual posting cannot exceed what the loan owes (plus a small margin) -----------


def test_a_staff_posting_above_the_payoff_plus_margin_is_refused_saying_what_is_owed(settings):
    settings.MANUAL_POSTING_MARGIN = Decimal("100.00")
    loan = factories.loan(on=DAY)
    on = DAY + timedelta(days=20)
    owed = selectors.payoff_amount(loan=loan, on=on)
    staff = factories.staff(OPS)
    with pytest.raises(ValidationError) as refused:
        post_repayment(
            loan=loan,
            amount=owed + Decimal("100.01"),
            channel="counter",
            external_id="C-1",
            value_date=on,
            actor=staff,
        )
    assert f"¥{owed:.2f}" in refused.value.message_dict["amount"][0]
    assert not Repayment.objects.exists()

    at_margin, _ = post_repayment(
        loan=loan,
        amount=owed + Decimal("100.00"),
        channel="counter",
        external_id="C-2",
        value_date=on,
        actor=staff,
    )
    assert at_margin.settled_loan and at_margin.unapplied == Decimal("100.00")


def test_the_margin_is_a_setting(settings):
    settings.MANUAL_POSTING_MARGIN = Decimal("0.00")
    loan = factories.loan(on=DAY)
    on = DAY + timedelta(days=20)
    owed = selectors.payoff_amount(loan=loan, on=on)
    with pytest.raises(ValidationError):
        post_repayment(
            loan=loan,
            amount=owed + Decimal("0.01"),
            channel="counter",
            external_id="C-1",
            value_date=on,
            actor=factories.staff(OPS),
        )


def test_money_the_gateway_received_is_always_booked_the_excess_to_refund():
    loan = factories.loan(on=DAY)
    on = DAY + timedelta(days=20)
    owed = selectors.payoff_amount(loan=loan, on=on)
    received, _ = post_repayment(
        loan=loan,
        amount=Decimal("99999999999.99"),
        channel="auto_debit",
        external_id="DA-1",
        value_date=on,
    )
    assert received.settled_loan
    assert received.unapplied == Decimal("99999999999.99") - owed


def test_the_post_a_payment_form_keeps_an_absurd_amount_and_says_what_is_owed(client):
    loan = factories.loan(on=DAY)
    on = DAY + timedelta(days=20)
    owed = selectors.payoff_amount(loan=loan, on=on)
    login(client, OPS)
    response = client.post(
        reverse("admin:loans_loan_changelist"),
        {
            "action": "post_payment",
            "_selected_action": [loan.pk],
            "apply": "1",
            "amount": "99999999999.99",
            "channel": "counter",
            "external_id": "C-9",
            "value_date": on.isoformat(),
        },
    )
    assert response.status_code == 200
    error = " ".join(response.context["form"].errors["amount"])
    assert f"¥{owed:.2f}" in error
    assert 'value="99999999999.99"' in response.content.decode()
    assert not Repayment.objects.exists()
    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE


# --- (10c, 10d) Reveal: links only for those who may, refusals logged once -----------------


def test_a_refused_reveal_is_one_log_line_without_traceback(client, book, caplog):
    b = book["borrower"]
    login(client, COLLECTOR)
    url = reverse("admin:loans_borrower_reveal", args=[b.pk, "id_number"])
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = client.get(url)
    assert response.status_code == 403
    assert "permission" in response.content.decode()
    assert b.id_number not in response.content.decode()
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].exc_info is None and records[0].exc_text is None
    assert "id_number" in records[0].getMessage() and b.id_number not in records[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)


def test_an_unknown_field_cannot_be_revealed(client, book):
    login(client, SERVICE)
    url = reverse("admin:loans_borrower_reveal", args=[book["borrower"].pk, "monthly_income"])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("role", WITHOUT_REVEAL)
def test_reveal_links_are_not_shown_without_the_permission(client, book, role):
    b = book["borrower"]
    login(client, role)
    page = client.get(reverse("admin:loans_borrower_change", args=[b.pk])).content.decode()
    assert "/reveal/" not in page and "Reveal (logged)" not in page


@pytest.mark.parametrize("role", [SERVICE, RISK])
def test_reveal_links_are_shown_with_the_permission(client, book, role):
    b = book["borrower"]
    login(client, role)
    page = client.get(reverse("admin:loans_borrower_change", args=[b.pk])).content.decode()
    for field in ("name", "id_number", "mobile"):
        assert reverse("admin:loans_borrower_reveal", args=[b.pk, field]) in page
