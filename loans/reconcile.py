"""Does every balance equal what the ledger says? Set-based checks, one query each.

Written off: an instalment closed by a write-off owes exactly what its WRITE_OFF rows moved off
the books, and the loan's outstanding principal is what was neither repaid nor written off.
Refunds: a loan's "to refund" (received beyond everything owed, less refunds paid) is never
negative, its REFUND rows are exactly its paid refunds, and the refunds holding money never
exceed what was received beyond everything owed.
Schedule revisions (hardship plans): penalty waived (WAIVER rows) and penalty moved between a
loan's instalments (RESCHEDULE rows, which add up to nothing per loan) count in what each
instalment was charged; a loan whose accrual stopped has no penalty accrued after that day.
"""

from decimal import Decimal

from django.db.models import (
    Case,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from .fields import in_fen
from .models import (
    CreditLine,
    Instalment,
    Loan,
    LoanApplication,
    LoanTransaction,
    Refund,
    Repayment,
    WriteOff,
)
from .models.lending import outstanding_sum

Kind = LoanTransaction.Kind
MONEY = DecimalField(max_digits=16, decimal_places=2)
ZERO = Value(Decimal("0.00"), output_field=MONEY)
PAYMENT_KINDS = [Kind.REPAYMENT, Kind.REVERSAL]
RECOVERY_KINDS = [Kind.RECOVERY, Kind.REVERSAL]  # a reversed recovery's mirror is negative
COMPONENTS = ["principal", "interest", "penalty", "fee"]


def _sum(rows: QuerySet, group: str, field: str, kinds: list[str]):
    total = (
        rows.filter(kind__in=kinds)
        .order_by()
        .values(group)
        .annotate(total=Sum(field))
        .values("total")
    )
    return _fen(Coalesce(Subquery(total, output_field=MONEY), ZERO))


_fen = in_fen  # SQLite adds decimals as floats; rounded, equal amounts compare equal


def _yuan(value) -> str:
    return f"{Decimal(str(value or 0)):.2f}"


def instalment_differences(loans: QuerySet[Loan]) -> list[str]:
    txns = LoanTransaction.objects.filter(instalment=OuterRef("pk"))
    rows = (
        Instalment.objects.filter(loan__in=loans)
        .annotate(
            ledger_principal=_sum(txns, "instalment", "principal", PAYMENT_KINDS),
            ledger_interest=_sum(txns, "instalment", "interest", PAYMENT_KINDS),
            ledger_fee=_sum(txns, "instalment", "fee", PAYMENT_KINDS),
            ledger_penalty_paid=_sum(txns, "instalment", "penalty", PAYMENT_KINDS),
            ledger_penalty_charged=_fen(
                _sum(txns, "instalment", "penalty", [Kind.PENALTY_ACCRUAL, Kind.RESCHEDULE])
                - _sum(txns, "instalment", "penalty", [Kind.WAIVER])
            ),
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
            owed=inst_sum(outstanding_sum()),
            disbursed=_sum(txns, "loan", "principal", [Kind.DISBURSEMENT]),
            written_off=_sum(txns, "loan", "principal", [Kind.WRITE_OFF]),
        )
        .filter(
            ~Q(scheduled=F("principal"))
            | ~Q(disbursed=F("principal"))
            | ~Q(outstanding_principal=_fen(F("principal") - F("repaid") - F("written_off")))
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
            "written_off",
        )
    )
    return [
        f"loan {r[0]}: principal {r[1]}, scheduled {r[2]}, disbursed {r[3]}, outstanding {r[4]} "
        f"after {r[5]} repaid and {r[8]} written off, status {r[6]} with {r[7]} owed"
        for r in rows
    ]


def written_off_instalment_differences(loans: QuerySet[Loan]) -> list[str]:
    """A written-off instalment's WRITE_OFF rows equal what it still owes, component by
    component; any other instalment has none."""
    txns = LoanTransaction.objects.filter(instalment=OuterRef("pk"))
    written_off = Q(status=Instalment.Status.WRITTEN_OFF)
    ledger = {f"wo_{c}": _sum(txns, "instalment", c, [Kind.WRITE_OFF]) for c in COMPONENTS}
    owed = {
        f"owed_{c}": Case(
            When(written_off, then=_fen(F(f"{c}_due") - F(f"{c}_paid"))),
            default=ZERO,
            output_field=MONEY,
        )
        for c in COMPONENTS
    }
    mismatch = Q()
    for c in COMPONENTS:
        mismatch |= ~Q(**{f"wo_{c}": F(f"owed_{c}")})
    rows = (
        Instalment.objects.filter(loan__in=loans)
        .annotate(**ledger, **owed)
        .filter(mismatch)
        .values_list("loan_id", "number", "status", *ledger, *owed)
    )
    return [
        f"loan {r[0]} instalment {r[1]} ({r[2]}): written off (principal, interest, penalty, "
        f"fee) {r[3:7]} but owes {r[7:11]}"
        for r in rows
    ]


def write_off_differences(loans: QuerySet[Loan]) -> list[str]:
    """A written-off loan has no open instalment, its approved write-off's totals are its
    WRITE_OFF rows, and its recoveries never exceed them; no other loan has any of these."""
    txns = LoanTransaction.objects.filter(loan=OuterRef("pk"))
    approved = WriteOff.objects.filter(loan=OuterRef("pk"), status=WriteOff.Status.APPROVED)
    ledger = {f"wo_{c}": _sum(txns, "loan", c, [Kind.WRITE_OFF]) for c in COMPONENTS}
    approved_totals = {
        f"approved_{c}": _fen(Coalesce(Subquery(approved.values(c)[:1], output_field=MONEY), ZERO))
        for c in COMPONENTS
    }
    written_off_total = sum((F(f"wo_{c}") for c in COMPONENTS[1:]), F("wo_principal"))
    mismatch = ~Q(recovered=0) & ~Q(status=Loan.Status.WRITTEN_OFF)
    for c in COMPONENTS:
        mismatch |= ~Q(**{f"wo_{c}": F(f"approved_{c}")})
    rows = (
        loans.annotate(
            **ledger,
            **approved_totals,
            recovered=_sum(txns, "loan", "amount", RECOVERY_KINDS),
            open_instalments=Exists(Instalment.objects.open().filter(loan=OuterRef("pk"))),
        )
        .filter(
            mismatch
            | Q(status=Loan.Status.WRITTEN_OFF, open_instalments=True)
            | Q(recovered__lt=0)
            | Q(recovered__gt=_fen(written_off_total))
        )
        .values_list("pk", "status", "open_instalments", "recovered", *ledger, *approved_totals)
    )
    return [
        f"loan {r[0]} ({r[1]}): open instalments {r[2]}, recovered {r[3]}; written off "
        f"(principal, interest, penalty, fee) {r[4:8]} in the ledger, {r[8:12]} approved"
        for r in rows
    ]


def revision_differences(loans: QuerySet[Loan]) -> list[str]:
    """A loan's RESCHEDULE rows only move what was charged (each component adds up to zero),
    and no penalty accrues on a loan after the day its accrual stopped."""
    txns = LoanTransaction.objects.filter(loan=OuterRef("pk"))
    moved = {f"moved_{c}": _sum(txns, "loan", c, [Kind.RESCHEDULE]) for c in COMPONENTS}
    mismatch = Q(accrued_after_stop=True)
    for c in COMPONENTS:
        mismatch |= ~Q(**{f"moved_{c}": 0})
    rows = (
        loans.annotate(
            **moved,
            accrued_after_stop=Exists(
                LoanTransaction.objects.filter(
                    loan=OuterRef("pk"),
                    kind=Kind.PENALTY_ACCRUAL,
                    value_date__gt=OuterRef("accrual_stopped_on"),
                )
            ),
        )
        .filter(mismatch)
        .values_list("pk", "accrual_stopped_on", "accrued_after_stop", *moved)
    )
    return [
        f"loan {r[0]}: schedule revisions moved (principal, interest, penalty, fee) {r[3:7]} "
        f"instead of nothing; penalty accrued after accrual stopped on {r[1]}: {r[2]}"
        for r in rows
    ]


def refund_differences(loans: QuerySet[Loan]) -> list[str]:
    """Per loan: received beyond everything owed (posted repayments' `unapplied`) less the
    REFUND rows is never negative; the REFUND rows are the paid refunds; the refunds holding
    money (waiting, sent, paid) never exceed what was received beyond everything owed."""

    def total(queryset, field):
        return _fen(
            Coalesce(
                Subquery(
                    queryset.order_by().values("loan").annotate(t=Sum(field)).values("t"),
                    output_field=MONEY,
                ),
                ZERO,
            )
        )

    refunds = Refund.objects.filter(loan=OuterRef("pk"))
    rows = (
        loans.annotate(
            received=total(
                Repayment.objects.filter(loan=OuterRef("pk"), status=Repayment.Status.POSTED),
                "unapplied",
            ),
            refunded=_sum(
                LoanTransaction.objects.filter(loan=OuterRef("pk")), "loan", "amount", [Kind.REFUND]
            ),
            paid=total(refunds.filter(status=Refund.Status.PAID), "amount"),
            holding=total(refunds.filter(status__in=Refund.HOLDING), "amount"),
        )
        .filter(
            ~Q(refunded=F("paid")) | Q(refunded__gt=F("received")) | Q(holding__gt=F("received"))
        )
        .values_list("pk", "received", "refunded", "paid", "holding")
    )
    found = [
        f"loan {r[0]}: received {_yuan(r[1])} beyond what was owed, REFUND rows {_yuan(r[2])}, "
        f"refunds paid {_yuan(r[3])}, refunds holding money {_yuan(r[4])}"
        for r in rows
    ]
    entries = (
        Refund.objects.filter(loan__in=loans)
        .filter(
            Q(status=Refund.Status.PAID, ledger_entry__isnull=True)
            | ~Q(status=Refund.Status.PAID) & Q(ledger_entry__isnull=False)
            | Q(ledger_entry__isnull=False) & ~Q(ledger_entry__amount=F("amount"))
            | Q(ledger_entry__isnull=False) & ~Q(ledger_entry__loan=F("loan"))
        )
        .values_list("reference", "status", "amount", "ledger_entry__amount")
    )
    found += [f"refund {r[0]} ({r[1]}) of {r[2]}: its ledger entry says {r[3]}" for r in entries]
    return found


def credit_line_differences(lines: QuerySet[CreditLine]) -> list[str]:
    active = Loan.objects.filter(credit_line=OuterRef("pk"), status=Loan.Status.ACTIVE)
    open_apps = LoanApplication.objects.filter(
        credit_line=OuterRef("pk"), status__in=LoanApplication.OPEN_STATUSES
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
    return (
        instalment_differences(loans)
        + written_off_instalment_differences(loans)
        + loan_differences(loans)
        + write_off_differences(loans)
        + revision_differences(loans)
        + refund_differences(loans)
        + credit_line_differences(lines)
    )
