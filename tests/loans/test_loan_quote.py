"""`manage.py loan_quote`: the schedule a member of staff or a script sees, and its errors."""

import json
import subprocess
import sys
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKED_EXAMPLE = [
    "--amount",
    "10000",
    "--term",
    "10",
    "--daily-rate",
    "0.0005",
    "--method",
    "equal_instalment",
    "--start",
    "2026-01-15",
]


def quote(*args: str) -> str:
    out = StringIO()
    call_command("loan_quote", *args, stdout=out)
    return out.getvalue()


def test_json_reproduces_the_worked_example_to_the_fen():
    result = json.loads(quote(*WORKED_EXAMPLE, "--json"))

    assert result["apr_percent"] == "18.00"
    assert result["total_interest"] == "843.41"
    assert result["total_payment"] == "10843.41"
    assert result["amount"] == "10000.00"
    assert result["term"] == 10
    assert result["method"] == "equal_instalment"
    assert result["daily_rate"] == "0.0005"
    rows = result["instalments"]
    assert [row["number"] for row in rows] == list(range(1, 11))
    assert [row["payment"] for row in rows] == ["1084.34"] * 9 + ["1084.35"]
    assert [row["interest"] for row in rows[:3]] == ["150.00", "135.98", "121.76"]
    assert rows[0] == {
        "number": 1,
        "due_date": "2026-02-15",
        "payment": "1084.34",
        "principal": "934.34",
        "interest": "150.00",
        "remaining_principal": "9065.66",
    }
    assert rows[-1]["due_date"] == "2026-11-15"
    assert rows[-1]["principal"] == "1068.33"
    assert rows[-1]["remaining_principal"] == "0.00"


def test_table_shows_every_instalment_the_totals_and_the_apr():
    lines = quote(*WORKED_EXAMPLE).splitlines()

    assert lines[0] == "APR (年化利率): 18.00 %"
    first = next(line for line in lines if line.split()[:2] == ["1", "2026-02-15"])
    assert first.split() == ["1", "2026-02-15", "1,084.34", "934.34", "150.00", "9,065.66"]
    last = next(line for line in lines if line.split()[:2] == ["10", "2026-11-15"])
    assert last.split() == ["10", "2026-11-15", "1,084.35", "1,068.33", "16.02", "0.00"]
    assert "Total interest: 843.41 CNY" in lines


def test_start_defaults_to_today_in_shanghai():
    # 2026-01-30 17:00 UTC is already 01:00 on the 31st in Shanghai: repayment day 28.
    with time_machine.travel("2026-01-30T17:00:00Z", tick=False):
        result = json.loads(
            quote(
                "--amount",
                "1000",
                "--term",
                "5",
                "--daily-rate",
                "0.0005",
                "--method",
                "equal_principal",
                "--json",
            )
        )

    assert result["start"] == "2026-01-31"
    assert result["instalments"][0]["due_date"] == date(2026, 2, 28).isoformat()


BAD_ARGUMENTS = [
    (["--amount", "ten thousand"], "amount must be a number"),
    (["--amount", "100.001"], "whole number of fen"),
    (["--amount", "0"], "loan amount"),
    (["--amount", "-100"], "loan amount"),
    (["--method", "balloon"], "unknown repayment method"),
    (["--term", "0"], "term must be between 1 and"),
    (["--term", "1.5"], "term must be a whole number"),
    (["--term", "13", "--method", "interest_first"], "at most 12 months"),
    (["--start", "2026-02-30"], "start must be a date"),
    (["--daily-rate", "-0.0001"], "daily rate"),
    (["--daily-rate", "abc"], "daily rate"),
]


def with_overrides(overrides: list[str]) -> list[str]:
    """The worked example's arguments with some replaced; argparse keeps the last value."""
    return [*WORKED_EXAMPLE, *overrides]


@pytest.mark.parametrize(("overrides", "message"), BAD_ARGUMENTS)
def test_bad_arguments_raise_a_usage_error(overrides, message):
    with pytest.raises(CommandError, match=message) as error:
        quote(*with_overrides(overrides))

    assert error.value.returncode == 2


@pytest.mark.parametrize(("overrides", "message"), BAD_ARGUMENTS)
def test_bad_arguments_exit_with_status_2_and_one_line_on_stderr(overrides, message):
    completed = subprocess.run(
        [sys.executable, "manage.py", "loan_quote", *with_overrides(overrides)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert completed.returncode == 2
    assert completed.stdout == ""
    error_lines = completed.stderr.strip().splitlines()
    assert len(error_lines) == 1
    assert message in error_lines[0]
