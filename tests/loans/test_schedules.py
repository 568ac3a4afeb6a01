"""Properties and worked examples of the pure schedule, interest and APR code (DESIGN §4)."""

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loans.money import parse_amount, to_fen
from loans.schedules import (
    Instalment,
    RepaymentMethod,
    Schedule,
    accrued_interest,
    annuity_payment,
    apr_percent,
    build_schedule,
    due_dates,
    monthly_irr,
    reamortise,
)

D = Decimal
CENT = D("0.01")


def fen(value: Decimal) -> Decimal:
    """Independent half-up rounding, so the tests do not lean on the code under test."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def npv(rate: Decimal, received: Decimal, payments: list[Decimal]) -> Decimal:
    """Net present value of the borrower's cash flows at a monthly `rate`."""
    return received - sum(p / (1 + rate) ** k for k, p in enumerate(payments, start=1))


# --- strategies -------------------------------------------------------------------------------

amounts = st.integers(min_value=10_000, max_value=100_000_000).map(lambda f: D(f).scaleb(-2))
tiny_amounts = st.integers(min_value=1, max_value=1_000).map(lambda f: D(f).scaleb(-2))
daily_rates = st.integers(min_value=0, max_value=2_000).map(lambda k: D(k).scaleb(-6))
drawdowns = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@st.composite
def loans(draw: st.DrawFn, principals: st.SearchStrategy[Decimal] = amounts) -> dict:
    method = draw(st.sampled_from(RepaymentMethod))
    max_term = 12 if method is RepaymentMethod.INTEREST_FIRST else 36
    return {
        "principal": draw(principals),
        "term": draw(st.integers(min_value=1, max_value=max_term)),
        "daily_rate": draw(daily_rates),
        "method": method,
        "drawdown": draw(drawdowns),
    }


def assert_well_formed(instalments: list[Instalment] | tuple[Instalment, ...], principal: Decimal):
    """Invariants every schedule keeps, whatever its method."""
    assert sum(i.principal for i in instalments) == principal
    outstanding = principal
    for i in instalments:
        for amount in (i.payment, i.principal, i.interest, i.remaining_principal):
            assert amount >= 0
            assert amount == fen(amount) and amount.as_tuple().exponent == -2
        assert i.payment == i.principal + i.interest
        outstanding -= i.principal
        assert i.remaining_principal == outstanding
    assert instalments[-1].remaining_principal == 0


# --- the worked example -------------------------------------------------------------------------


def test_worked_example_equal_instalments_reproduces_exactly():
    schedule = build_schedule(
        principal=D("10000.00"),
        term=10,
        daily_rate=D("0.0005"),
        method=RepaymentMethod.EQUAL_INSTALMENT,
        drawdown=date(2026, 1, 15),
    )

    assert [i.payment for i in schedule.instalments] == [D("1084.34")] * 9 + [D("1084.35")]
    assert [i.interest for i in schedule.instalments[:3]] == [D("150.00"), D("135.98"), D("121.76")]
    assert schedule.instalments[0].principal == D("934.34")
    assert schedule.instalments[-1].principal == D("1068.33")
    assert schedule.total_interest == D("843.41")
    assert schedule.total_payment == D("10843.41")
    assert schedule.apr_percent == D("18.00")
    assert [i.number for i in schedule.instalments] == list(range(1, 11))
    assert schedule.instalments[0].due_date == date(2026, 2, 15)
    assert schedule.instalments[-1].due_date == date(2026, 11, 15)


def test_equal_principal_example():
    schedule = build_schedule(
        principal=D("1000.00"),
        term=3,
        daily_rate=D("0.0005"),
        method="equal_principal",
        drawdown=date(2026, 1, 10),
    )

    assert [i.principal for i in schedule.instalments] == [D("333.33"), D("333.33"), D("333.34")]
    assert [i.interest for i in schedule.instalments] == [D("15.00"), D("10.00"), D("5.00")]
    assert schedule.total_interest == D("30.00")


def test_interest_first_example():
    schedule = build_schedule(
        principal=D("5000.00"),
        term=3,
        daily_rate=D("0.0005"),
        method="interest_first",
        drawdown=date(2026, 1, 10),
    )

    assert [i.payment for i in schedule.instalments] == [D("75.00"), D("75.00"), D("5075.00")]
    assert schedule.apr_percent == D("18.00")


# --- properties of every schedule ---------------------------------------------------------------


@given(loans())
def test_principal_parts_sum_exactly_and_every_amount_is_whole_non_negative_fen(loan):
    schedule = build_schedule(**loan)

    assert len(schedule.instalments) == loan["term"]
    assert_well_formed(schedule.instalments, loan["principal"])
    assert schedule.total_interest == sum(i.interest for i in schedule.instalments)
    assert schedule.total_payment == sum(i.payment for i in schedule.instalments)


@given(loans(principals=tiny_amounts))
def test_tiny_loans_never_repay_more_than_is_owed(loan):
    # Rounding a level payment or slice up on a few fen must not overshoot the principal.
    assert_well_formed(build_schedule(**loan).instalments, loan["principal"])


@given(loans())
def test_each_interest_is_outstanding_principal_times_monthly_rate_rounded(loan):
    schedule = build_schedule(**loan)
    monthly = loan["daily_rate"] * 30

    outstanding = loan["principal"]
    for i in schedule.instalments:
        assert i.interest == fen(outstanding * monthly)
        outstanding = i.remaining_principal


@given(loans().filter(lambda loan: loan["method"] is RepaymentMethod.EQUAL_INSTALMENT))
def test_equal_instalments_pay_the_same_amount_except_the_last(loan):
    schedule = build_schedule(**loan)
    payments = [i.payment for i in schedule.instalments]
    r, n = loan["daily_rate"] * 30, loan["term"]

    assert payments[0] == annuity_payment(loan["principal"], r, n)
    assert set(payments[:-1]) <= {payments[0]}
    # The last payment only absorbs rounding: at most a fen per month, compounded.
    assert abs(payments[-1] - payments[0]) <= CENT * n * (1 + r) ** n


def test_annuity_payment_matches_the_formula_and_handles_a_zero_rate():
    assert annuity_payment(D("10000.00"), D("0.015"), 10) == D("1084.34")
    assert annuity_payment(D("1000.00"), D("0"), 3) == D("333.33")


@given(loans().filter(lambda loan: loan["method"] is RepaymentMethod.EQUAL_PRINCIPAL))
def test_equal_principal_repays_the_same_principal_except_the_last(loan):
    schedule = build_schedule(**loan)
    parts = [i.principal for i in schedule.instalments]

    assert set(parts[:-1]) <= {fen(loan["principal"] / loan["term"])}


@given(loans().filter(lambda loan: loan["method"] is RepaymentMethod.INTEREST_FIRST))
def test_interest_first_repays_all_principal_with_the_last(loan):
    schedule = build_schedule(**loan)

    assert [i.principal for i in schedule.instalments[:-1]] == [D("0.00")] * (loan["term"] - 1)
    assert schedule.instalments[-1].principal == loan["principal"]
    expected_interest = fen(loan["principal"] * loan["daily_rate"] * 30)
    assert {i.interest for i in schedule.instalments} == {expected_interest}


def test_interest_first_is_limited_to_twelve_months():
    loan = {"principal": D("1000.00"), "daily_rate": D("0.0005"), "drawdown": date(2026, 1, 1)}
    assert len(build_schedule(**loan, term=12, method="interest_first").instalments) == 12
    with pytest.raises(ValueError, match="at most 12 months"):
        build_schedule(**loan, term=13, method="interest_first")


# --- APR ----------------------------------------------------------------------------------------


@given(loans())
def test_apr_is_the_irr_of_the_cash_flows_times_twelve(loan):
    schedule = build_schedule(**loan)
    payments = [i.payment for i in schedule.instalments]
    principal = loan["principal"]

    rate = monthly_irr(principal_received=principal, payments=payments)
    assert abs(npv(rate, principal, payments)) < D("1e-20") * principal
    # The two-decimal APR is the rounded root: the NPV changes sign within half a step of it.
    half_step = D("0.005") / 1200
    monthly = schedule.apr_percent / 1200
    assert (
        npv(monthly - half_step, principal, payments)
        <= 0
        <= npv(monthly + half_step, principal, payments)
    )
    # Interest is charged on the outstanding principal, so the APR is the nominal rate
    # daily × 360, give or take the APR's own rounding and the fen rounding of each amount
    # (at most ~2 fen a month, over an average balance of about half the principal).
    tolerance = D("0.005") + 24 / principal
    assert abs(schedule.apr_percent - loan["daily_rate"] * 36000) <= tolerance


@given(loans())
def test_apr_of_an_interest_free_loan_is_zero(loan):
    schedule = build_schedule(**{**loan, "daily_rate": D("0")})

    assert schedule.total_interest == 0
    assert schedule.apr_percent == D("0.00")


def test_upfront_fees_raise_the_apr():
    # 900.00 in hand, 1000.00 back after a month: 11.11 % a month, 133.33 % a year.
    assert apr_percent(
        principal_received=D("1000.00"), payments=[D("1000.00")], fees_upfront=D("100.00")
    ) == D("133.33")


def test_apr_can_be_negative_when_less_is_repaid_than_received():
    assert apr_percent(principal_received=D("1000.00"), payments=[D("900.00")]) == D("-120.00")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"principal_received": D("100"), "payments": []},
        {"principal_received": D("100"), "payments": [D("0")]},
        {"principal_received": D("100"), "payments": [D("-1"), D("200")]},
        {"principal_received": D("100"), "payments": [D("110")], "fees_upfront": D("100")},
    ],
)
def test_apr_rejects_cash_flows_without_a_meaningful_rate(kwargs):
    with pytest.raises(ValueError):
        apr_percent(**kwargs)


# --- due dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drawdown", "expected"),
    [
        (date(2026, 1, 31), [date(2026, 2, 28), date(2026, 3, 28), date(2026, 4, 28)]),
        (date(2026, 1, 29), [date(2026, 2, 28), date(2026, 3, 28), date(2026, 4, 28)]),
        (date(2026, 3, 30), [date(2026, 4, 28), date(2026, 5, 28), date(2026, 6, 28)]),
        (date(2026, 1, 28), [date(2026, 2, 28), date(2026, 3, 28), date(2026, 4, 28)]),
        (date(2026, 11, 15), [date(2026, 12, 15), date(2027, 1, 15), date(2027, 2, 15)]),
        (date(2027, 12, 31), [date(2028, 1, 28), date(2028, 2, 28), date(2028, 3, 28)]),
        (date(2024, 1, 1), [date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1)]),
    ],
)
def test_due_dates_fall_on_the_repayment_day_capped_at_the_28th(drawdown, expected):
    assert due_dates(drawdown, 3) == expected


@given(drawdowns, st.integers(min_value=1, max_value=60))
def test_instalment_k_is_due_in_the_kth_month_after_drawdown(drawdown, n):
    dates = due_dates(drawdown, n)

    assert len(dates) == n
    for k, due in enumerate(dates, start=1):
        months_after = (due.year - drawdown.year) * 12 + due.month - drawdown.month
        assert months_after == k
        assert due.day == min(drawdown.day, 28)


# --- bad input ----------------------------------------------------------------------------------

GOOD = {
    "principal": D("1000.00"),
    "term": 10,
    "daily_rate": D("0.0005"),
    "method": "equal_instalment",
    "drawdown": date(2026, 1, 1),
}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"principal": D("0")}, "loan amount"),
        ({"principal": D("-100.00")}, "loan amount"),
        ({"principal": D("100.001")}, "whole number of fen"),
        ({"principal": D("NaN")}, "loan amount"),
        ({"principal": D("1e15")}, "loan amount"),
        ({"term": 0}, "term"),
        ({"term": -3}, "term"),
        ({"term": 361}, "term"),
        ({"daily_rate": D("-0.0001")}, "daily rate"),
        ({"daily_rate": D("Infinity")}, "daily rate"),
        ({"method": "balloon"}, "unknown repayment method 'balloon'"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(override, message):
    with pytest.raises(ValueError, match=message):
        build_schedule(**{**GOOD, **override})


def test_schedule_amounts_always_carry_two_decimals():
    schedule = build_schedule(**{**GOOD, "principal": D("1000"), "term": 1})

    assert isinstance(schedule, Schedule)
    assert str(schedule.principal) == "1000.00"
    assert str(schedule.instalments[0].principal) == "1000.00"


# --- accrued interest and prepayment ------------------------------------------------------------


def test_accrued_interest_rounds_half_up_to_the_fen():
    assert accrued_interest(principal=D("10000.00"), daily_rate=D("0.0005"), days=17) == D("85.00")
    # 0.005 rounds up to a fen (banker's rounding would give 0.00).
    assert accrued_interest(principal=D("1.00"), daily_rate=D("0.0005"), days=10) == D("0.01")
    assert accrued_interest(principal=D("1.00"), daily_rate=D("0.0005"), days=0) == D("0.00")
    with pytest.raises(ValueError, match="days"):
        accrued_interest(principal=D("1.00"), daily_rate=D("0.0005"), days=-1)


def test_reamortise_example_charges_day_count_interest_first_and_keeps_the_payment():
    dates = [date(2026, 3, 28), date(2026, 4, 28), date(2026, 5, 28)]

    instalments = reamortise(
        principal=D("3000.00"),
        remaining_due_dates=dates,
        daily_rate=D("0.0005"),
        method="equal_instalment",
        value_date=date(2026, 3, 18),
        first_number=8,
    )

    assert [i.number for i in instalments] == [8, 9, 10]
    assert [i.due_date for i in instalments] == dates
    # A' = 3000.00 × 0.015 × 1.015³ / (1.015³ − 1) = 1030.15, paid by every instalment but the
    # last; 10 days of interest (3000.00 × 0.0005 × 10 = 15.00) instead of a month's 45.00.
    assert [i.interest for i in instalments] == [D("15.00"), D("29.77"), D("14.77")]
    assert [i.principal for i in instalments] == [D("1015.15"), D("1000.38"), D("984.47")]
    assert [i.payment for i in instalments] == [D("1030.15"), D("1030.15"), D("999.24")]
    assert_well_formed(instalments, D("3000.00"))


def test_equal_instalments_stay_equal_after_a_prepayment():
    """The audit's case: 10,000 over 10 from 2026-01-15, 3,000 prepaid on 03-01 after the
    first instalment (02-15) was paid. Every re-computed instalment pays the same A'."""
    first = build_schedule(
        principal=D("10000.00"),
        term=10,
        daily_rate=D("0.0005"),
        method="equal_instalment",
        drawdown=date(2026, 1, 15),
    ).instalments[0]
    remaining = first.remaining_principal - D("3000.00")
    dates = due_dates(date(2026, 1, 15), 10)[1:]
    instalments = reamortise(
        principal=remaining,
        remaining_due_dates=dates,
        daily_rate=D("0.0005"),
        method="equal_instalment",
        value_date=date(2026, 3, 1),
        first_number=2,
    )
    level = annuity_payment(remaining, D("0.015"), 9)
    assert len(instalments) == 9
    assert {i.payment for i in instalments[:-1]} == {level}
    assert instalments[0].interest == fen(remaining * D("0.0005") * 14)
    assert_well_formed(instalments, remaining)


@pytest.mark.parametrize("method", list(RepaymentMethod))
def test_a_tiny_principal_is_spread_over_fewer_instalments_none_owing_nothing(method):
    """0.05 left over 4 instalments of an equal-principal loan used to leave three of them
    owing 0.00 (and reaching M4+ by date); now it goes into as many as it can fill."""
    dates = [date(2026, 5, 28), date(2026, 6, 28), date(2026, 7, 28), date(2026, 8, 28)]
    for cents in range(1, 12):
        principal = D(cents).scaleb(-2)
        instalments = reamortise(
            principal=principal,
            remaining_due_dates=dates,
            daily_rate=D("0.0005"),
            method=method,
            value_date=date(2026, 5, 20),
            first_number=7,
        )
        assert 1 <= len(instalments) <= len(dates)
        assert [i.due_date for i in instalments] == dates[: len(instalments)]
        assert all(i.payment > 0 for i in instalments)
        assert_well_formed(instalments, principal)


@given(
    loans(),
    st.integers(min_value=1, max_value=100),
    st.integers(min_value=1, max_value=31),
)
def test_reamortised_instalments_keep_every_invariant(loan, percent_left, days_before):
    new_principal = max(fen(loan["principal"] * percent_left / 100), CENT)
    dates = due_dates(loan["drawdown"], loan["term"])
    value_date = dates[0] - timedelta(days=days_before)
    r = loan["daily_rate"] * 30

    instalments = reamortise(
        principal=new_principal,
        remaining_due_dates=dates,
        daily_rate=loan["daily_rate"],
        method=loan["method"],
        value_date=value_date,
    )

    assert_well_formed(instalments, new_principal)
    assert 1 <= len(instalments) <= len(dates)
    assert all(i.payment > 0 for i in instalments)  # no instalment owes nothing
    if loan["method"] is not RepaymentMethod.INTEREST_FIRST:
        assert all(i.principal >= CENT for i in instalments)
    assert instalments[0].interest == fen(new_principal * loan["daily_rate"] * days_before)
    for before, after in zip(instalments, instalments[1:], strict=False):
        assert after.interest == fen(before.remaining_principal * r)
    if loan["method"] is RepaymentMethod.EQUAL_INSTALMENT and len(instalments) == len(dates):
        level = annuity_payment(new_principal, r, len(dates))
        # Every instalment but the last pays A' (unless A' would repay more than is left).
        for i in instalments[:-1]:
            assert i.payment == level or i.remaining_principal == 0


def test_reamortise_refuses_a_value_date_on_or_after_the_next_due_date():
    dates = [date(2026, 3, 28), date(2026, 4, 28)]
    with pytest.raises(ValueError, match="before the next due date"):
        reamortise(
            principal=D("100.00"),
            remaining_due_dates=dates,
            daily_rate=D("0.0005"),
            method="equal_principal",
            value_date=date(2026, 3, 28),
        )
    with pytest.raises(ValueError, match="increasing"):
        reamortise(
            principal=D("100.00"),
            remaining_due_dates=list(reversed(dates)),
            daily_rate=D("0.0005"),
            method="equal_principal",
            value_date=date(2026, 3, 1),
        )


# --- money helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.005", "0.01"), ("0.015", "0.02"), ("2.675", "2.68"), ("-0.005", "-0.01"), ("7", "7.00")],
)
def test_to_fen_rounds_half_up(value, expected):
    assert str(to_fen(D(value))) == expected


@pytest.mark.parametrize(("text", "expected"), [("10000", "10000.00"), (" 0.5 ", "0.50")])
def test_parse_amount_accepts_yuan_with_up_to_two_decimals(text, expected):
    assert str(parse_amount(text)) == expected


@pytest.mark.parametrize("text", ["", "abc", "10.001", "NaN", "Infinity", "1e20"])
def test_parse_amount_rejects_what_is_not_an_amount(text):
    with pytest.raises(ValueError, match="amount"):
        parse_amount(text)
