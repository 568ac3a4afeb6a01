"""The borrower portal: apply, see the line or the reasons, ask for a review."""

import pytest
from django.urls import reverse

from loans.bureau import BureauReport, SandboxBureau
from loans.models import Borrower, CreditAssessment
from tests import factories

pytestmark = pytest.mark.django_db


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
        "mobile": factories.mobile(),
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


def test_an_eligible_applicant_sees_their_line_at_once(client, settings):
    settings.CREDIT_BUREAU_BACKEND = "tests.loans.test_portal.CleanBureau"
    response = client.post(reverse("portal:apply"), application(), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302 and response.url == reverse("portal:my_credit")
    page = client.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    borrower = Borrower.objects.get()
    line = borrower.credit_line
    assert f"¥{line.available_amount}" in page and "APR" in page
    assert borrower.consents.count() == 2 and borrower.credit_reports.get().source == "test"


def test_a_declined_applicant_is_told_why_and_can_ask_for_review_once(client, settings):
    settings.CREDIT_BUREAU_BACKEND = "tests.loans.test_portal.TroubledBureau"
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
        ({"mobile": "0755-12345678"}, "mobile"),
        ({"consent_credit": ""}, "consent_credit"),
        ({"monthly_income": "lots"}, "monthly_income"),
        ({"monthly_income": "1" * 40}, "monthly_income"),
        ({"monthly_debt_payments": "-5"}, "monthly_debt_payments"),
        ({"id_expiry_date": "2026-02-30"}, "id_expiry_date"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_input_is_shown_on_the_form_and_nothing_is_written(client, overrides, field):
    response = client.post(reverse("portal:apply"), application(**overrides))
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert Borrower.objects.count() == 0


def test_an_id_number_already_registered_is_refused_politely(client):
    existing = factories.borrower()
    response = client.post(reverse("portal:apply"), application(id_number=existing.id_number))
    assert response.status_code == 200 and response.context["form"].errors["id_number"]


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
