"""The borrower portal: apply, see the line or the reasons, ask for a review."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from loans import signals
from loans.bureau import BureauReport, SandboxBureau
from loans.models import Borrower, CreditAssessment
from loans.services.registration import not_verified_message
from tests import factories

# Codes go out after commit (and after the response): the tests need real commits.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_limits():
    """Rate-limit counters live in the cache: empty for every test."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def texted():
    """Every code the portal asked to text, newest last: (mobile, code, purpose)."""
    sent = []

    def on_login(sender, borrower, code, request_id, **kwargs):
        sent.append((borrower.mobile, code, "login"))

    def on_registration(sender, mobile, code, request_id, **kwargs):
        sent.append((mobile, code, "registration"))

    signals.login_code_requested.connect(on_login, dispatch_uid="test-texted-login")
    signals.registration_code_requested.connect(on_registration, dispatch_uid="test-texted-reg")
    yield sent
    signals.login_code_requested.disconnect(dispatch_uid="test-texted-login")
    signals.registration_code_requested.disconnect(dispatch_uid="test-texted-reg")


def send_code(client, mobile, **extra):
    return client.post(reverse("portal:apply"), {"mobile": mobile, "send": "1"}, **extra)


def prove_mobile(client, texted, mobile=None, **extra):
    """Steps 1 and 2 of registering: the texted code proves the mobile. Returns the answer."""
    mobile = mobile or factories.mobile()
    send_code(client, mobile, **extra)
    code = texted[-1][1]
    return client.post(
        reverse("portal:apply"), {"mobile": mobile, "code": code, "verify": "1"}, **extra
    )


class CleanBureau:
    source = "test"

    def pull(self, *, id_number):
        return BureauReport(0, 0, 1, 85)


class TroubledBureau(CleanBureau):
    def pull(self, *, id_number):
        return BureauReport(2, 60, 8, 85)


def application(**overrides):
    data = {
        "name": "孙悟空",
        "id_number": factories.id_number(),
        "monthly_income": "15000",
        "monthly_debt_payments": "1000",
        "employer": "花果山有限公司",
        "occupation": "经理",
        "consent_data": "on",
        "consent_credit": "on",
    }
    data.update(overrides)
    return data


def test_home_page_shows_the_apr_in_both_languages(client):
    zh = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert zh.status_code == 200 and "18.00%" in zh.content.decode()
    en = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Annual percentage rate" in en.content.decode()


def test_an_eligible_applicant_sees_their_line_at_once(client, settings, texted):
    settings.CREDIT_BUREAU_BACKEND = "tests.portal.test_portal.CleanBureau"
    prove_mobile(client, texted, "13912345678")
    response = client.post(reverse("portal:apply"), application(), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302 and response.url == reverse("portal:my_credit")
    page = client.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    borrower = Borrower.objects.get()
    line = borrower.credit_line
    assert f"¥{line.available_amount}" in page and "APR" in page
    assert borrower.consents.count() == 2 and borrower.credit_reports.get().source == "test"
    assert borrower.mobile == "13912345678"
    report, consent = borrower.credit_reports.get(), borrower.consents.first()
    assert consent.consented_at <= report.pulled_at  # consent recorded as given, before the pull


def test_a_declined_applicant_is_told_why_and_can_ask_for_review_once(client, settings, texted):
    settings.CREDIT_BUREAU_BACKEND = "tests.portal.test_portal.TroubledBureau"
    prove_mobile(client, texted)
    client.post(reverse("portal:apply"), application())
    page = client.get(reverse("portal:my_credit"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "We cannot offer you a credit line yet" in page
    assessment = CreditAssessment.objects.get()
    assert "no_current_overdue" in assessment.reasons
    client.post(reverse("portal:request_review"), {"note": "it was paid last week"})
    assessment.refresh_from_db()
    assert assessment.review_pending and assessment.review_request_note == "it was paid last week"
    page = client.get(reverse("portal:my_credit"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "You asked for a manual review" in page


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"id_number": "110101199001151230"}, "id_number"),
        ({"id_number": "11010119900115123\x00"}, "id_number"),
        ({"consent_credit": ""}, "consent_credit"),
        ({"monthly_income": "lots"}, "monthly_income"),
        ({"monthly_income": "1" * 40}, "monthly_income"),
        ({"monthly_debt_payments": "-5"}, "monthly_debt_payments"),
        ({"id_expiry_date": "2026-02-30"}, "id_expiry_date"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_input_is_shown_on_the_form_and_nothing_is_written(client, texted, overrides, field):
    prove_mobile(client, texted)
    response = client.post(reverse("portal:apply"), application(**overrides))
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert Borrower.objects.count() == 0


@pytest.mark.parametrize("mobile", ["0755-12345678", "12345", "1391234567\x00", "x" * 30])
def test_a_bad_mobile_is_shown_on_step_one_and_nothing_is_written(client, texted, mobile):
    response = send_code(client, mobile)
    assert response.status_code == 200
    assert response.context["code_form"].errors["mobile"]
    assert texted == [] and Borrower.objects.count() == 0


def test_an_id_number_already_registered_is_refused_politely(client, texted):
    existing = factories.borrower()
    prove_mobile(client, texted)
    response = client.post(reverse("portal:apply"), application(id_number=existing.id_number))
    form = response.context["form"]
    assert response.status_code == 200 and "id_number" not in form.errors
    assert form.non_field_errors() == [not_verified_message()]
    assert Borrower.objects.count() == 1


def test_the_credit_page_needs_the_applicant_s_own_session(client):
    factories.borrower()
    response = client.get(reverse("portal:my_credit"))
    assert response.status_code == 302 and response.url == reverse("portal:apply")
    assert client.post(reverse("portal:request_review")).status_code == 302


def test_the_sandbox_bureau_is_repeatable_and_mostly_clean():
    bureau = SandboxBureau()
    reports = [bureau.pull(id_number=factories.id_number()) for _ in range(400)]
    assert bureau.pull(id_number="110101199001151234") == bureau.pull(
        id_number="110101199001151234"
    )
    clean = sum(r.current_overdue_accounts == 0 for r in reports)
    assert 320 < clean < 395
    assert all(0 <= r.account_activity_score <= 100 for r in reports)


def test_the_portal_stylesheet_is_found_and_linked(client):
    from django.contrib.staticfiles import finders

    assert finders.find("portal/portal.css")
    assert "portal/portal.css" in client.get("/").content.decode()
