"""Product pricing rules, pure: what a product may offer and the 24 % APR cap.

No Django here. Problems come back as codes with parameters; the model turns them into
translated messages.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from .money import to_fen
from .schedules import INTEREST_FIRST_MAX_TERM, RepaymentMethod, apr_percent, build_schedule

APR_CAP_PERCENT = Decimal("24")
# A fee this large could never pass the APR cap; refusing it early keeps the IRR well defined.
MAX_FEE_PERCENT = Decimal("20")
# Due dates do not move the APR (it is computed per month), so any drawdown date will do.
SAMPLE_DRAWDOWN = date(2026, 1, 15)


def default_methods() -> list[str]:
    return [RepaymentMethod.EQUAL_INSTALMENT.value, RepaymentMethod.EQUAL_PRINCIPAL.value]


def default_terms() -> list[int]:
    return [5, 10, 20]


def upfront_fee(amount: Decimal, percent: Decimal) -> Decimal:
    return to_fen(amount * percent / Decimal(100))


@dataclass(frozen=True)
class Problem:
    field: str
    code: str
    params: dict = field(default_factory=dict)


def loan_apr(
    *, amount: Decimal, term: int, daily_rate: Decimal, method: str, fee_percent: Decimal
) -> Decimal:
    """APR (IRR × 12) of the borrower's cash flows, the upfront fee netted from what they get."""
    schedule = build_schedule(
        principal=amount,
        term=term,
        daily_rate=daily_rate,
        method=RepaymentMethod(method),
        drawdown=SAMPLE_DRAWDOWN,
    )
    return apr_percent(
        principal_received=amount,
        payments=[i.payment for i in schedule.instalments],
        fees_upfront=upfront_fee(amount, fee_percent),
    )


class WorstCase(NamedTuple):
    """The highest APR a product can cost and the loan that costs it."""

    apr: Decimal
    method: str
    term: int


def worst_case_apr(
    *,
    methods: Iterable[str],
    terms: Iterable[int],
    amounts: Iterable[Decimal],
    daily_rate: Decimal,
    fee_percent: Decimal,
) -> WorstCase:
    """The figure the 24 % cap is checked against: the highest APR over every combination of
    the given amounts (a product's smallest and largest draw), methods and terms."""
    methods, terms = list(methods), list(terms)
    return max(
        WorstCase(
            loan_apr(
                amount=amount,
                term=term,
                daily_rate=daily_rate,
                method=method,
                fee_percent=fee_percent,
            ),
            method,
            term,
        )
        for amount in amounts
        for method in methods
        for term in terms
    )


def product_problems(
    *,
    methods: list,
    terms: list,
    min_amount: Decimal,
    max_amount: Decimal,
    amount_step: Decimal,
    max_daily_rate: Decimal,
    upfront_fee_percent: Decimal,
    penalty_multiplier: Decimal,
) -> list[Problem]:
    problems: list[Problem] = []
    valid_methods = {m.value for m in RepaymentMethod}
    if not isinstance(methods, list) or not methods or not set(methods) <= valid_methods:
        problems.append(Problem("methods", "methods"))
    if (
        not isinstance(terms, list)
        or not terms
        or not all(isinstance(t, int) and not isinstance(t, bool) and 1 <= t <= 60 for t in terms)
    ):
        problems.append(Problem("terms", "terms"))
    if problems:
        return problems
    if RepaymentMethod.INTEREST_FIRST.value in methods and max(terms) > INTEREST_FIRST_MAX_TERM:
        problems.append(Problem("terms", "interest_first_term", {"max": INTEREST_FIRST_MAX_TERM}))
    if amount_step <= 0 or min_amount <= 0 or min_amount > max_amount:
        problems.append(Problem("min_amount", "amount_range"))
    elif min_amount % amount_step or max_amount % amount_step:
        problems.append(Problem("amount_step", "amount_step"))
    if penalty_multiplier < 1 or penalty_multiplier > 2:
        problems.append(Problem("penalty_multiplier", "penalty_multiplier"))
    if upfront_fee_percent < 0 or upfront_fee_percent >= MAX_FEE_PERCENT:
        problems.append(Problem("upfront_fee_percent", "fee", {"max": MAX_FEE_PERCENT}))
    if max_daily_rate < 0:
        problems.append(Problem("max_daily_rate", "daily_rate"))
    if problems:
        return problems
    worst = worst_case_apr(
        methods=methods,
        terms=terms,
        amounts={min_amount, max_amount},
        daily_rate=max_daily_rate,
        fee_percent=upfront_fee_percent,
    )
    if worst.apr > APR_CAP_PERCENT:
        problems.append(
            Problem(
                "max_daily_rate",
                "apr_cap",
                {**worst._asdict(), "cap": APR_CAP_PERCENT},
            )
        )
    return problems
