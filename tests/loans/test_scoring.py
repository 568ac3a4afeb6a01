"""Eligibility rules, the points scorecard and assessments (loans.scoring)."""

import dataclasses
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loans import kyc
from loans.scorecard import (
    CREDIT_LINE_STEP,
    CURRENT_SCORECARD_VERSION,
    MAX_CREDIT_LINE,
    MAX_DAILY_RATE,
    MIN_CREDIT_LINE,
    MIN_DAILY_RATE,
    SCORECARDS,
    Grade,
    get_scorecard,
)
from loans.scoring import (
    RULE_CODES,
    ApplicantFacts,
    CreditReportFacts,
    assess,
)

AS_OF = date(2026, 6, 15)
CARD = SCORECARDS[CURRENT_SCORECARD_VERSION]


def facts(**changes) -> ApplicantFacts:
    """A 29-year-old, 8,000 CNY a month, clean credit: eligible, score 600, grade B."""
    base = ApplicantFacts(
        as_of=AS_OF,
        birth_date=date(1996, 9, 1),
        mainland_resident=True,
        identity_complete=True,
        id_expiry_date=date(2035, 1, 1),
        civil_capacity="full",
        monthly_income=Decimal("8000.00"),
        monthly_debt_payments=Decimal("1600.00"),
        data_consent=True,
        credit_query_consent=True,
        account_activity_score=60,
        credit_report=CreditReportFacts(
            current_overdue_accounts=0, worst_dpd_24m=0, inquiries_3m=1
        ),
    )
    return dataclasses.replace(base, **changes)


def report(**changes) -> CreditReportFacts:
    return dataclasses.replace(facts().credit_report, **changes)


def rule(assessment, code):
    return next(r for r in assessment.rules if r.code == code)


def failed(assessment) -> list[str]:
    return [r.code for r in assessment.rules if not r.passed]


# --- The baseline applicant ----------------------------------------------------------------


def test_baseline_applicant_is_eligible_with_exact_points_limit_and_rate():
    a = assess(facts())

    assert a.eligible is True
    assert a.reasons == ()
    assert a.scorecard_version == "2026.1"
    assert a.points == {
        "base": 300,
        "age": 45,
        "monthly_income": 45,
        "debt_to_income": 40,
        "worst_dpd_24m": 80,
        "inquiries_3m": 40,
        "account_activity": 35,
        "id_validity": 15,
    }
    assert a.score == 600
    assert a.grade == "B"
    assert a.credit_limit == Decimal("32000.00")  # 4 x 8,000
    assert a.daily_rate == Decimal("0.000300")
    assert [r.code for r in a.rules] == list(RULE_CODES)
    assert all(r.passed for r in a.rules)


# --- Every rule: fails with its reason code, and its boundary passes ------------------------


@pytest.mark.parametrize(
    ("code", "changes", "detail"),
    [
        ("identity_complete", {"identity_complete": False}, "identity_complete=False"),
        ("id_unexpired", {"id_expiry_date": AS_OF - timedelta(days=1)}, "id_expiry=2026-06-14"),
        ("age", {"birth_date": date(2008, 6, 16)}, "age=17"),
        ("age", {"birth_date": date(1965, 6, 15)}, "age=61"),
        ("age", {"birth_date": None}, "age=unknown"),
        ("mainland_resident", {"mainland_resident": False}, "mainland_resident=False"),
        ("civil_capacity", {"civil_capacity": "limited"}, "civil_capacity=limited"),
        ("civil_capacity", {"civil_capacity": "none"}, "civil_capacity=none"),
        ("consents", {"data_consent": False}, "data_consent=False,credit_query_consent=True"),
        (
            "consents",
            {"credit_query_consent": False},
            "data_consent=True,credit_query_consent=False",
        ),
        (
            "no_current_overdue",
            {"credit_report": report(current_overdue_accounts=1)},
            "current_overdue_accounts=1",
        ),
        (
            "no_serious_delinquency",
            {"credit_report": report(worst_dpd_24m=31)},
            "worst_dpd_24m=31",
        ),
        ("recent_inquiries", {"credit_report": report(inquiries_3m=7)}, "inquiries_3m=7"),
        (
            "income",
            {"monthly_income": Decimal("1999.99"), "monthly_debt_payments": Decimal("0")},
            "monthly_income=1999.99",
        ),
        ("debt_to_income", {"monthly_debt_payments": Decimal("4960.00")}, "dti=0.6200"),
        ("debt_to_income", {"monthly_debt_payments": Decimal("4000.01")}, "dti=0.5001"),
        ("account_activity", {"account_activity_score": 29}, "account_activity=29"),
        ("account_activity", {"account_activity_score": None}, "account_activity=unknown"),
    ],
)
def test_each_rule_fails_alone_with_its_reason_code(code, changes, detail):
    a = assess(facts(**changes))

    assert failed(a) == [code]
    assert a.reasons[0] == code
    assert rule(a, code).detail == detail
    assert a.eligible is False
    assert a.credit_limit is None
    assert a.daily_rate is None


@pytest.mark.parametrize(
    ("code", "changes", "detail"),
    [
        ("id_unexpired", {"id_expiry_date": AS_OF}, "id_expiry=2026-06-15"),
        ("id_unexpired", {"id_expiry_date": None}, "id_expiry=long-term"),
        ("age", {"birth_date": date(2008, 6, 15)}, "age=18"),
        ("age", {"birth_date": date(1965, 6, 16)}, "age=60"),
        ("no_serious_delinquency", {"credit_report": report(worst_dpd_24m=30)}, "worst_dpd_24m=30"),
        ("recent_inquiries", {"credit_report": report(inquiries_3m=6)}, "inquiries_3m=6"),
        (
            "income",
            {"monthly_income": Decimal("2000.00"), "monthly_debt_payments": Decimal("0")},
            "monthly_income=2000.00",
        ),
        ("debt_to_income", {"monthly_debt_payments": Decimal("4000.00")}, "dti=0.5000"),
        ("account_activity", {"account_activity_score": 30}, "account_activity=30"),
    ],
)
def test_rule_boundaries_pass(code, changes, detail):
    a = assess(facts(**changes))

    assert rule(a, code).passed is True
    assert rule(a, code).detail == detail


def test_missing_credit_report_fails_every_report_rule_without_crashing():
    a = assess(facts(credit_report=None))

    assert failed(a) == [
        "credit_report_available",
        "no_current_overdue",
        "no_serious_delinquency",
        "recent_inquiries",
    ]
    assert rule(a, "no_current_overdue").detail == "credit_report=missing"
    assert a.score is None
    assert a.grade is None
    assert a.points == {}
    assert a.eligible is False


def test_no_income_fails_income_and_debt_to_income_and_scores_worst_bands():
    a = assess(facts(monthly_income=Decimal("0"), monthly_debt_payments=Decimal("0")))

    assert failed(a) == ["income", "debt_to_income"]
    assert rule(a, "debt_to_income").detail == "dti=undefined (no income)"
    assert a.points["monthly_income"] == 0
    assert a.points["debt_to_income"] == 0


def test_score_is_still_computed_when_a_rule_fails():
    a = assess(facts(mainland_resident=False))

    assert a.score == 600
    assert a.grade == "B"
    assert a.eligible is False
    assert a.credit_limit is None


def test_several_failures_are_all_reported_in_rule_order():
    a = assess(facts(identity_complete=False, account_activity_score=10, data_consent=False))
    assert a.reasons == ("identity_complete", "consents", "account_activity")


def test_thresholds_match_the_kyc_age_band():
    assert (CARD.thresholds.min_age, CARD.thresholds.max_age) == (kyc.MIN_AGE, kyc.MAX_AGE)


# --- Grades at their cut-offs --------------------------------------------------------------


def test_grade_cut_offs_and_prices():
    assert [(g.name, g.min_score, g.daily_rate) for g in CARD.grades] == [
        ("A", 620, Decimal("0.000200")),
        ("B", 560, Decimal("0.000300")),
        ("C", 500, Decimal("0.000400")),
        ("D", 440, Decimal("0.000500")),
    ]
    assert CARD.decline_grade == "E"


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (710, "A"),
        (620, "A"),
        (619, "B"),
        (560, "B"),
        (559, "C"),
        (500, "C"),
        (499, "D"),
        (440, "D"),
        (439, "E"),
        (0, "E"),
    ],
)
def test_grade_for_score(score, grade):
    assert CARD.grade_for(score) == grade


def profile(*, income: str, dti: str, dpd: int, inquiries: int, activity: int, id_days: int):
    """A 20-year-old applicant who passes every rule, shaped to hit a chosen score."""
    monthly_income = Decimal(income)
    return facts(
        birth_date=date(2006, 1, 10),
        monthly_income=monthly_income,
        monthly_debt_payments=monthly_income * Decimal(dti),
        account_activity_score=activity,
        id_expiry_date=AS_OF + timedelta(days=id_days),
        credit_report=report(worst_dpd_24m=dpd, inquiries_3m=inquiries),
    )


# Each shape scores exactly a grade's cut-off with 1,000 days of ID validity left (15 points)
# and 5 points less with 365 days left (10 points).
CUT_OFF_SHAPES = [
    (620, "A", "B", {"income": "6000", "dti": "0.05", "dpd": 0, "inquiries": 0, "activity": 75}),
    (560, "B", "C", {"income": "3000", "dti": "0.05", "dpd": 0, "inquiries": 0, "activity": 30}),
    (500, "C", "D", {"income": "3000", "dti": "0.25", "dpd": 0, "inquiries": 3, "activity": 30}),
    (440, "D", "E", {"income": "3000", "dti": "0.25", "dpd": 15, "inquiries": 3, "activity": 30}),
]


@pytest.mark.parametrize(("cut_off", "grade", "grade_below", "shape"), CUT_OFF_SHAPES)
def test_applicant_scoring_exactly_the_cut_off_gets_the_grade(cut_off, grade, grade_below, shape):
    at_cut_off = assess(profile(**shape, id_days=1000))
    just_below = assess(profile(**shape, id_days=365))

    assert (at_cut_off.score, at_cut_off.grade, at_cut_off.eligible) == (cut_off, grade, True)
    assert (just_below.score, just_below.grade) == (cut_off - 5, grade_below)


def test_score_below_the_lowest_cut_off_is_declined_for_low_score_only():
    shape = CUT_OFF_SHAPES[-1][3]
    a = assess(profile(**shape, id_days=365))

    assert a.score == 435
    assert all(r.passed for r in a.rules)
    assert a.eligible is False
    assert a.reasons == ("low_score",)
    assert (a.credit_limit, a.daily_rate) == (None, None)


# --- Credit line ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grade", "income", "limit"),
    [
        ("A", "10000", "50000.00"),  # 5 x income
        ("A", "45000", "200000.00"),  # grade cap = product ceiling
        ("B", "8049.99", "32100.00"),  # 32,199.96 rounded DOWN to the hundred
        ("B", "30000", "100000.00"),  # grade cap
        ("C", "5000", "15000.00"),
        ("C", "20000", "50000.00"),  # grade cap
        ("D", "2000", "4000.00"),
        ("D", "2049.99", "4000.00"),  # 4,099.98 rounded down
        ("D", "15000", "20000.00"),  # grade cap
        ("D", "100", "500.00"),  # product floor
    ],
)
def test_credit_line(grade, income, limit):
    assert CARD.credit_line(grade, Decimal(income)) == Decimal(limit)


def test_better_grade_means_lower_rate_and_higher_cap():
    rates = [g.daily_rate for g in CARD.grades]
    caps = [g.line_cap for g in CARD.grades]
    assert rates == sorted(rates)
    assert caps == sorted(caps, reverse=True)


def test_a_scorecard_cannot_price_outside_the_product_rate_band():
    too_cheap = Grade("A", 620, Decimal("0.000150"), Decimal("5"), Decimal("200000"))
    with pytest.raises(ValueError, match="rate outside the band"):
        dataclasses.replace(CARD, grades=(too_cheap, *CARD.grades[1:]))


# --- Versions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"line_floor": MIN_CREDIT_LINE - CREDIT_LINE_STEP},
        {"line_ceiling": MAX_CREDIT_LINE + CREDIT_LINE_STEP},
        {"line_step": CREDIT_LINE_STEP / 2},
    ],
)
def test_a_scorecard_cannot_size_lines_outside_the_product_line_band(changes):
    with pytest.raises(ValueError, match="line band"):
        dataclasses.replace(CARD, **changes)


def test_the_current_scorecard_sizes_lines_across_the_whole_band():
    assert (CARD.line_floor, CARD.line_ceiling, CARD.line_step) == (
        MIN_CREDIT_LINE,
        MAX_CREDIT_LINE,
        CREDIT_LINE_STEP,
    )
    assert CARD.credit_line("D", Decimal("1")) == MIN_CREDIT_LINE
    assert CARD.credit_line("A", Decimal("10000000")) == MAX_CREDIT_LINE


def test_unknown_version_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown scorecard version '1999\.9' \(known: 2026\.1\)"):
        assess(facts(), version="1999.9")
    with pytest.raises(ValueError, match="unknown scorecard version"):
        get_scorecard("")


def test_explicit_current_version_gives_the_same_result():
    assert assess(facts(), version="2026.1") == assess(facts())


# --- Facts: validation and storage ---------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"civil_capacity": "partial"},
        {"monthly_income": 8000.0},  # float money is refused
        {"monthly_income": Decimal("-1")},
        {"monthly_debt_payments": Decimal("NaN")},
        {"account_activity_score": 101},
        {"account_activity_score": -1},
        {"birth_date": AS_OF + timedelta(days=1)},
    ],
)
def test_impossible_facts_are_refused(changes):
    with pytest.raises(ValueError):
        facts(**changes)


def test_negative_credit_report_counts_are_refused():
    with pytest.raises(ValueError, match="inquiries_3m"):
        CreditReportFacts(current_overdue_accounts=0, worst_dpd_24m=0, inquiries_3m=-1)


def test_facts_to_dict_is_json_safe_and_exact():
    data = facts(id_expiry_date=None).to_dict()

    assert json.loads(json.dumps(data)) == data
    assert data["as_of"] == "2026-06-15"
    assert data["id_expiry_date"] is None
    assert data["monthly_income"] == "8000.00"
    assert data["credit_report"] == {
        "current_overdue_accounts": 0,
        "worst_dpd_24m": 0,
        "inquiries_3m": 1,
    }


def test_from_dict_refuses_unknown_keys():
    data = facts().to_dict() | {"salary": "1"}
    with pytest.raises(ValueError, match="keys differ"):
        ApplicantFacts.from_dict(data)


def test_assessment_to_dict():
    data = assess(facts()).to_dict()

    assert json.loads(json.dumps(data)) == data
    assert data["credit_limit"] == "32000.00"
    assert data["daily_rate"] == "0.000300"
    assert data["grade"] == "B"
    assert data["rules"][0] == {
        "code": "identity_complete",
        "passed": True,
        "detail": "identity_complete=True",
    }


# --- Properties over random facts ----------------------------------------------------------

money = st.decimals(min_value=0, max_value=500_000, places=2, allow_nan=False)
optional_day = st.none() | st.dates(min_value=date(1940, 1, 1), max_value=AS_OF)

random_reports = st.none() | st.builds(
    CreditReportFacts,
    current_overdue_accounts=st.integers(0, 3),
    worst_dpd_24m=st.integers(0, 400),
    inquiries_3m=st.integers(0, 12),
)

random_facts = st.builds(
    ApplicantFacts,
    as_of=st.just(AS_OF),
    birth_date=optional_day,
    mainland_resident=st.booleans(),
    identity_complete=st.booleans(),
    id_expiry_date=st.none() | st.dates(min_value=date(2020, 1, 1), max_value=date(2050, 1, 1)),
    civil_capacity=st.sampled_from(["full", "full", "full", "limited", "none"]),
    monthly_income=money,
    monthly_debt_payments=money,
    data_consent=st.booleans(),
    credit_query_consent=st.booleans(),
    account_activity_score=st.none() | st.integers(0, 100),
    credit_report=random_reports,
)

# Mostly-eligible applicants, so the eligible branch is exercised often.
likely_eligible_facts = st.builds(
    facts,
    birth_date=st.dates(min_value=date(1966, 6, 15), max_value=date(2008, 6, 15)),
    id_expiry_date=st.none() | st.dates(min_value=AS_OF, max_value=date(2046, 1, 1)),
    monthly_income=st.decimals(min_value=2000, max_value=300_000, places=2),
    monthly_debt_payments=st.decimals(min_value=0, max_value=1000, places=2),
    account_activity_score=st.integers(30, 100),
    credit_report=st.builds(
        CreditReportFacts,
        current_overdue_accounts=st.just(0),
        worst_dpd_24m=st.integers(0, 30),
        inquiries_3m=st.integers(0, 6),
    ),
)


@given(random_facts | likely_eligible_facts)
def test_assessment_invariants(applicant):
    a = assess(applicant)

    failed_rules = tuple(failed(a))
    assert a.reasons[: len(failed_rules)] == failed_rules
    assert a.eligible == (a.reasons == ())
    if a.score is not None:
        assert a.score == sum(a.points.values())
        assert a.grade == CARD.grade_for(a.score)
        assert ("low_score" in a.reasons) == (a.grade == "E")
    if a.eligible:
        assert a.credit_limit % CREDIT_LINE_STEP == 0
        assert MIN_CREDIT_LINE <= a.credit_limit <= MAX_CREDIT_LINE
        assert a.credit_limit <= CARD.grade(a.grade).line_cap
        assert MIN_DAILY_RATE <= a.daily_rate <= MAX_DAILY_RATE
        assert a.daily_rate == CARD.grade(a.grade).daily_rate
    else:
        assert a.reasons
        assert (a.credit_limit, a.daily_rate) == (None, None)


@given(random_facts | likely_eligible_facts)
def test_stored_facts_rerun_to_the_same_assessment(applicant):
    original = assess(applicant)
    stored = json.dumps(applicant.to_dict())

    restored = ApplicantFacts.from_dict(json.loads(stored))

    assert restored == applicant
    assert assess(restored, version=original.scorecard_version) == original
    assert assess(restored).to_dict() == original.to_dict()


def test_the_scorecard_does_not_depend_on_the_rules_that_use_it():
    """loans.scoring imports loans.scorecard, never the other way round."""
    import ast
    import inspect

    from loans import scorecard

    tree = ast.parse(inspect.getsource(scorecard))
    imported = {
        f"{node.module}.{alias.name}" if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert "loans.kyc.age_on" in imported  # the check reads the imports it should
    assert not {name for name in imported if "scoring" in name.split(".")}
