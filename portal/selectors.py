"""The portal's reads of a borrower's own loans: asked on nearly every page, so each is one or
two queries whatever the number of loans and instalments.

Compiling the ORM's SELECT of every column of these wide tables costs more CPU than the
database spends answering it, so these reads are written once, in SQL every supported database
speaks."""

from datetime import date

from loans.models import Borrower, Instalment, Loan
from loans.selectors import LoanSummary, summarise_loan

_BORROWER_LOANS = "SELECT * FROM {loan} WHERE borrower_id = %s{active} ORDER BY id DESC"
_BORROWER_INSTALMENTS = (
    "SELECT * FROM {instalment} WHERE loan_id IN "
    "(SELECT id FROM {loan} WHERE borrower_id = %s{active}) ORDER BY loan_id, number"
)
_BORROWER_LOAN = "SELECT * FROM {loan} WHERE id = %s AND borrower_id = %s"
_SCHEDULE = "SELECT * FROM {instalment} WHERE loan_id = %s ORDER BY number"


def borrower_loan(*, borrower: Borrower, pk: int) -> Loan | None:
    """One of the borrower's loans, or None: another borrower's loan is not found."""
    if not 0 < pk < 2**63:
        return None  # no such key (and SQLite could not even bind it)
    sql = _BORROWER_LOAN.format(loan=Loan._meta.db_table)
    loan = next(iter(Loan.objects.raw(sql, [pk, borrower.pk])), None)
    if loan is not None:
        loan.borrower = borrower
    return loan


def loan_schedule(*, loan) -> list:
    """The loan's instalments in number order, each knowing its loan (no query to read it)."""
    sql = _SCHEDULE.format(instalment=Instalment._meta.db_table)
    instalments = list(Instalment.objects.raw(sql, [loan.pk]))
    for inst in instalments:
        inst.loan = loan
    return instalments


def latest_transactions(*, loan, shown: int) -> tuple[list, int]:
    """The loan's ledger rows newest first, at most `shown`, and how many it has in all: one
    query, and a count only when there are more rows than shown."""
    rows = list(loan.transactions.order_by("-value_date", "-id")[: shown + 1])
    if len(rows) <= shown:
        return rows, len(rows)
    return rows[:shown], loan.transactions.count()


def borrower_loans(*, borrower: Borrower, on: date, active_only: bool = False) -> list[LoanSummary]:
    """The borrower's loans, active first (newest first within each), each with its figures:
    two queries, whatever the number of loans and instalments."""
    tables = {
        "loan": Loan._meta.db_table,
        "instalment": Instalment._meta.db_table,
        "active": " AND status = %s" if active_only else "",
    }
    params = [borrower.pk, Loan.Status.ACTIVE] if active_only else [borrower.pk]
    loans = list(Loan.objects.raw(_BORROWER_LOANS.format(**tables), params))
    schedules_of = {loan.pk: [] for loan in loans}
    for inst in Instalment.objects.raw(_BORROWER_INSTALMENTS.format(**tables), params):
        if inst.loan_id in schedules_of:  # not a loan made between the two reads
            schedules_of[inst.loan_id].append(inst)
    summaries = []
    for loan in loans:
        loan.borrower = borrower
        for inst in schedules_of[loan.pk]:
            inst.loan = loan  # as a prefetch would: no query when a page reads it
        summaries.append(summarise_loan(loan=loan, instalments=schedules_of[loan.pk], on=on))
    return sorted(summaries, key=lambda s: s.loan.status != Loan.Status.ACTIVE)
