"""Eligibility rules and the versioned points scorecard behind 授信 (credit assessment).

Plain Python with no Django imports: the application service gathers :class:`ApplicantFacts`,
calls :func:`assess` and stores both ``facts.to_dict()`` and ``assessment.to_dict()``. The
scorecard itself (thresholds, points bands, grades, pricing) is defined in
:mod:`loans.scorecard`; import its names from there. Because a scorecard version fixes every
threshold, band and price, re-running the stored facts against the stored version reproduces
the decision exactly, which is what an auditor or a complaint handler needs.

Decision = every eligibility rule passes AND the score's grade is not the declining grade.
The score is computed whenever its inputs exist, even if a rule failed, so staff can explain a
decline; the credit line (授信额度) and daily rate (日利率) are only given when eligible.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date
from decimal import ROUND_UP, Decimal
from typing import Any

from loans import scorecard
from loans.kyc import age_on

__all__ = [
    # codes
    "IDENTITY_COMPLETE",
    "ID_UNEXPIRED",
    "AGE",
    "MAINLAND_RESIDENT",
    "CIVIL_CAPACITY",
    "CONSENTS",
    "CREDIT_REPORT_AVAILABLE",
    "NO_CURRENT_OVERDUE",
    "NO_SERIOUS_DELINQUENCY",
    "RECENT_INQUIRIES",
    "INCOME",
    "DEBT_TO_INCOME",
    "ACCOUNT_ACTIVITY",
    "LOW_SCORE",
    "RULE_CODES",
    "REASON_CODES",
    # civil capacity
    "FULL_CAPACITY",
    "LIMITED_CAPACITY",
    "NO_CAPACITY",
    "CIVIL_CAPACITIES",
    # facts, rules and the assessment
    "CreditReportFacts",
    "ApplicantFacts",
    "RuleResult",
    "check_rules",
    "Assessment",
    "assess",
]

# --- Codes --------------------------------------------------------------------------------

IDENTITY_COMPLETE = "identity_complete"
ID_UNEXPIRED = "id_unexpired"
AGE = "age"
MAINLAND_RESIDENT = "mainland_resident"
CIVIL_CAPACITY = "civil_capacity"
CONSENTS = "consents"
CREDIT_REPORT_AVAILABLE = "credit_report_available"
NO_CURRENT_OVERDUE = "no_current_overdue"
NO_SERIOUS_DELINQUENCY = "no_serious_delinquency"
RECENT_INQUIRIES = "recent_inquiries"
INCOME = "income"
DEBT_TO_INCOME = "debt_to_income"
ACCOUNT_ACTIVITY = "account_activity"
LOW_SCORE = "low_score"

# 民事行为能力 (civil capacity): only an adult with full capacity can sign a loan contract alone.
# The values stored on a borrower; the model's choices label these.
FULL_CAPACITY = "full"
LIMITED_CAPACITY = "limited"
NO_CAPACITY = "none"
CIVIL_CAPACITIES = (FULL_CAPACITY, LIMITED_CAPACITY, NO_CAPACITY)

_DTI_PLACES = Decimal("0.0001")


# --- Facts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditReportFacts:
    """The figures we use from the 征信 (central bank credit bureau) report."""

    current_overdue_accounts: int
    worst_dpd_24m: int  # worst days past due in the last 24 months
    inquiries_3m: int  # hard inquiries (loan/card approvals) in the last 3 months

    def __post_init__(self) -> None:
        for f in fields(self):
            _require_count(f.name, getattr(self, f.name))


@dataclass(frozen=True)
class ApplicantFacts:
    """Everything an assessment looks at, captured once so it can be stored and re-run."""

    as_of: date
    birth_date: date | None
    mainland_resident: bool
    identity_complete: bool  # name, ID number and mobile all present
    id_expiry_date: date | None  # None = 长期 (long-term) ID card, never expires
    civil_capacity: str  # one of CIVIL_CAPACITIES
    monthly_income: Decimal
    monthly_debt_payments: Decimal
    data_consent: bool
    credit_query_consent: bool
    account_activity_score: int | None  # 0-100: how active the WeChat / WeBank account is
    credit_report: CreditReportFacts | None

    def __post_init__(self) -> None:
        if self.birth_date is not None and self.birth_date > self.as_of:
            raise ValueError(f"birth_date {self.birth_date} is after as_of {self.as_of}")
        if self.civil_capacity not in CIVIL_CAPACITIES:
            raise ValueError(f"civil_capacity must be one of {CIVIL_CAPACITIES}")
        for name in ("monthly_income", "monthly_debt_payments"):
            amount = getattr(self, name)
            if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
                raise ValueError(f"{name} must be a finite, non-negative Decimal, got {amount!r}")
        score = self.account_activity_score
        if score is not None:
            _require_count("account_activity_score", score)
            if score > 100:
                raise ValueError(f"account_activity_score must be 0-100, got {score}")

    @property
    def debt_to_income(self) -> Decimal | None:
        """Monthly debt payments / monthly income; None when there is no income."""
        if self.monthly_income == 0:
            return None
        return self.monthly_debt_payments / self.monthly_income

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: dates as ISO strings, Decimals as strings (exact)."""
        return {
            "as_of": self.as_of.isoformat(),
            "birth_date": _iso(self.birth_date),
            "mainland_resident": self.mainland_resident,
            "identity_complete": self.identity_complete,
            "id_expiry_date": _iso(self.id_expiry_date),
            "civil_capacity": self.civil_capacity,
            "monthly_income": str(self.monthly_income),
            "monthly_debt_payments": str(self.monthly_debt_payments),
            "data_consent": self.data_consent,
            "credit_query_consent": self.credit_query_consent,
            "account_activity_score": self.account_activity_score,
            "credit_report": None if self.credit_report is None else asdict(self.credit_report),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ApplicantFacts:
        """Inverse of :meth:`to_dict`; unknown or missing keys are an error, not a guess."""
        expected = {f.name for f in fields(cls)}
        if set(data) != expected:
            raise ValueError(f"facts keys differ from {sorted(expected)}: {sorted(data)}")
        report = data["credit_report"]
        return cls(
            as_of=date.fromisoformat(data["as_of"]),
            birth_date=_from_iso(data["birth_date"]),
            mainland_resident=data["mainland_resident"],
            identity_complete=data["identity_complete"],
            id_expiry_date=_from_iso(data["id_expiry_date"]),
            civil_capacity=data["civil_capacity"],
            monthly_income=Decimal(data["monthly_income"]),
            monthly_debt_payments=Decimal(data["monthly_debt_payments"]),
            data_consent=data["data_consent"],
            credit_query_consent=data["credit_query_consent"],
            account_activity_score=data["account_activity_score"],
            credit_report=None if report is None else CreditReportFacts(**report),
        )


# --- Eligibility rules --------------------------------------------------------------------


@dataclass(frozen=True)
class RuleResult:
    code: str
    passed: bool
    detail: str  # the measured value, e.g. "dti=0.6200"


_Check = Callable[[ApplicantFacts, scorecard.Thresholds], tuple[bool, str]]


def _identity_complete(facts: ApplicantFacts, t: scorecard.Thresholds) -> tuple[bool, str]:
    return facts.identity_complete, f"identity_complete={facts.identity_complete}"


def _id_unexpired(facts: ApplicantFacts, t: scorecard.Thresholds) -> tuple[bool, str]:
    if facts.id_expiry_date is None:
        return True, "id_expiry=long-term"
    return facts.id_expiry_date >= facts.as_of, f"id_expiry={facts.id_expiry_date.isoformat()}"


def _age(facts: ApplicantFacts, t: scorecard.Thresholds) -> tuple[bool, str]:
    if facts.birth_date is None:
        return False, "age=unknown"
    age = age_on(facts.birth_date, facts.as_of)
    return t.min_age <= age <= t.max_age, f"age={age}"


def _mainland_resident(facts: ApplicantFacts, t: scorecard.Thresholds) -> tuple[bool, str]:
    return facts.mainland_resident, f"mainland_resident={facts.mainland_resident}"


def _civil_capacity(facts: ApplicantFacts, t: scorecard.Thresholds) -> tuple[bool, str]:
    return facts.civil_capacity == FULL_CAPACITY, f"civil_capacity={facts.civil_capacity}"


def _consents(facts: ApplicantFacts, t: scorecard.Thresholds) -> tuple[bool, str]:
    return (
        facts.data_consent and facts.credit_query_consent,
        f"data_consent={facts.data_consent},credit_query_consent={facts.credit_query_consent}",
    )


def _credit_report_available(facts: ApplicantFacts, t: scorecard.Thresholds) -> tuple[bool, str]:
    present = facts.credit_report is not None
    return present, f"credit_report={'present' if present else 'missing'}"


def _from_report(field_name: str, passes: Callable[[int, scorecard.Thresholds], bool]) -> _Check:
    """A rule on one credit-report figure; without a report it fails instead of crashing."""

    def check(facts: ApplicantFacts, t: scorecard.Thresholds) -> tuple[bool, str]:
        if facts.credit_report is None:
            return False, "credit_report=missing"
        value = getattr(facts.credit_report, field_name)
        return passes(value, t), f"{field_name}={value}"

    return check


def _income(facts: ApplicantFacts, t: scorecard.Thresholds) -> tuple[bool, str]:
    return facts.monthly_income >= t.min_monthly_income, f"monthly_income={facts.monthly_income}"


def _debt_to_income(facts: ApplicantFacts, t: scorecard.Thresholds) -> tuple[bool, str]:
    dti = facts.debt_to_income
    if dti is None:
        return False, "dti=undefined (no income)"
    # Shown rounded UP to 4 places, so a value shown as within the limit really is.
    return dti <= t.max_debt_to_income, f"dti={dti.quantize(_DTI_PLACES, rounding=ROUND_UP)}"


def _account_activity(facts: ApplicantFacts, t: scorecard.Thresholds) -> tuple[bool, str]:
    score = facts.account_activity_score
    if score is None:
        return False, "account_activity=unknown"
    return score >= t.min_account_activity, f"account_activity={score}"


_RULES: tuple[tuple[str, _Check], ...] = (
    (IDENTITY_COMPLETE, _identity_complete),
    (ID_UNEXPIRED, _id_unexpired),
    (AGE, _age),
    (MAINLAND_RESIDENT, _mainland_resident),
    (CIVIL_CAPACITY, _civil_capacity),
    (CONSENTS, _consents),
    (CREDIT_REPORT_AVAILABLE, _credit_report_available),
    (NO_CURRENT_OVERDUE, _from_report("current_overdue_accounts", lambda v, t: v == 0)),
    (
        NO_SERIOUS_DELINQUENCY,
        _from_report("worst_dpd_24m", lambda v, t: v <= t.max_worst_dpd_24m),
    ),
    (RECENT_INQUIRIES, _from_report("inquiries_3m", lambda v, t: v <= t.max_inquiries_3m)),
    (INCOME, _income),
    (DEBT_TO_INCOME, _debt_to_income),
    (ACCOUNT_ACTIVITY, _account_activity),
)

RULE_CODES: tuple[str, ...] = tuple(code for code, _ in _RULES)
REASON_CODES: tuple[str, ...] = (*RULE_CODES, LOW_SCORE)


def check_rules(facts: ApplicantFacts, thresholds: scorecard.Thresholds) -> tuple[RuleResult, ...]:
    """Every rule, in a fixed order, all evaluated (not stopping at the first failure)."""
    return tuple(RuleResult(code, *check(facts, thresholds)) for code, check in _RULES)


# --- Assessment ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    scorecard_version: str
    rules: tuple[RuleResult, ...]
    eligible: bool
    score: int | None
    grade: str | None
    points: dict[str, int]  # per characteristic plus "base"; sums to score; {} if no score
    credit_limit: Decimal | None
    daily_rate: Decimal | None
    reasons: tuple[str, ...]  # failed rule codes in rule order, then low_score

    def to_dict(self) -> dict[str, Any]:
        return {
            "scorecard_version": self.scorecard_version,
            "rules": [asdict(rule) for rule in self.rules],
            "eligible": self.eligible,
            "score": self.score,
            "grade": self.grade,
            "points": dict(self.points),
            "credit_limit": None if self.credit_limit is None else str(self.credit_limit),
            "daily_rate": None if self.daily_rate is None else str(self.daily_rate),
            "reasons": list(self.reasons),
        }


def assess(
    facts: ApplicantFacts, *, version: str = scorecard.CURRENT_SCORECARD_VERSION
) -> Assessment:
    """Run the rules and the scorecard of ``version`` over ``facts``."""
    card = scorecard.get_scorecard(version)
    rules = check_rules(facts, card.thresholds)
    points = card.points(facts)
    score = None if points is None else sum(points.values())
    grade = None if score is None else card.grade_for(score)

    reasons = [rule.code for rule in rules if not rule.passed]
    if grade == card.decline_grade:
        reasons.append(LOW_SCORE)
    eligible = not reasons and grade is not None

    credit_limit = daily_rate = None
    if eligible and grade is not None:
        credit_limit = card.credit_line(grade, facts.monthly_income)
        daily_rate = card.grade(grade).daily_rate
    return Assessment(
        scorecard_version=card.version,
        rules=rules,
        eligible=eligible,
        score=score,
        grade=grade,
        points=points or {},
        credit_limit=credit_limit,
        daily_rate=daily_rate,
        reasons=tuple(reasons),
    )


# --- Helpers ------------------------------------------------------------------------------


def _require_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _from_iso(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)
