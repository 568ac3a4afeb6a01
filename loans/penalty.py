"""罚息 (penalty interest) on overdue principal, pure.

Accruing "through date X" charges every day after the date already accrued up to X, each day
rounded to the fen per instalment, on the overdue principal outstanding at that moment. Nothing
accrues while X − due date ≤ grace days; past the grace, the first accrual charges from the day
after the due date. So every day is charged exactly once and re-running a date changes nothing.

A loan whose accrual was stopped (停息挂账, a hardship plan) is charged for no day after its
stop date: accruing through a later date charges only up to the stop date.
"""

from datetime import date
from decimal import Decimal

from .money import to_fen


def accrual_days(
    *,
    due_date: date,
    accrued_through: date | None,
    through: date,
    grace_days: int,
    stopped_on: date | None = None,
) -> int:
    """How many days an accrual through `through` charges (none after `stopped_on`)."""
    if stopped_on is not None and stopped_on < through:
        through = stopped_on
    if (through - due_date).days <= grace_days:
        return 0
    start = accrued_through if accrued_through and accrued_through > due_date else due_date
    return max((through - start).days, 0)


def daily_penalty(
    *, overdue_principal: Decimal, daily_rate: Decimal, multiplier: Decimal
) -> Decimal:
    return to_fen(overdue_principal * daily_rate * multiplier)


def penalty_for_days(
    *, overdue_principal: Decimal, daily_rate: Decimal, multiplier: Decimal, days: int
) -> Decimal:
    """Days charged at one principal: each day rounded on its own, then added up."""
    return (
        daily_penalty(
            overdue_principal=overdue_principal, daily_rate=daily_rate, multiplier=multiplier
        )
        * days
    )


def days_charged_between(
    *,
    due_date: date,
    after: date,
    through: date,
    grace_days: int,
    stopped_on: date | None = None,
) -> int:
    """How many days in (after, through] an overdue instalment is charged penalty for: what a
    reversal re-charges on the restored principal for the days after a payment's value date."""
    if through <= after:
        return 0
    days = {"due_date": due_date, "accrued_through": None, "grace_days": grace_days}
    return max(
        accrual_days(**days, through=through, stopped_on=stopped_on)
        - accrual_days(**days, through=after, stopped_on=stopped_on),
        0,
    )
