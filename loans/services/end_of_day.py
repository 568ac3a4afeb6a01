"""日终 (end of day) for a business date, set-based: a handful of SQL statements whose cost
grows with the instalments that change, never a Python loop over loans.

One business date is one transaction, ending with its BusinessDay row: a run that dies halfway
leaves nothing behind, and the next run does the whole day. Two clusters cannot process the
same date: on PostgreSQL the run takes a transaction-level advisory lock first; on SQLite the
IMMEDIATE transaction already lets only one writer in, and the BusinessDay row's uniqueness
stops a second pass either way.
"""

import time
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from .. import delinquency, signals
from ..models import BusinessDay, Instalment, Loan, LoanTransaction

ADVISORY_LOCK_KEY = 4_242_001  # "end of day" in pg_advisory_xact_lock's key space
INSTALMENT = Instalment._meta.db_table
LOAN = Loan._meta.db_table
LEDGER = LoanTransaction._meta.db_table
# The statuses, kind and bucket the statements write or compare, passed as query parameters.
CHOICES = {
    "pending": Instalment.Status.PENDING.value,
    "due": Instalment.Status.DUE.value,
    "overdue": Instalment.Status.OVERDUE.value,
    "paid": Instalment.Status.PAID.value,
    "active": Loan.Status.ACTIVE.value,
    "written_off": Loan.Status.WRITTEN_OFF.value,
    "penalty": LoanTransaction.Kind.PENALTY_ACCRUAL.value,
    "current": delinquency.CURRENT,
}

# The buckets of a loan past due, as literals (they are constants of delinquency).
PAST_DUE_BUCKETS = ", ".join(f"'{bucket}'" for bucket in delinquency.OVERDUE_BUCKETS)

_OWES_NOTHING = (
    "principal_due <= principal_paid AND interest_due <= interest_paid "
    "AND fee_due <= fee_paid AND penalty_due <= penalty_paid"
)


def _days(later: str, earlier: str) -> str:
    """SQL for the whole days between two date expressions."""
    if connection.vendor == "postgresql":
        return f"(({later})::date - ({earlier})::date)"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def _int(expression: str) -> str:
    integer = "bigint" if connection.vendor == "postgresql" else "INTEGER"
    return f"CAST(ROUND({expression}) AS {integer})"


def _penalty_sql() -> tuple[str, str]:
    """(condition, amount in fen) for the instalments whose penalty accrues through %(d)s.

    The amount is exact integer arithmetic in fen, the same on every database: overdue
    principal in fen × daily rate in millionths × multiplier in hundredths, rounded half up
    once per day (+ 0.5e8, integer division by 1e8), times the days not yet charged.
    """
    # Charged from the later of the due date and the last accrual (penalty.accrual_days).
    start = (
        "CASE WHEN i.penalty_accrued_through > i.due_date "
        "THEN i.penalty_accrued_through ELSE i.due_date END"
    )
    # Through the business date, or through the day a hardship plan stopped accrual (停息挂账)
    # if that is earlier (penalty.accrual_days' `stopped_on`).
    through = "CASE WHEN l.accrual_stopped_on < %(d)s THEN l.accrual_stopped_on ELSE %(d)s END"
    condition = f"""
        i.status = %(overdue)s AND l.status = %(active)s
        AND i.principal_due > i.principal_paid
        AND {_days(through, "i.due_date")} > l.grace_days
        AND {start} < {through}
    """
    per_day = (
        f"(({_int('(i.principal_due - i.principal_paid) * 100')}"
        f" * {_int('l.daily_rate * 1000000')} * {_int('l.penalty_multiplier * 100')}"
        " + 50000000) / 100000000)"
    )
    amount = f"({per_day} * {_days(through, start)})"
    return condition, amount


def _bucket(dpd: str) -> str:
    """SQL for `delinquency.bucket_for` of a DPD expression."""
    cases = " ".join(
        f"WHEN {dpd} <= {bound} THEN '{bucket}'" for bound, bucket in delinquency.BUCKET_BOUNDS
    )
    return f"CASE {cases} ELSE '{delinquency.LAST_BUCKET}' END"


def _execute(cursor, sql: str, params: dict) -> int:
    cursor.execute(sql, params)
    return cursor.rowcount


def _scalar(cursor, sql: str, params: dict):
    cursor.execute(sql, params)
    return cursor.fetchone()[0]


def _accrue_penalty(cursor, params: dict) -> int:
    """Charge the day's penalty (ledger rows and instalment balances); the fen charged. On
    PostgreSQL in one statement, which reads the accruing instalments once."""
    condition, amount = _penalty_sql()
    accruing = (
        f"SELECT i.id, i.loan_id, {amount} AS fen FROM {INSTALMENT} i "
        f"JOIN {LOAN} l ON l.id = i.loan_id WHERE {condition}"
    )
    columns = (
        "loan_id, instalment_id, kind, value_date, principal, interest, penalty, fee, "
        "created_at, repayment_id"
    )
    post = "%(penalty)s, %(d)s, 0, 0, ROUND({fen} / 100.0, 2), 0, %(now)s, NULL"
    if connection.vendor == "postgresql":
        return _scalar(
            cursor,
            f"""WITH accrual AS MATERIALIZED ({accruing}),
            charged AS (
                UPDATE {INSTALMENT} AS i
                SET penalty_due = ROUND(i.penalty_due + a.fen / 100.0, 2),
                    penalty_accrued_through = %(d)s
                FROM accrual a WHERE i.id = a.id),
            posted AS (
                INSERT INTO {LEDGER} ({columns})
                SELECT a.loan_id, a.id, {post.format(fen="a.fen")} FROM accrual a
                WHERE a.fen > 0)
            SELECT COALESCE(SUM(fen), 0) FROM accrual""",
            params,
        )
    # SQLite has no data-modifying WITH: the same three steps, each reading the rows again.
    penalty_fen = _scalar(cursor, f"SELECT COALESCE(SUM(fen), 0) FROM ({accruing}) a", params)
    _execute(
        cursor,
        f"INSERT INTO {LEDGER} ({columns}) SELECT i.loan_id, i.id, {post.format(fen=amount)} "
        f"FROM {INSTALMENT} i JOIN {LOAN} l ON l.id = i.loan_id WHERE {condition} AND {amount} > 0",
        params,
    )
    _execute(
        cursor,
        f"""UPDATE {INSTALMENT} AS i
        SET penalty_due = ROUND(i.penalty_due + {amount} / 100.0, 2),
            penalty_accrued_through = %(d)s
        FROM {LOAN} AS l WHERE l.id = i.loan_id AND {condition}""",
        params,
    )
    return penalty_fen


def _set_days_past_due(cursor, params: dict) -> int:
    """Each active loan's DPD and bucket from its oldest overdue instalment; the loans that
    were current until now (newly overdue)."""
    oldest = (
        f"SELECT loan_id, {_days('%(d)s', 'MIN(due_date)')} AS dpd FROM {INSTALMENT} "
        f"WHERE status = %(overdue)s GROUP BY loan_id"
    )
    moved = f"""UPDATE {LOAN} AS l
        SET days_past_due = o.dpd, bucket = {_bucket("o.dpd")},
            write_off_candidate = o.dpd > {delinquency.WRITE_OFF_DPD}
        FROM ({{source}}) AS o
        WHERE l.id = o.loan_id AND l.status = %(active)s AND l.days_past_due <> o.dpd"""
    if connection.vendor == "postgresql":
        # Each loan's DPD before the update comes along, so the loans are read once.
        before = (
            f"SELECT o.loan_id, o.dpd, b.days_past_due AS was FROM ({oldest}) o "
            f"JOIN {LOAN} b ON b.id = o.loan_id"
        )
        return _scalar(
            cursor,
            f"WITH moved AS ({moved.format(source=before)} RETURNING o.was) "
            f"SELECT COUNT(*) FROM moved WHERE was = 0",
            params,
        )
    newly_overdue = _scalar(
        cursor,
        f"SELECT COUNT(*) FROM ({oldest}) o JOIN {LOAN} l ON l.id = o.loan_id "
        f"WHERE l.status = %(active)s AND l.days_past_due = 0",
        params,
    )
    _execute(cursor, moved.format(source=oldest), params)
    return newly_overdue


# The planner settings of the statements that change rows, see _by_index.
BY_INDEX = ("enable_seqscan", "enable_hashjoin", "enable_mergejoin")


@contextmanager
def _by_index(cursor):
    """On PostgreSQL, plan by index only, for the statements that change rows: each starts
    from the few rows an index finds (instalments falling due or overdue, loans past due) and
    joins by key. The planner cannot know how few: it takes status and due date to be
    independent, so it would read every instalment to find the handful still pending before
    the day, and hash whole tables for the joins. The caller's settings come back after (a
    failure rolls them back with the rest)."""
    if connection.vendor != "postgresql":
        yield
        return
    cursor.execute("SELECT " + ", ".join(f"current_setting('{name}')" for name in BY_INDEX))
    before = cursor.fetchone()
    for name in BY_INDEX:
        cursor.execute(f"SET LOCAL {name} = off")
    yield
    for name, value in zip(BY_INDEX, before, strict=True):
        cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def _change_rows(cursor, params: dict) -> tuple[int, int, int, int]:
    """The day's changes; (instalments newly overdue, penalty in fen, loans newly overdue,
    loans cured)."""
    _execute(
        cursor,
        f"UPDATE {INSTALMENT} SET status = %(due)s WHERE status = %(pending)s AND due_date = %(d)s",
        params,
    )
    # Past its date an instalment is overdue, unless it owes nothing: then it is paid
    # (one statement, so the rows falling due are read once).
    newly_overdue_instalments = _execute(
        cursor,
        f"UPDATE {INSTALMENT} SET "
        f"status = CASE WHEN {_OWES_NOTHING} THEN %(paid)s ELSE %(overdue)s END, "
        f"paid_on = CASE WHEN {_OWES_NOTHING} THEN COALESCE(paid_on, due_date) END "
        f"WHERE status IN (%(pending)s, %(due)s) AND due_date < %(d)s",
        params,
    )
    penalty_fen = _accrue_penalty(cursor, params)
    newly_overdue = _set_days_past_due(cursor, params)
    # A written-off loan has no overdue instalment left (they were closed as written off)
    # but is not cured: it keeps the DPD and bucket it was written off with. DPD and bucket
    # are always set together (delinquency.bucket_for), so the loans past due are those in
    # a bucket past current, which its index finds (DPD has none, see Loan).
    newly_cured = _execute(
        cursor,
        f"""UPDATE {LOAN} SET days_past_due = 0, bucket = %(current)s,
            write_off_candidate = FALSE
        WHERE bucket IN ({PAST_DUE_BUCKETS}) AND days_past_due > 0
        AND status <> %(written_off)s AND NOT EXISTS (
            SELECT 1 FROM {INSTALMENT} i
            WHERE i.loan_id = {LOAN}.id AND i.status = %(overdue)s)""",
        params,
    )
    return newly_overdue_instalments, penalty_fen, newly_overdue, newly_cured


def process_business_date(business_date: date) -> BusinessDay | None:
    """Run one date. None when it was already done (by this or another cluster)."""
    started = timezone.now()
    clock = time.monotonic()
    params = {**CHOICES, "d": business_date, "now": started}
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        if BusinessDay.objects.filter(business_date=business_date).exists():
            return None
        with _by_index(cursor):
            newly_overdue_instalments, penalty_fen, newly_overdue, newly_cured = _change_rows(
                cursor, params
            )
        day = BusinessDay(
            business_date=business_date,
            started_at=started,
            penalty_accrued=Decimal(penalty_fen) / 100,
            instalments_overdue=newly_overdue_instalments,
            newly_overdue=newly_overdue,
            newly_cured=newly_cured,
            **_figures(cursor, business_date),
        )
        day.finished_at = timezone.now()
        day.seconds = round(time.monotonic() - clock, 3)
        day.save()
        # Robust: a receiver's failure is logged and never stops the next business date.
        transaction.on_commit(
            lambda: signals.business_day_closed.send(sender=BusinessDay, business_day=day),
            robust=True,
        )
        return day


def _figures(cursor, business_date: date) -> dict:
    # Only active loans are counted; a written-off loan's instalments are closed as written
    # off, so the overdue amounts leave them out too: that money is off the books.
    cursor.execute(
        f"SELECT bucket, COUNT(*), SUM(CASE WHEN write_off_candidate THEN 1 ELSE 0 END), "
        f"COALESCE(SUM(outstanding_principal), 0) "
        f"FROM {LOAN} WHERE status = %(active)s GROUP BY bucket",
        CHOICES,
    )
    rows = cursor.fetchall()
    counts = {bucket: (n, w) for bucket, n, w, _ in rows}
    fen = Decimal("0.01")
    balances = {bucket: Decimal(str(b)).quantize(fen) for bucket, _, _, b in rows}
    # Loans paid out on the calendar day that has just ended: the run for a business date
    # starts just after its midnight (the drawdown date is indexed).
    cursor.execute(
        f"SELECT COUNT(*), COALESCE(SUM(principal), 0) FROM {LOAN} "
        f"WHERE drawdown_date = %(day_before)s",
        {"day_before": business_date - timedelta(days=1)},
    )
    disbursed_loans, disbursed_amount = cursor.fetchone()
    cursor.execute(
        f"SELECT COALESCE(SUM(principal_due - principal_paid), 0), "
        f"COALESCE(SUM(interest_due - interest_paid), 0), "
        f"COALESCE(SUM(penalty_due - penalty_paid), 0) "
        f"FROM {INSTALMENT} WHERE status = %(overdue)s",
        CHOICES,
    )
    principal, interest, penalty = cursor.fetchone()
    zero = Decimal("0.00")
    return {
        "active_loans": sum(n for n, _ in counts.values()),
        "outstanding_principal": sum(balances.values(), zero),
        "balance_current": balances.get(delinquency.CURRENT, zero),
        "balance_m1": balances.get(delinquency.M1, zero),
        "balance_m2": balances.get(delinquency.M2, zero),
        "balance_m3": balances.get(delinquency.M3, zero),
        "balance_m4_plus": balances.get(delinquency.M4_PLUS, zero),
        "disbursed_loans": disbursed_loans,
        "disbursed_amount": Decimal(str(disbursed_amount)).quantize(fen),
        "loans_current": counts.get(delinquency.CURRENT, (0, 0))[0],
        "loans_m1": counts.get(delinquency.M1, (0, 0))[0],
        "loans_m2": counts.get(delinquency.M2, (0, 0))[0],
        "loans_m3": counts.get(delinquency.M3, (0, 0))[0],
        "loans_m4_plus": counts.get(delinquency.M4_PLUS, (0, 0))[0],
        "write_off_candidates": sum(int(w or 0) for _, w in counts.values()),
        "overdue_principal": Decimal(str(principal)).quantize(fen),
        "overdue_interest": Decimal(str(interest)).quantize(fen),
        "overdue_penalty": Decimal(str(penalty)).quantize(fen),
    }


def run_end_of_day(*, through: date | None = None) -> list[BusinessDay]:
    """Process every business date not yet done up to `through` (default: today in
    Asia/Shanghai; the scheduled run starts just after midnight), oldest first, each in its
    own transaction: a business that was down for three days ends up exactly where it would
    have been."""
    through = through or timezone.localdate()
    last = BusinessDay.objects.order_by("-business_date").values_list("business_date", flat=True)
    last_done = last.first()
    day = last_done + timedelta(days=1) if last_done else through
    done = []
    while day <= through:
        result = process_business_date(day)
        if result is not None:
            done.append(result)
        day += timedelta(days=1)
    return done
