"""Does every balance equal what the ledger says? Set-based checks, one query each."""

from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round

from .models import CreditLine, Instalment, Loan, LoanApplication, LoanTransaction

Kind = LoanTransaction.Kind
MONEY = DecimalField(max_digits=16, decimal_places=2)
ZERO = Value(Decimal("0.00"), output_field=MONEY)
PAYMENT_KINDS = [Kind.REPAYMENT, Kind.REVERSAL]


def _sum(rows: QuerySet, group: str, field: str, kinds: list[str]):
    total = (
        rows.filter(kind__in=kinds)
        .order_by()
        .values(group)
        .annotate(total=Sum(field))
        .values("total")
    )
    return _fen(Coalesce(Subquery(total, output_field=MONEY), ZERO))


def _fen(expression):
    """SQLite adds decimals as floats; rounding to the fen makes equal amounts compare equal."""
    return Round(expression, 2, output_field=MONEY)


def instalment_differences(loans: QuerySet[Loan]) -> list[str]:
    txns = LoanTransaction.objects.filter(instalment=OuterRef("pk"))
    rows = (
        Instalment.objects.filter(loan__in=loans)
        .annotate(
            ledger_principal=_sum(txns, "instalment", "principal", PAYMENT_KINDS),
            ledger_interest=_sum(txns, "instalment", "interest", PAYMENT_KINDS),
            ledger_fee=_sum(txns, "instalment", "fee", PAYMENT_KINDS),
            ledger_penalty_paid=_sum(txns, "instalment", "penalty", PAYMENT_KINDS),
            ledger_penalty_charged=_sum(txns, "instalment", "penalty", [Kind.PENALTY_ACCRUAL])
            - _sum(txns, "instalment", "penalty", [Kind.WAIVER]),
        )
        .filter(
            ~Q(principal_paid=F("ledger_principal"))
            | ~Q(interest_paid=F("ledger_interest"))
            | ~Q(fee_paid=F("ledger_fee"))
            | ~Q(penalty_paid=F("ledger_penalty_paid"))
            | ~Q(penalty_due=F("ledger_penalty_charged"))
        )
        .values_list(
            "loan_id",
            "number",
            "principal_paid",
            "ledger_principal",
            "interest_paid",
            "ledger_interest",
            "penalty_paid",
            "ledger_penalty_paid",
            "penalty_due",
            "ledger_penalty_charged",
        )
    )
    return [
        f"loan {r[0]} instalment {r[1]}: principal paid {r[2]} vs ledger {r[3]}, interest paid "
        f"{r[4]} vs {r[5]}, penalty paid {r[6]} vs {r[7]}, penalty charged {r[8]} vs {r[9]}"
        for r in rows
    ]


def loan_differences(loans: QuerySet[Loan]) -> list[str]:
    txns = LoanTransaction.objects.filter(loan=OuterRef("pk"))
    instalments = Instalment.objects.filter(loan=OuterRef("pk")).order_by().values("loan")

    def inst_sum(expr):
        return _fen(
            Coalesce(
                Subquery(instalments.annotate(t=Sum(expr)).values("t"), output_field=MONEY), ZERO
            )
        )

    rows = (
        loans.annotate(
            scheduled=inst_sum("principal_due"),
            repaid=inst_sum("principal_paid"),
            owed=inst_sum(
                F("principal_due")
                - F("principal_paid")
                + F("interest_due")
                - F("interest_paid")
                + F("penalty_due")
                - F("penalty_paid")
                + F("fee_due")
                - F("fee_paid")
            ),
            disbursed=_sum(txns, "loan", "principal", [Kind.DISBURSEMENT]),
        )
        .filter(
            ~Q(scheduled=F("principal"))
            | ~Q(disbursed=F("principal"))
            | ~Q(outstanding_principal=_fen(F("principal") - F("repaid")))
            | Q(status=Loan.Status.SETTLED, owed__gt=0)
        )
        .values_list(
            "pk",
            "principal",
            "scheduled",
            "disbursed",
            "outstanding_principal",
            "repaid",
            "status",
            "owed",
        )
    )
    return [
        f"loan {r[0]}: principal {r[1]}, scheduled {r[2]}, disbursed {r[3]}, outstanding {r[4]} "
        f"after {r[5]} repaid, status {r[6]} with {r[7]} owed"
        for r in rows
    ]


def credit_line_differences(lines: QuerySet[CreditLine]) -> list[str]:
    active = Loan.objects.filter(credit_line=OuterRef("pk"), status=Loan.Status.ACTIVE)
    open_apps = LoanApplication.objects.filter(
        credit_line=OuterRef("pk"),
        status__in=[LoanApplication.Status.PENDING_REVIEW, LoanApplication.Status.APPROVED],
    )
    rows = (
        lines.annotate(
            loans_outstanding=_fen(
                Coalesce(
                    Subquery(
                        active.order_by()
                        .values("credit_line")
                        .annotate(t=Sum("outstanding_principal"))
                        .values("t"),
                        output_field=MONEY,
                    ),
                    ZERO,
                )
            ),
            applied=_fen(
                Coalesce(
                    Subquery(
                        open_apps.order_by()
                        .values("credit_line")
                        .annotate(t=Sum("amount"))
                        .values("t"),
                        output_field=MONEY,
                    ),
                    ZERO,
                )
            ),
        )
        .annotate(
            line_outstanding=_fen(F("outstanding_principal")),
            line_reserved=_fen(F("reserved_amount")),
        )
        .filter(~Q(line_outstanding=F("loans_outstanding")) | ~Q(line_reserved=F("applied")))
        .values_list(
            "pk", "outstanding_principal", "loans_outstanding", "reserved_amount", "applied"
        )
    )
    return [
        f"credit line {r[0]}: outstanding {r[1]} but loans owe {r[2]}; reserved {r[3]} but open "
        f"applications hold {r[4]}"
        for r in rows
    ]


def differences(loans: QuerySet[Loan] | None = None) -> list[str]:
    loans = loans if loans is not None else Loan.objects.all()
    lines = CreditLine.objects.filter(pk__in=loans.values("credit_line"))
    return instalment_differences(loans) + loan_differences(loans) + credit_line_differences(lines)
