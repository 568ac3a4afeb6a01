"""Eligibility rules and the versioned points scorecard behind 授信 (credit assessment).

Plain Python with no Django imports: the application service gathers :class:`ApplicantFacts`,
calls :func:`assess` and stores both ``facts.to_dict()`` and ``assessment.to_dict()``. Because a
:class:`Scorecard` version fixes every threshold, band and price, re-running the stored facts
against the stored version reproduces the decision exactly, which is what an auditor or a
complaint handler needs.

Decision = every eligibility rule passes AND the score's grade is not the declining grade.
The score is computed whenever its inputs exist, even if a rule failed, so staff can explain a
decline; the credit line (授信额度) and daily rate (日利率) are only given when eligible.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date
from decimal import ROUND_FLOOR, ROUND_UP, Decimal
from typing import Any

from loans.kyc import age_on

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
CIVIL_CAPACITIES = ("full", "limited", "none")

# The product's price band: 0.02 %–0.05 % per day (APR at most 18 %, well under the 24 % cap).
MIN_DAILY_RATE = Decimal("0.000200")
MAX_DAILY_RATE = Decimal("0.000500")
_CENT = Decimal("0.01")
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


# --- Scorecard ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """Eligibility limits; part of a scorecard version so that a version fixes them."""

    min_age: int
    max_age: int  # inclusive: aged exactly max_age passes, max_age + 1 fails (as loans.kyc)
    min_monthly_income: Decimal
    max_debt_to_income: Decimal
    max_worst_dpd_24m: int
    max_inquiries_3m: int
    min_account_activity: int


@dataclass(frozen=True)
class Characteristic:
    """Points by band. ``bands`` are ``(lower bound, points)`` pairs in ascending order; a
    value scores the points of the last band whose lower bound it reaches."""

    name: str
    bands: tuple[tuple[Decimal | int, int], ...]

    def __post_init__(self) -> None:
        bounds = [bound for bound, _ in self.bands]
        if not bounds or any(a >= b for a, b in zip(bounds, bounds[1:], strict=False)):
            raise ValueError(f"{self.name}: bands must be non-empty and strictly ascending")

    def points_for(self, value: Decimal | int) -> int:
        index = bisect.bisect_right([bound for bound, _ in self.bands], value) - 1
        if index < 0:
            raise ValueError(f"{self.name}: {value} is below the first band")
        return self.bands[index][1]

    @property
    def worst_points(self) -> int:
        return min(points for _, points in self.bands)


@dataclass(frozen=True)
class Grade:
    """An approving grade: scores from ``min_score`` up, priced and sized together."""

    name: str
    min_score: int
    daily_rate: Decimal
    income_multiplier: Decimal  # credit line = monthly income x this ...
    line_cap: Decimal  # ... but never more than this


@dataclass(frozen=True)
class Scorecard:
    """One immutable version of the rules' thresholds, the points table and the pricing."""

    version: str
    thresholds: Thresholds
    base_points: int
    age: Characteristic  # full years on as_of
    monthly_income: Characteristic  # CNY
    debt_to_income: Characteristic  # no income scores the worst band
    worst_dpd_24m: Characteristic
    inquiries_3m: Characteristic
    account_activity: Characteristic
    id_validity: Characteristic  # days of validity left on as_of (expired counts as 0)
    long_term_id_points: int  # a 长期 ID never expires
    grades: tuple[Grade, ...]  # approving grades, best (highest min_score) first
    decline_grade: str  # any score below the last approving grade
    line_step: Decimal  # credit lines are rounded down to a multiple of this
    line_floor: Decimal
    line_ceiling: Decimal

    def __post_init__(self) -> None:
        scores = [grade.min_score for grade in self.grades]
        if not scores or any(a <= b for a, b in zip(scores, scores[1:], strict=False)):
            raise ValueError(f"{self.version}: grades must be best first with distinct cut-offs")
        for grade in self.grades:
            if not MIN_DAILY_RATE <= grade.daily_rate <= MAX_DAILY_RATE:
                raise ValueError(f"{self.version}: grade {grade.name} rate outside the band")
            if grade.line_cap % self.line_step or grade.line_cap > self.line_ceiling:
                raise ValueError(f"{self.version}: grade {grade.name} cap is not a valid line")
        if self.line_floor % self.line_step or self.line_ceiling % self.line_step:
            raise ValueError(f"{self.version}: floor and ceiling must be multiples of the step")

    def points(self, facts: ApplicantFacts) -> dict[str, int] | None:
        """Points per characteristic plus ``base``; None when an input is missing."""
        report = facts.credit_report
        if facts.birth_date is None or report is None or facts.account_activity_score is None:
            return None
        dti = facts.debt_to_income
        if facts.id_expiry_date is None:
            id_points = self.long_term_id_points
        else:
            days_left = max((facts.id_expiry_date - facts.as_of).days, 0)
            id_points = self.id_validity.points_for(days_left)
        return {
            "base": self.base_points,
            self.age.name: self.age.points_for(age_on(facts.birth_date, facts.as_of)),
            self.monthly_income.name: self.monthly_income.points_for(facts.monthly_income),
            self.debt_to_income.name: (
                self.debt_to_income.worst_points
                if dti is None
                else self.debt_to_income.points_for(dti)
            ),
            self.worst_dpd_24m.name: self.worst_dpd_24m.points_for(report.worst_dpd_24m),
            self.inquiries_3m.name: self.inquiries_3m.points_for(report.inquiries_3m),
            self.account_activity.name: self.account_activity.points_for(
                facts.account_activity_score
            ),
            self.id_validity.name: id_points,
        }

    def grade_for(self, score: int) -> str:
        for grade in self.grades:
            if score >= grade.min_score:
                return grade.name
        return self.decline_grade

    def grade(self, name: str) -> Grade:
        for grade in self.grades:
            if grade.name == name:
                return grade
        raise KeyError(f"scorecard {self.version} has no approving grade {name!r}")

    def credit_line(self, grade_name: str, monthly_income: Decimal) -> Decimal:
        """Income x the grade's multiplier, capped by the grade, rounded DOWN to the step (a
        line is a promise; rounding up would lend more than the policy allows), then kept
        within the product's floor and ceiling."""
        grade = self.grade(grade_name)
        raw = min(monthly_income * grade.income_multiplier, grade.line_cap)
        stepped = (raw / self.line_step).to_integral_value(ROUND_FLOOR) * self.line_step
        return max(self.line_floor, min(self.line_ceiling, stepped)).quantize(_CENT)


def _bands(*pairs: tuple[str | int, int]) -> tuple[tuple[Decimal | int, int], ...]:
    """Bands written with strings for Decimal bounds, so tables read like the policy."""
    return tuple((Decimal(b) if isinstance(b, str) else b, p) for b, p in pairs)


SCORECARD_2026_1 = Scorecard(
    version="2026.1",
    thresholds=Thresholds(
        min_age=18,
        max_age=60,
        min_monthly_income=Decimal("2000"),
        max_debt_to_income=Decimal("0.50"),
        max_worst_dpd_24m=30,
        max_inquiries_3m=6,
        min_account_activity=30,
    ),
    base_points=300,
    age=Characteristic(
        "age", _bands((0, 0), (18, 10), (22, 25), (26, 45), (36, 50), (46, 40), (56, 25), (61, 0))
    ),
    monthly_income=Characteristic(
        "monthly_income",
        _bands(("0", 0), ("2000", 20), ("5000", 45), ("10000", 65), ("20000", 80)),
    ),
    debt_to_income=Characteristic(
        "debt_to_income",
        _bands(("0", 70), ("0.10", 55), ("0.20", 40), ("0.30", 25), ("0.40", 10), ("0.50", 0)),
    ),
    worst_dpd_24m=Characteristic(
        "worst_dpd_24m", _bands((0, 80), (1, 50), (8, 20), (31, 0), (61, -40))
    ),
    inquiries_3m=Characteristic("inquiries_3m", _bands((0, 50), (1, 40), (3, 20), (5, 5), (7, 0))),
    account_activity=Characteristic(
        "account_activity", _bands((0, 0), (30, 15), (50, 35), (70, 50), (85, 60))
    ),
    id_validity=Characteristic("id_validity", _bands((0, 0), (180, 10), (730, 15))),
    long_term_id_points=20,
    # Score range 260-710. Rates 0.02 %-0.05 %/day = 7.2 %-18 % nominal a year.
    grades=(
        Grade("A", 620, Decimal("0.000200"), Decimal("5"), Decimal("200000")),
        Grade("B", 560, Decimal("0.000300"), Decimal("4"), Decimal("100000")),
        Grade("C", 500, Decimal("0.000400"), Decimal("3"), Decimal("50000")),
        Grade("D", 440, Decimal("0.000500"), Decimal("2"), Decimal("20000")),
    ),
    decline_grade="E",
    line_step=Decimal("100"),
    line_floor=Decimal("500"),
    # 200,000 CNY: the per-borrower cap on a bank's internet consumer credit line.
    line_ceiling=Decimal("200000"),
)

SCORECARDS: dict[str, Scorecard] = {SCORECARD_2026_1.version: SCORECARD_2026_1}
CURRENT_SCORECARD_VERSION = SCORECARD_2026_1.version


def get_scorecard(version: str) -> Scorecard:
    try:
        return SCORECARDS[version]
    except KeyError:
        known = ", ".join(sorted(SCORECARDS))
        raise ValueError(f"unknown scorecard version {version!r} (known: {known})") from None


# --- Eligibility rules --------------------------------------------------------------------


@dataclass(frozen=True)
class RuleResult:
    code: str
    passed: bool
    detail: str  # the measured value, e.g. "dti=0.6200"


_Check = Callable[[ApplicantFacts, Thresholds], tuple[bool, str]]


def _identity_complete(facts: ApplicantFacts, t: Thresholds) -> tuple[bool, str]:
    return facts.identity_complete, f"identity_complete={facts.identity_complete}"


def _id_unexpired(facts: ApplicantFacts, t: Thresholds) -> tuple[bool, str]:
    if facts.id_expiry_date is None:
        return True, "id_expiry=long-term"
    return facts.id_expiry_date >= facts.as_of, f"id_expiry={facts.id_expiry_date.isoformat()}"


def _age(facts: ApplicantFacts, t: Thresholds) -> tuple[bool, str]:
    if facts.birth_date is None:
        return False, "age=unknown"
    age = age_on(facts.birth_date, facts.as_of)
    return t.min_age <= age <= t.max_age, f"age={age}"


def _mainland_resident(facts: ApplicantFacts, t: Thresholds) -> tuple[bool, str]:
    return facts.mainland_resident, f"mainland_resident={facts.mainland_resident}"


def _civil_capacity(facts: ApplicantFacts, t: Thresholds) -> tuple[bool, str]:
    return facts.civil_capacity == "full", f"civil_capacity={facts.civil_capacity}"


def _consents(facts: ApplicantFacts, t: Thresholds) -> tuple[bool, str]:
    return (
        facts.data_consent and facts.credit_query_consent,
        f"data_consent={facts.data_consent},credit_query_consent={facts.credit_query_consent}",
    )


def _credit_report_available(facts: ApplicantFacts, t: Thresholds) -> tuple[bool, str]:
    present = facts.credit_report is not None
    return present, f"credit_report={'present' if present else 'missing'}"


def _from_report(field_name: str, passes: Callable[[int, Thresholds], bool]) -> _Check:
    """A rule on one credit-report figure; without a report it fails instead of crashing."""

    def check(facts: ApplicantFacts, t: Thresholds) -> tuple[bool, str]:
        if facts.credit_report is None:
            return False, "credit_report=missing"
        value = getattr(facts.credit_report, field_name)
        return passes(value, t), f"{field_name}={value}"

    return check


def _income(facts: ApplicantFacts, t: Thresholds) -> tuple[bool, str]:
    return facts.monthly_income >= t.min_monthly_income, f"monthly_income={facts.monthly_income}"


def _debt_to_income(facts: ApplicantFacts, t: Thresholds) -> tuple[bool, str]:
    dti = facts.debt_to_income
    if dti is None:
        return False, "dti=undefined (no income)"
    # Shown rounded UP to 4 places, so a value shown as within the limit really is.
    return dti <= t.max_debt_to_income, f"dti={dti.quantize(_DTI_PLACES, rounding=ROUND_UP)}"


def _account_activity(facts: ApplicantFacts, t: Thresholds) -> tuple[bool, str]:
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


def check_rules(facts: ApplicantFacts, thresholds: Thresholds) -> tuple[RuleResult, ...]:
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


def assess(facts: ApplicantFacts, *, version: str = CURRENT_SCORECARD_VERSION) -> Assessment:
    """Run the rules and the scorecard of ``version`` over ``facts``."""
    card = get_scorecard(version)
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
