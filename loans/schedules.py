"""Repayment schedules, accrued interest and APR: pure Decimal calculation (DESIGN §4).

No Django imports and no floats. Every amount that becomes owed is rounded to the fen with
ROUND_HALF_UP (`loans.money.to_fen`); intermediate values (annuity factor, IRR) are computed at
high precision and rounded once.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum

from loans.money import FEN, MAX_AMOUNT, ZERO, is_whole_fen, to_fen

DAYS_PER_MONTH = 30  # PBOC convention: monthly rate = daily rate × 30.
MONTHS_PER_YEAR = 12
LATEST_REPAYMENT_DAY = 28  # so that every month, February included, has the repayment day
INTEREST_FIRST_MAX_TERM = 12
MAX_TERM = 360  # a sanity bound on input, not a product rule (products offer 5, 10, 20)

_PRECISION = 40  # digits for the annuity factor and the IRR, far beyond the fen
_BISECTION_STEPS = 160  # shrinks the IRR bracket by 2**160, about 1e48


class RepaymentMethod(StrEnum):
    """How principal is spread over the instalments."""

    # 等额本息 (equal instalments): the same payment every month; interest falls, principal rises.
    EQUAL_INSTALMENT = "equal_instalment"
    # 等额本金 (equal principal, 微粒贷's own method): the same principal every month.
    EQUAL_PRINCIPAL = "equal_principal"
    # 先息后本 (interest first, principal at the end): only for terms of at most 12 months.
    INTEREST_FIRST = "interest_first"


@dataclass(frozen=True)
class Instalment:
    """One monthly instalment; `remaining_principal` is what is left once it is paid."""

    number: int
    due_date: date
    payment: Decimal
    principal: Decimal
    interest: Decimal
    remaining_principal: Decimal


@dataclass(frozen=True)
class Schedule:
    """A whole repayment schedule as quoted to the borrower."""

    principal: Decimal
    instalments: tuple[Instalment, ...]
    total_interest: Decimal
    total_payment: Decimal
    apr_percent: Decimal  # 年化利率 (APR), IRR-based, percent to 2 decimals


def due_dates(drawdown: date, n: int) -> list[date]:
    """Due dates of `n` monthly instalments for a loan drawn on `drawdown`.

    The repayment day (还款日) is the drawdown's day of month capped at the 28th, so it exists
    in every month; instalment k falls on it in the k-th month after the drawdown month.
    """
    _check_term(n)
    day = min(drawdown.day, LATEST_REPAYMENT_DAY)
    drawdown_month = drawdown.year * 12 + drawdown.month - 1  # months since January, year 0
    return [
        date((drawdown_month + k) // 12, (drawdown_month + k) % 12 + 1, day)
        for k in range(1, n + 1)
    ]


def periodic_rate(daily_rate: Decimal) -> Decimal:
    """Monthly rate r = daily rate × 30 (PBOC convention)."""
    return daily_rate * DAYS_PER_MONTH


def annuity_payment(principal: Decimal, rate: Decimal, n: int) -> Decimal:
    """等额本息 payment A = P·r·(1+r)^n / ((1+r)^n − 1), rounded to the fen; P/n when r = 0."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        if rate == 0:
            return to_fen(principal / n)
        growth = (1 + rate) ** n
        return to_fen(principal * rate * growth / (growth - 1))


def build_schedule(
    *,
    principal: Decimal,
    term: int,
    daily_rate: Decimal,
    method: RepaymentMethod | str,
    drawdown: date,
) -> Schedule:
    """The repayment schedule for a new loan, with its APR.

    Raises ValueError, with a message fit for the person who typed the input, when the amount
    is not a positive whole number of fen, the term is out of range (interest first: at most 12),
    the daily rate is negative or the method is unknown.
    """
    method = _check_method(method)
    principal = _validate_loan(principal=principal, term=term, daily_rate=daily_rate, method=method)
    instalments = _amortise(
        principal=principal,
        due_dates=due_dates(drawdown, term),
        rate=periodic_rate(daily_rate),
        method=method,
    )
    total_interest = sum((i.interest for i in instalments), ZERO)
    return Schedule(
        principal=principal,
        instalments=tuple(instalments),
        total_interest=total_interest,
        total_payment=principal + total_interest,
        apr_percent=apr_percent(
            principal_received=principal, payments=[i.payment for i in instalments]
        ),
    )


def reamortise(
    *,
    principal: Decimal,
    remaining_due_dates: Sequence[date],
    daily_rate: Decimal,
    method: RepaymentMethod | str,
    value_date: date,
    first_number: int = 1,
) -> list[Instalment]:
    """Re-compute the remaining instalments after a partial prepayment on `value_date`.

    DESIGN §4 "Prepayment": same method and count, from the new principal; the next instalment's
    interest is day-count interest (principal × daily rate × days from `value_date` to its due
    date), the later ones as usual (outstanding × r). `first_number` numbers the instalments so
    they can keep their place in the original schedule.

    Equal instalments stay equal: A' is the annuity of the new principal over the remaining
    count, and every instalment pays A' (its principal part is A' minus its interest, the first
    one's counted in days); the last takes whatever principal is left.

    No instalment ever owes 0.00: when the new principal cannot give each remaining instalment
    at least 0.01 of principal (or, interest first, some of them would owe nothing), it is
    spread over fewer, the earliest, and the list is shorter than `remaining_due_dates`; the
    due dates left over owe nothing.
    """
    method = _check_method(method)
    dates = list(remaining_due_dates)
    principal = _validate_loan(
        principal=principal, term=len(dates), daily_rate=daily_rate, method=method
    )
    if any(later <= earlier for earlier, later in zip(dates, dates[1:], strict=False)):
        raise ValueError("remaining due dates must be strictly increasing")
    if value_date >= dates[0]:
        raise ValueError(
            f"prepayment date {value_date} must be before the next due date {dates[0]}"
        )
    first_interest = accrued_interest(
        principal=principal, daily_rate=daily_rate, days=(dates[0] - value_date).days
    )
    count = len(dates)
    if method is not RepaymentMethod.INTEREST_FIRST:
        count = min(count, int(principal / FEN))  # at least one fen of principal each
    while True:
        instalments = _amortise(
            principal=principal,
            due_dates=dates[:count],
            rate=periodic_rate(daily_rate),
            method=method,
            first_interest=first_interest,
            first_number=first_number,
        )
        if count == 1 or all(_owes_something(i, method) for i in instalments):
            return instalments
        count -= 1


def _owes_something(instalment: Instalment, method: RepaymentMethod) -> bool:
    if method is RepaymentMethod.INTEREST_FIRST:
        return instalment.payment > 0
    return instalment.principal > 0


def accrued_interest(*, principal: Decimal, daily_rate: Decimal, days: int) -> Decimal:
    """Interest accrued over `days` days: principal × daily rate × days, rounded to the fen.

    Used for early settlement and for the first period after a partial prepayment.
    """
    if not principal.is_finite() or principal < 0:
        raise ValueError(f"principal must not be negative, got {principal}")
    _check_daily_rate(daily_rate)
    if days < 0:
        raise ValueError(f"days must not be negative, got {days}")
    return to_fen(principal * daily_rate * days)


def monthly_irr(
    *, principal_received: Decimal, payments: Sequence[Decimal], fees_upfront: Decimal = ZERO
) -> Decimal:
    """Monthly internal rate of return of the borrower's cash flows, at high precision.

    The borrower receives `principal_received − fees_upfront` at month 0 and pays `payments[k-1]`
    at month k. The present value of the payments falls strictly as the rate rises, so the root
    is unique; it is bracketed and then bisected a fixed number of times, which is deterministic
    and cannot diverge (Newton's method can, on odd cash flows).
    """
    net = principal_received - fees_upfront
    if not net.is_finite() or net <= 0:
        raise ValueError("the amount received net of upfront fees must be positive")
    if not payments or any(not p.is_finite() or p < 0 for p in payments):
        raise ValueError("payments must be a non-empty list of non-negative amounts")
    if sum(payments) == 0:
        raise ValueError("at least one payment must be positive")

    with localcontext() as ctx:
        ctx.prec = _PRECISION

        def excess(rate: Decimal) -> Decimal:
            """Present value of the payments at `rate` minus the amount received."""
            discount = 1 / (1 + rate)
            factor, total = Decimal(1), Decimal(0)
            for payment in payments:
                factor *= discount
                total += payment * factor
            return total - net

        # `excess` falls from +inf (rate -> -1) to -net (rate -> +inf): bracket its sign change.
        at_zero = excess(Decimal(0))
        if at_zero == 0:
            return Decimal(0)
        if at_zero > 0:  # more is repaid than received: double the upper end
            low, high = Decimal(0), Decimal(1)
            while excess(high) > 0:
                low, high = high, high * 2
        else:  # less is repaid than received: move the lower end halfway towards -1
            low, high = Decimal("-0.5"), Decimal(0)
            while excess(low) < 0:
                low, high = (low - 1) / 2, low
        for _ in range(_BISECTION_STEPS):
            middle = (low + high) / 2
            if excess(middle) > 0:
                low = middle
            else:
                high = middle
        return (low + high) / 2


def apr_percent(
    *, principal_received: Decimal, payments: Sequence[Decimal], fees_upfront: Decimal = ZERO
) -> Decimal:
    """年化利率 (APR) in percent to 2 decimals: monthly IRR × 12 (PBOC announcement [2021] No. 3).

    For instance 18.00 for the worked example in DESIGN §4.
    """
    rate = monthly_irr(
        principal_received=principal_received, payments=payments, fees_upfront=fees_upfront
    )
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return (rate * MONTHS_PER_YEAR * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _amortise(
    *,
    principal: Decimal,
    due_dates: Sequence[date],
    rate: Decimal,
    method: RepaymentMethod,
    first_interest: Decimal | None = None,
    first_number: int = 1,
) -> list[Instalment]:
    """Split `principal` over `due_dates`; interest is outstanding × `rate`.

    `first_interest` replaces the first instalment's interest (day-count interest after a
    prepayment); an equal instalment still pays the level payment, see `reamortise`.

    Principal parts are clamped to [0, outstanding] so that rounding up a level payment or
    principal slice on a tiny loan can never repay more than is owed; the last instalment takes
    whatever is left, so the parts always sum exactly to `principal`.
    """
    n = len(due_dates)
    if method is RepaymentMethod.EQUAL_INSTALMENT:
        level_payment = annuity_payment(principal, rate, n)
    elif method is RepaymentMethod.EQUAL_PRINCIPAL:
        principal_slice = to_fen(principal / n)

    instalments: list[Instalment] = []
    outstanding = principal
    for index, due in enumerate(due_dates):
        month_interest = to_fen(outstanding * rate)
        interest = first_interest if index == 0 and first_interest is not None else month_interest

        if index == n - 1:
            part = outstanding
        elif method is RepaymentMethod.EQUAL_INSTALMENT:
            part = level_payment - interest
        elif method is RepaymentMethod.EQUAL_PRINCIPAL:
            part = principal_slice
        else:  # interest first
            part = ZERO
        part = min(max(part, ZERO), outstanding)

        outstanding -= part
        instalments.append(
            Instalment(
                number=first_number + index,
                due_date=due,
                payment=part + interest,
                principal=part,
                interest=interest,
                remaining_principal=outstanding,
            )
        )
    return instalments


def _check_method(method: RepaymentMethod | str) -> RepaymentMethod:
    try:
        return RepaymentMethod(method)
    except ValueError:
        choices = ", ".join(m.value for m in RepaymentMethod)
        raise ValueError(f"unknown repayment method {method!r}; choose one of {choices}") from None


def _check_term(term: int) -> None:
    if not 1 <= term <= MAX_TERM:
        raise ValueError(f"term must be between 1 and {MAX_TERM} months, got {term}")


def _check_daily_rate(daily_rate: Decimal) -> None:
    if not daily_rate.is_finite() or daily_rate < 0:
        raise ValueError(f"daily rate must be a number not below 0, got {daily_rate}")


def _validate_loan(
    *, principal: Decimal, term: int, daily_rate: Decimal, method: RepaymentMethod
) -> Decimal:
    """Validate a loan's terms and return the principal with exactly two decimals.

    Messages name what the person typed, so callers can show them as they are.
    """
    if not is_whole_fen(principal) or not 0 < principal <= MAX_AMOUNT:
        raise ValueError(
            f"loan amount must be a whole number of fen between 0.01 and {MAX_AMOUNT:,},"
            f" got {principal}"
        )
    _check_term(term)
    _check_daily_rate(daily_rate)
    if method is RepaymentMethod.INTEREST_FIRST and term > INTEREST_FIRST_MAX_TERM:
        raise ValueError(
            f"interest_first (先息后本) allows terms of at most {INTEREST_FIRST_MAX_TERM} months,"
            f" got {term}"
        )
    return principal.quantize(FEN)
