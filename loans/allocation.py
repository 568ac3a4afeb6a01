"""Allocating a payment to what is due, pure.

Oldest instalment first; inside an instalment penalty, then interest, then fees, then principal
(DESIGN §4). What is left over is the caller's to treat as a prepayment.
"""

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal("0.00")
COMPONENTS = ("penalty", "interest", "fee", "principal")


@dataclass(frozen=True)
class Balance:
    """What is still owed on one instalment."""

    key: int
    penalty: Decimal = ZERO
    interest: Decimal = ZERO
    fee: Decimal = ZERO
    principal: Decimal = ZERO


@dataclass(frozen=True)
class Allocation:
    key: int
    penalty: Decimal = ZERO
    interest: Decimal = ZERO
    fee: Decimal = ZERO
    principal: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.penalty + self.interest + self.fee + self.principal


def allocate(amount: Decimal, balances: list[Balance]) -> tuple[list[Allocation], Decimal]:
    """Split `amount` over `balances` (oldest first). Returns the allocations that received
    money and the amount left over."""
    if amount < 0:
        raise ValueError("cannot allocate a negative amount")
    left = amount
    allocations = []
    for balance in balances:
        parts = {}
        for component in COMPONENTS:
            owed = getattr(balance, component)
            if owed < 0:
                raise ValueError(f"instalment {balance.key} owes a negative {component}")
            paid = min(left, owed)
            parts[component] = paid
            left -= paid
        allocation = Allocation(key=balance.key, **parts)
        if allocation.total:
            allocations.append(allocation)
        if not left:
            break
    return allocations, left
