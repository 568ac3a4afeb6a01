"""`manage.py loan_quote`: print the repayment schedule and APR of a prospective loan.

A thin caller of `loans.schedules`, for staff answering "what would I pay?" and for scripts
(`--json`). Bad input is a one-line error on stderr and exit status 2, like a usage error.
"""

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from loans.money import parse_amount
from loans.schedules import RepaymentMethod, Schedule, build_schedule

USAGE_ERROR = 2

METHOD_LABELS = {
    RepaymentMethod.EQUAL_INSTALMENT: "等额本息 equal instalments",
    RepaymentMethod.EQUAL_PRINCIPAL: "等额本金 equal principal",
    RepaymentMethod.INTEREST_FIRST: "先息后本 interest first",
}


class Command(BaseCommand):
    help = "Quote a loan: repayment schedule, total interest and APR (年化利率)."

    def add_arguments(self, parser: CommandParser) -> None:
        # Everything is read as text and parsed here, so that every bad value gets the same
        # one-line message and exit status, whether it is malformed or out of range.
        parser.add_argument("--amount", required=True, help="principal in yuan, e.g. 10000.00")
        parser.add_argument("--term", required=True, help="number of monthly instalments")
        parser.add_argument(
            "--daily-rate", required=True, help="daily rate (日利率), e.g. 0.0005 for 0.05 %%/day"
        )
        parser.add_argument(
            "--method",
            required=True,
            help="repayment method: " + ", ".join(m.value for m in RepaymentMethod),
        )
        parser.add_argument(
            "--start", help="drawdown date, YYYY-MM-DD (default: today in Asia/Shanghai)"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            amount = parse_amount(options["amount"])
            term = _parse_term(options["term"])
            daily_rate = _parse_daily_rate(options["daily_rate"])
            drawdown = _parse_date(options["start"]) if options["start"] else timezone.localdate()
            schedule = build_schedule(
                principal=amount,
                term=term,
                daily_rate=daily_rate,
                method=options["method"],
                drawdown=drawdown,
            )
        except ValueError as exc:
            raise CommandError(str(exc), returncode=USAGE_ERROR) from exc

        method = RepaymentMethod(options["method"])
        if options["json"]:
            quote = _as_json(schedule, method=method, daily_rate=daily_rate, drawdown=drawdown)
            self.stdout.write(json.dumps(quote, ensure_ascii=False, indent=2))
        else:
            self.stdout.write(_as_table(schedule, method=method, daily_rate=daily_rate))


def _parse_term(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"term must be a whole number of months, got {text!r}") from None


def _parse_daily_rate(text: str) -> Decimal:
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"daily rate must be a number such as 0.0005, got {text!r}") from None


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"start must be a date as YYYY-MM-DD, got {text!r}") from None


def _as_json(
    schedule: Schedule, *, method: RepaymentMethod, daily_rate: Decimal, drawdown: date
) -> dict[str, Any]:
    """The quote as JSON-ready data; amounts are strings so no float ever touches them."""
    return {
        "amount": str(schedule.principal),
        "term": len(schedule.instalments),
        "method": method.value,
        "daily_rate": str(daily_rate),
        "start": drawdown.isoformat(),
        "apr_percent": str(schedule.apr_percent),
        "total_interest": str(schedule.total_interest),
        "total_payment": str(schedule.total_payment),
        "instalments": [
            {
                "number": i.number,
                "due_date": i.due_date.isoformat(),
                "payment": str(i.payment),
                "principal": str(i.principal),
                "interest": str(i.interest),
                "remaining_principal": str(i.remaining_principal),
            }
            for i in schedule.instalments
        ],
    }


def _as_table(schedule: Schedule, *, method: RepaymentMethod, daily_rate: Decimal) -> str:
    """A right-aligned table, APR first: DESIGN §4 shows it above the daily rate."""
    header = ["No.", "Due date", "Payment", "Principal", "Interest", "Remaining"]
    rows = [
        [
            str(i.number),
            i.due_date.isoformat(),
            f"{i.payment:,}",
            f"{i.principal:,}",
            f"{i.interest:,}",
            f"{i.remaining_principal:,}",
        ]
        for i in schedule.instalments
    ]
    total = [
        "",
        "Total",
        f"{schedule.total_payment:,}",
        f"{schedule.principal:,}",
        f"{schedule.total_interest:,}",
        "",
    ]
    widths = [max(len(row[c]) for row in [header, *rows, total]) for c in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))

    return "\n".join(
        [
            f"APR (年化利率): {schedule.apr_percent} %",
            f"Amount {schedule.principal:,} CNY, {len(schedule.instalments)} months,"
            f" {METHOD_LABELS[method]}, daily rate (日利率) {daily_rate}",
            "",
            line(header),
            *(line(row) for row in rows),
            line(total).rstrip(),
            "",
            f"Total interest: {schedule.total_interest:,} CNY",
        ]
    )
