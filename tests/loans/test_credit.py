"""Credit assessment and credit lines: decisions, overrides, reviews, freezing."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from loans.models import CreditAssessment, CreditLine, CreditLineEvent
from loans.reasons import reason_message
from loans.scorecard import (
    CREDIT_LINE_STEP,
    MAX_CREDIT_LINE,
    MAX_DAILY_RATE,
    MIN_CREDIT_LINE,
    MIN_DAILY_RATE,
)
from loans.services import credit as services
from tests import factories

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 24)


def test_an_eligible_borrower_gets_a_line_priced_by_the_scorecard():
    b = factories.borrower(income="20000", debts="1000", activity=90)
    a = services.assess_credit(borrower=b, as_of=TODAY)
    assert a.decision == "approved" and a.reasons == []
    line = CreditLine.objects.get(borrower=b)
    assert line.limit == a.credit_limit and line.daily_rate == a.daily_rate
    assert MIN_CREDIT_LINE <= line.limit <= MAX_CREDIT_LINE
    assert line.limit % CREDIT_LINE_STEP == 0
    assert MIN_DAILY_RATE <= line.daily_rate <= MAX_DAILY_RATE
    assert line.available_amount == line.limit
    assert line.status == "active" and line.expires_on == TODAY + timedelta(days=365)
    assert line.events.get().kind == CreditLineEvent.Kind.OPENED
    # The stored assessment explains itself and re-runs to the same answer.
    assert a.scorecard_version and a.inputs["as_of"] == TODAY.isoformat()
    assert {r["code"] for r in a.rule_results} >= {"age", "debt_to_income", "income"}
    rerun = services.rerun_assessment(assessment=a)
    assert (rerun.score, rerun.grade, rerun.credit_limit) == (a.score, a.grade, a.credit_limit)


@pytest.mark.parametrize(
    "kwargs, reason",
    [
        ({"income": "1500", "debts": "0"}, "income"),
        ({"income": "8000", "debts": "6000"}, "debt_to_income"),
        ({"report": (1, 40, 2)}, "no_current_overdue"),
        ({"report": (0, 0, 12)}, "recent_inquiries"),
        ({"activity": 5}, "account_activity"),
        ({"id_expiry_date": date(2025, 1, 1)}, "id_unexpired"),
        ({"civil_capacity": "limited"}, "civil_capacity"),
        ({"region": "810000"}, "mainland_resident"),
        ({"consents": ["data_processing"], "report": None}, "consents"),
    ],
)
def test_a_declined_borrower_is_told_why_and_gets_no_line(kwargs, reason):
    b = factories.borrower(**kwargs)
    a = services.assess_credit(borrower=b, as_of=TODAY)
    assert a.decision == "declined"
    assert reason in a.reasons
    assert reason_message(reason)
    assert not CreditLine.objects.filter(borrower=b).exists()


def test_a_declined_re_assessment_freezes_an_active_line():
    b = factories.borrower()
    services.assess_credit(borrower=b, as_of=TODAY)
    b.monthly_income = Decimal("1000")
    b.save()
    a = services.assess_credit(borrower=b, as_of=TODAY)
    line = CreditLine.objects.get(borrower=b)
    assert a.decision == "declined" and line.status == "frozen"
    assert "income" in line.status_reason


def test_an_override_needs_a_reason_and_opens_the_line_it_sets():
    staff = factories.staff("风控专员 Risk officer")
    b = factories.borrower(activity=5)
    a = services.assess_credit(borrower=b, as_of=TODAY)
    assert a.decision == "declined"
    with pytest.raises(ValidationError) as no_reason:
        services.override_assessment(
            assessment=a,
            decision="approved",
            reason=" ",
            actor=staff,
            credit_limit=Decimal("3000"),
            daily_rate=Decimal("0.0004"),
        )
    assert "reason" in no_reason.value.message_dict
    with pytest.raises(ValidationError) as bad_limit:
        services.override_assessment(
            assessment=a,
            decision="approved",
            reason="ok",
            actor=staff,
            credit_limit=Decimal("3050"),
            daily_rate=Decimal("0.0009"),
        )
    assert set(bad_limit.value.message_dict) == {"credit_limit", "daily_rate"}
    assert not CreditLine.objects.filter(borrower=b).exists()

    a = services.override_assessment(
        assessment=a,
        decision="approved",
        reason="salary slips checked",
        actor=staff,
        credit_limit=Decimal("3000"),
        daily_rate=Decimal("0.0004"),
    )
    assert a.final_decision == "approved" and a.decision == "declined"
    assert (a.overridden_by, a.override_reason) == (staff, "salary slips checked")
    line = CreditLine.objects.get(borrower=b)
    assert (line.limit, line.daily_rate, line.status) == (
        Decimal("3000"),
        Decimal("0.0004"),
        "active",
    )


@pytest.mark.parametrize(
    ("limit", "rate", "refused"),
    [
        (MIN_CREDIT_LINE, MIN_DAILY_RATE, set()),
        (MAX_CREDIT_LINE, MAX_DAILY_RATE, set()),
        (MIN_CREDIT_LINE - CREDIT_LINE_STEP, MIN_DAILY_RATE, {"credit_limit"}),
        (MAX_CREDIT_LINE + CREDIT_LINE_STEP, MAX_DAILY_RATE, {"credit_limit"}),
        (MIN_CREDIT_LINE + CREDIT_LINE_STEP / 2, MIN_DAILY_RATE, {"credit_limit"}),
        (MIN_CREDIT_LINE, MIN_DAILY_RATE - Decimal("0.000001"), {"daily_rate"}),
        (MIN_CREDIT_LINE, MAX_DAILY_RATE + Decimal("0.000001"), {"daily_rate"}),
    ],
)
def test_an_override_stays_within_the_product_bands_and_says_which(limit, rate, refused):
    staff = factories.staff("风控专员 Risk officer")
    a = services.assess_credit(borrower=factories.borrower(activity=5), as_of=TODAY)
    override = {
        "assessment": a,
        "decision": "approved",
        "reason": "checked",
        "actor": staff,
        "credit_limit": limit,
        "daily_rate": rate,
    }
    if not refused:
        assert services.override_assessment(**override).final_limit == limit
        return
    with pytest.raises(ValidationError) as error, translation.override("en"):
        services.override_assessment(**override)
    assert set(error.value.message_dict) == refused
    message = error.value.message_dict[refused.pop()][0]
    if "credit_limit" in error.value.message_dict:
        assert message == (
            "The credit limit must be a multiple of 100 between 500 and 200,000 yuan."
        )
    else:
        assert message == "The daily rate must be between 0.02% and 0.05%."


def test_only_the_latest_assessment_can_be_overridden():
    staff = factories.staff("风控专员 Risk officer")
    b = factories.borrower()
    old = services.assess_credit(borrower=b, as_of=TODAY)
    services.assess_credit(borrower=b, as_of=TODAY)
    with pytest.raises(ValidationError):
        services.override_assessment(assessment=old, decision="declined", reason="x", actor=staff)


def test_a_borrower_can_ask_once_for_manual_review():
    b = factories.borrower(income="1500")
    a = services.assess_credit(borrower=b, as_of=TODAY)
    a = services.request_manual_review(assessment=a, note="I have a second job")
    assert a.review_pending and a.review_request_note == "I have a second job"
    with pytest.raises(ValidationError):
        services.request_manual_review(assessment=a)
    pending = CreditAssessment.objects.filter(
        review_requested_at__isnull=False, overridden_at__isnull=True
    )
    assert list(pending) == [a]


def test_freeze_and_unfreeze_follow_the_status_and_are_recorded():
    staff = factories.staff("贷款运营 Loan operations")
    b = factories.borrower()
    services.assess_credit(borrower=b, as_of=TODAY)
    line = b.credit_line
    with pytest.raises(ValidationError):
        services.unfreeze_credit_line(credit_line=line, reason="x", actor=staff)
    with pytest.raises(ValidationError):
        services.freeze_credit_line(credit_line=line, reason="", actor=staff)
    line = services.freeze_credit_line(credit_line=line, reason="suspected fraud", actor=staff)
    assert line.status == "frozen"
    with pytest.raises(ValidationError):
        services.freeze_credit_line(credit_line=line, reason="again", actor=staff)
    line = services.unfreeze_credit_line(credit_line=line, reason="cleared", actor=staff)
    assert line.status == "active"
    kinds = list(line.events.order_by("id").values_list("kind", "actor", "reason"))
    assert kinds == [
        ("opened", None, ""),
        ("frozen", staff.pk, "suspected fraud"),
        ("unfrozen", staff.pk, "cleared"),
    ]


def test_an_approved_re_assessment_moves_the_limit_and_keeps_a_staff_freeze():
    staff = factories.staff("贷款运营 Loan operations")
    b = factories.borrower(income="6000")
    services.assess_credit(borrower=b, as_of=TODAY)
    services.freeze_credit_line(credit_line=b.credit_line, reason="hold", actor=staff)
    old_limit = CreditLine.objects.get(borrower=b).limit
    b.monthly_income = Decimal("30000")
    b.save()
    services.assess_credit(borrower=b, as_of=TODAY)
    line = CreditLine.objects.get(borrower=b)
    assert line.limit > old_limit and line.status == "frozen"
    event = line.events.filter(kind="reassessed").get()
    assert (event.old_limit, event.new_limit) == (old_limit, line.limit)
