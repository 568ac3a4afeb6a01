"""The versioned points scorecard behind 授信 (credit assessment): thresholds, points bands,
grades, pricing and credit lines, one immutable :class:`Scorecard` per version.

Plain Python with no Django imports. ``loans.scoring`` runs the eligibility rules and a
scorecard over an applicant's facts; this module knows nothing of ``loans.scoring`` and reads
the facts through the small :class:`ScoredFacts` protocol. Because a version fixes every
threshold, band and price, re-running stored facts against the stored version reproduces the
decision exactly.

The product's rate band and credit-line band are defined here, once: the scorecard prices and
sizes within them, and a staff override is checked against them.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Protocol

from loans.kyc import MAX_AGE, MIN_AGE, age_on

# The product's price band: 0.02 %–0.05 % per day (APR at most 18 %, well under the 24 % cap).
MIN_DAILY_RATE = Decimal("0.000200")
MAX_DAILY_RATE = Decimal("0.000500")
# The product's credit-line band: 授信额度 (credit lines) from 500 to 200,000 CNY in steps of
# 100. 200,000 CNY is the per-borrower cap on a bank's internet consumer credit line.
MIN_CREDIT_LINE = Decimal("500")
MAX_CREDIT_LINE = Decimal("200000")
CREDIT_LINE_STEP = Decimal("100")
_CENT = Decimal("0.01")


# --- What a scorecard reads ---------------------------------------------------------------


class ScoredReport(Protocol):
    """The credit-report figures a scorecard scores."""

    @property
    def worst_dpd_24m(self) -> int: ...

    @property
    def inquiries_3m(self) -> int: ...


class ScoredFacts(Protocol):
    """What a scorecard reads of an applicant; ``loans.scoring.ApplicantFacts`` provides it."""

    @property
    def as_of(self) -> date: ...

    @property
    def birth_date(self) -> date | None: ...

    @property
    def id_expiry_date(self) -> date | None: ...  # None = 长期 (long-term) ID card

    @property
    def monthly_income(self) -> Decimal: ...

    @property
    def debt_to_income(self) -> Decimal | None: ...

    @property
    def account_activity_score(self) -> int | None: ...

    @property
    def credit_report(self) -> ScoredReport | None: ...


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
        if (
            self.line_floor < MIN_CREDIT_LINE
            or self.line_ceiling > MAX_CREDIT_LINE
            or self.line_step % CREDIT_LINE_STEP
        ):
            raise ValueError(f"{self.version}: lines must lie within the product's line band")

    def points(self, facts: ScoredFacts) -> dict[str, int] | None:
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
        min_age=MIN_AGE,
        max_age=MAX_AGE,
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
    line_step=CREDIT_LINE_STEP,
    line_floor=MIN_CREDIT_LINE,
    line_ceiling=MAX_CREDIT_LINE,
)

SCORECARDS: dict[str, Scorecard] = {SCORECARD_2026_1.version: SCORECARD_2026_1}
CURRENT_SCORECARD_VERSION = SCORECARD_2026_1.version


def get_scorecard(version: str) -> Scorecard:
    try:
        return SCORECARDS[version]
    except KeyError:
        known = ", ".join(sorted(SCORECARDS))
        raise ValueError(f"unknown scorecard version {version!r} (known: {known})") from None
