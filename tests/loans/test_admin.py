"""The back office as staff see it: every page renders, PII stays masked, actions work."""

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from loans.models import Borrower, CreditAssessment, CreditLine, PiiAccessLog
from loans.services import credit as credit_services
from tests import factories

pytestmark = pytest.mark.django_db
ROLES = [
    "风控专员 Risk officer",
    "贷款运营 Loan operations",
    "客服 Customer service",
    "催收员 Collector",
    "催收主管 Collection supervisor",
    "合规审计 Auditor",
]


@pytest.fixture
def demo(db):
    call_command("load_demo_data", "--force", stdout=open("/dev/null", "w"))


def admin_pages(user):
    """Each registered model's list, add page and the first change page the user may see."""
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        if model_admin.has_view_or_change_permission(_request(user)):
            yield reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
            obj = model_admin.get_queryset(_request(user)).first()  # one this user may see
            try:
                if obj is not None:
                    yield reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            except NoReverseMatch:  # a list with no page per row (the candidate lists)
                pass
        if model_admin.has_add_permission(_request(user)):
            yield reverse(f"admin:{meta.app_label}_{meta.model_name}_add")


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.mark.parametrize("role", [None, *ROLES])
def test_every_admin_page_renders_for_each_staff_role(client, demo, role):
    user = factories.staff(role, superuser=role is None)
    client.force_login(user)
    assert client.get(reverse("admin:index"), follow=True).status_code == 200
    pages = list(admin_pages(user))
    assert pages, "every role sees at least one page"
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url


def test_collectors_cannot_open_the_pii_access_log(client, demo):
    client.force_login(factories.staff("催收员 Collector"))
    assert client.get(reverse("admin:loans_piiaccesslog_changelist")).status_code == 403


def test_borrower_list_is_masked_and_searchable_by_mobile_and_id(client, demo):
    client.force_login(factories.staff(superuser=True))
    url = reverse("admin:loans_borrower_changelist")
    page = client.get(url).content.decode()
    for b in Borrower.objects.all():
        assert b.mobile not in page and b.id_number not in page
        assert b.masked_mobile in page
    target = Borrower.objects.order_by("id")[3]
    for term in (target.mobile, target.id_number, f"+86 {target.mobile[:3]} {target.mobile[3:]}"):
        response = client.post(reverse("admin:loans_borrower_search"), {"q": term}, follow=True)
        assert list(response.context["cl"].result_list) == [target]


def test_borrower_list_queries_do_not_grow_with_rows(client, demo):
    client.force_login(factories.staff(superuser=True))
    url = reverse("admin:loans_borrower_changelist")
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(15):
        credit_services.assess_credit(borrower=factories.borrower())
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


def test_staff_add_a_borrower_and_bad_input_shows_a_message_not_an_error(client, demo):
    client.force_login(factories.staff("贷款运营 Loan operations"))
    url = reverse("admin:loans_borrower_add")
    data = {
        "name": "钱七",
        "id_number": factories.id_number(),
        "mobile": "13987654321",
        "monthly_income": "9000",
        "monthly_debt_payments": "500",
        "civil_capacity": "full",
        "consents": ["data_processing", "credit_query"],
    }
    bad = client.post(url, {**data, "id_number": "123"})
    assert bad.status_code == 200 and bad.context["adminform"].form.errors["id_number"]
    assert not Borrower.objects.filter(employer="nope").exists()
    response = client.post(url, data)
    assert response.status_code == 302
    created = Borrower.objects.order_by("-id").first()
    assert created.name == "钱七" and created.consents.count() == 2


def test_reveal_shows_the_value_only_with_a_reason_and_logs_it(client, demo):
    b = Borrower.objects.first()
    url = reverse("admin:loans_borrower_reveal", args=[b.pk, "id_number"])
    client.force_login(factories.staff("催收员 Collector"))
    assert client.get(url).status_code == 403
    client.force_login(factories.staff("客服 Customer service"))
    assert b.id_number not in client.get(url).content.decode()
    response = client.post(url, {"reason": "borrower called to verify"})
    assert b.id_number in response.content.decode()
    assert PiiAccessLog.objects.filter(borrower=b, field="id_number").count() == 1


def test_freeze_action_asks_for_a_reason_then_freezes(client, demo):
    client.force_login(factories.staff("贷款运营 Loan operations"))
    line = CreditLine.objects.filter(status="active").first()
    url = reverse("admin:loans_creditline_changelist")
    form = client.post(url, {"action": "freeze", "_selected_action": [line.pk]})
    assert form.status_code == 200 and "reason" in form.content.decode()
    line.refresh_from_db()
    assert line.status == "active"
    client.post(
        url, {"action": "freeze", "_selected_action": [line.pk], "apply": "1", "reason": "fraud"}
    )
    line.refresh_from_db()
    assert (line.status, line.status_reason) == ("frozen", "fraud")


def test_override_from_the_review_queue(client, demo):
    client.force_login(factories.staff("风控专员 Risk officer"))
    pending = CreditAssessment.objects.get(
        review_requested_at__isnull=False, overridden_at__isnull=True
    )
    url = reverse("admin:loans_creditassessment_changelist")
    queue = client.get(url, {"review": "pending"})
    assert list(queue.context["cl"].result_list) == [pending]
    client.post(
        url,
        {
            "action": "override",
            "_selected_action": [pending.pk],
            "apply": "1",
            "decision": "approved",
            "credit_limit": "2000",
            "daily_rate_percent": "0.05",
            "reason": "part-time income verified",
        },
    )
    pending.refresh_from_db()
    assert pending.final_decision == "approved"
    line = CreditLine.objects.get(borrower=pending.borrower)
    assert (str(line.limit), str(line.daily_rate)) == ("2000.00", "0.000500")


def test_a_refused_override_keeps_what_was_typed(client, demo):
    client.force_login(factories.staff("风控专员 Risk officer"))
    pending = CreditAssessment.objects.get(
        review_requested_at__isnull=False, overridden_at__isnull=True
    )
    url = reverse("admin:loans_creditassessment_changelist")
    response = client.post(
        url,
        {
            "action": "override",
            "_selected_action": [pending.pk],
            "apply": "1",
            "decision": "approved",
            "credit_limit": "990000",  # above the credit-line band: the service refuses
            "daily_rate_percent": "0.05",
            "reason": "part-time income verified",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    page = response.content.decode()
    assert response.status_code == 200 and "errorlist" in page
    assert "part-time income verified" in page and 'value="990000"' in page
    pending.refresh_from_db()
    assert pending.overridden_at is None


def test_customer_service_cannot_override(client, demo):
    client.force_login(factories.staff("客服 Customer service"))
    response = client.get(reverse("admin:loans_creditassessment_changelist"))
    actions = [name for name, _ in response.context["action_form"].fields["action"].choices]
    assert "record_review_request" in actions and "override" not in actions


def test_an_assessment_shows_its_points_and_inputs_as_tables_without_the_birth_date(client, demo):
    client.force_login(factories.staff("风控专员 Risk officer"))
    assessment = CreditAssessment.objects.exclude(points={}).first()
    url = reverse("admin:loans_creditassessment_change", args=[assessment.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    total = sum(assessment.points.values())
    assert f"<th>total</th><th>{total}</th>" in page
    assert "<td>monthly income</td>" in page and "{&#x27;" not in page
    birth = assessment.inputs["birth_date"]
    assert birth not in page and f"<td>birth year</td><td>{birth[:4]}</td>" in page
