"""Every add and change page of the admin, under hostile input: whatever a staff member types
into any field (the borrower and credit-report forms, cadence steps, thresholds, collectors,
banned phrases, …), the answer is the form again with its errors, a 400/404 or a redirect after
a save, never a 500; and a refused form writes no row anywhere."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from debt_collection.models import BannedPhrase, ContactRestriction
from loans.admin.common import ReadOnlyAdmin
from loans.models import ApprovalThreshold, CreditReport
from tests import factories

from .strategies import FUZZ, assert_no_500, each_example, form_fields, hostile_value

pytestmark = pytest.mark.django_db
SWEEP = settings(FUZZ, max_examples=8)
APPS = ("loans", "collections", "notifications")
# Logs and history (ReadOnlyAdmin) have no form for anyone; every other admin is swept.
MODELS = sorted(
    model._meta.label
    for model, model_admin in admin.site._registry.items()
    if model._meta.app_label in APPS and not isinstance(model_admin, ReadOnlyAdmin)
)
# Pages a superuser must be able to fill in: the sweep is not allowed to pass by finding none.
MUST_FUZZ = {
    ("loans.Borrower", "add"),
    ("loans.Borrower", "change"),
    ("loans.CreditReport", "add"),
    ("loans.LoanProduct", "change"),
    ("loans.ApprovalThreshold", "change"),
    ("notifications.CadenceStep", "change"),
    ("notifications.CadenceStep", "add"),
    ("notifications.SmsTemplate", "change"),
    ("collections.Collector", "change"),
    ("collections.BannedPhrase", "add"),
}


@pytest.fixture
def world(loan, case):
    """One of each row a change page can open on."""
    CreditReport.objects.create(
        borrower=loan.borrower,
        pulled_at=timezone.now(),
        source="pboc",
        current_overdue_accounts=0,
        worst_dpd_24m=0,
        inquiries_3m=1,
    )
    ApprovalThreshold.objects.get_or_create(kind="manual_posting", defaults={"amount": 100})
    BannedPhrase.objects.get_or_create(
        phrase="坐牢", defaults={"category": BannedPhrase.Category.choices[0][0]}
    )
    ContactRestriction.objects.create(
        borrower=loan.borrower,
        scope=ContactRestriction.Scope.choices[0][0],
        reason="律师函",
        recorded_by=factories.staff(superuser=True, username="recorder"),
    )
    factories.bank_card(loan.borrower)
    return loan


def valid_add_forms(world) -> dict[str, dict]:
    """Forms an add page would accept: mutating a few of their fields reaches the checks
    behind "this field is required" (identity, consent, uniqueness)."""
    return {
        "loans.Borrower": {
            "name": "李四",
            "id_number": factories.id_number(male=False),
            "mobile": factories.mobile(),
            "id_expiry_date": "2036-05-01",
            "employer": "深圳某科技公司",
            "monthly_income": "12000.00",
            "monthly_debt_payments": "500.00",
            "civil_capacity": "full",
            "account_activity_score": "80",
            "consents": ["data_processing", "credit_query"],
        },
        "loans.CreditReport": {
            "borrower": str(world.borrower_id),
            "source": "pboc",
            "current_overdue_accounts": "0",
            "worst_dpd_24m": "0",
            "inquiries_3m": "2",
        },
        "notifications.CadenceStep": {
            "kind": "overdue",
            "offset_days": "45",
            "repeat_every_days": "7",
            "is_active": "on",
        },
        "collections.BannedPhrase": {"phrase": "全家", "category": "threat", "is_active": "on"},
        "loans.LoanProduct": {
            "code": "wld2",
            "name": "微粒贷二号",
            "methods": ["equal_instalment"],
            "terms": "5, 10",
            "min_amount": "100",
            "max_amount": "20000",
            "amount_step": "100",
            "max_daily_rate": "0.000400",
            "penalty_multiplier": "1.50",
            "grace_days": "1",
            "upfront_fee_percent": "0",
            "auto_approve_max_amount": "5000",
            "is_active": "on",
        },
    }


def page_url(label: str, kind: str) -> str | None:
    model = apps.get_model(label)
    opts = model._meta
    try:
        if kind == "add":
            return reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        row = model._default_manager.order_by("pk").first()
        if row is None:
            return None
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
    except NoReverseMatch:
        return None


def snapshot() -> dict[str, int]:
    """Row counts of every table the three apps own: a refused form must leave all alone."""
    return {
        model._meta.label: model._default_manager.count()
        for name in APPS
        for model in apps.get_app_config(name).get_models()
    }


def fillable(client, label: str, kind: str):
    url = page_url(label, kind)
    if url is None:
        return None, None
    page = client.get(url)
    assert_no_500(page)
    if page.status_code != 200 or not page.context or "adminform" not in page.context:
        return None, None
    if not form_fields(page)[1]:
        return None, None  # a page of read-only fields
    return url, page


def test_the_sweep_reaches_the_forms_staff_type_into(admin_client, world):
    reached = {
        (label, kind)
        for label in MODELS
        for kind in ("add", "change")
        if fillable(admin_client, label, kind)[0]
    }
    assert MUST_FUZZ <= reached, MUST_FUZZ - reached


@pytest.fixture
def form_page(admin_client, world, label, kind):
    """The page as opened, and the rows as they were: every example starts from them (each
    example's writes are undone)."""
    url, page = fillable(admin_client, label, kind)
    if url is None:
        pytest.skip("no form on this page for anyone: nothing to type into")
    rows = list(apps.get_model(label)._default_manager.order_by("pk").values())
    return url, page, rows, snapshot()


@pytest.mark.parametrize("kind", ["add", "change"])
@pytest.mark.parametrize("label", MODELS)
@SWEEP
@given(data=st.data())
def test_any_input_on_any_admin_form(admin_client, world, form_page, label, kind, data):
    url, page, rows, before = form_page
    original, names = form_fields(page)
    if kind == "add" and data.draw(st.booleans()):
        original = {**original, **valid_add_forms(world).get(label, {})}
    chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=5, unique=True))
    posted = {**original, **{name: data.draw(hostile_value) for name in chosen}}
    model = apps.get_model(label)
    with each_example():
        response = admin_client.post(url, posted)
        assert_no_500(response)
        if response.status_code == 302:
            return  # saved: the values were acceptable for those fields
        assert response.status_code in (200, 400, 403, 404), response.status_code
        if response.status_code == 200:
            form = response.context["adminform"].form
            errors = response.context.get("errors")
            assert form.errors or errors, "the form was neither saved nor refused"
        assert snapshot() == before
        assert list(model._default_manager.order_by("pk").values()) == rows


@pytest.mark.parametrize("offset", ["", "\x00", "三", "99999"])
def test_a_cadence_step_without_a_usable_day_is_refused_beside_the_field(
    admin_client, world, offset
):
    """Found by the sweep: the step's own check compared a missing day with a number."""
    url = reverse("admin:notifications_cadencestep_add")
    form = {**valid_add_forms(world)["notifications.CadenceStep"], "offset_days": offset}
    before = snapshot()
    response = admin_client.post(url, form)
    assert response.status_code == 200
    assert "offset_days" in response.context["adminform"].form.errors
    assert snapshot() == before
