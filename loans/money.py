"""Money helpers: CNY amounts as `Decimal`, rounded to the fen (分, 0.01 yuan).

DESIGN §4: every computed amount is rounded to the fen with ROUND_HALF_UP at the point it
becomes an amount owed, and float never touches money. No Django imports: this module is pure
calculation, shared by the models, services and the pure schedule code.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
# The largest amount a DecimalField(max_digits=14, decimal_places=2) can store.
MAX_AMOUNT = Decimal("999999999999.99")


def to_fen(value: Decimal) -> Decimal:
    """Round `value` to the fen, half up (0.005 -> 0.01), as an amount owed is rounded."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def is_whole_fen(value: Decimal) -> bool:
    """True if `value` is a finite amount with nothing below the fen (10.50 yes, 10.505 no)."""
    if not value.is_finite():
        return False
    try:
        return value == value.quantize(FEN)
    except InvalidOperation:  # more digits than the context holds: no amount we could store
        return False


def parse_amount(text: str) -> Decimal:
    """Parse a yuan amount typed by a person ("10000", "10000.5", "0.01") into a fen Decimal.

    Input is rejected rather than rounded: silently turning 10.005 into 10.01 would change what
    the person asked for. The sign is left to the caller (a loan amount must be positive, an
    adjustment may not be). Raises ValueError with a message fit to show to that person.
    """
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        value = Decimal("NaN")
    if not value.is_finite():
        raise ValueError(f"amount must be a number of yuan, e.g. 10000 or 10000.50, got {text!r}")
    if abs(value) > MAX_AMOUNT:
        raise ValueError(f"amount must be at most {MAX_AMOUNT:,}, got {text!r}")
    if not is_whole_fen(value):
        raise ValueError(f"amount must be a whole number of fen (at most 2 decimals), got {text!r}")
    return value.quantize(FEN)
