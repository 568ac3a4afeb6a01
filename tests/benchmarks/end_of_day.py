r"""Benchmark: one business date of end of day (日终) against two floors of hand-written SQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python tests/benchmarks/end_of_day.py --loans 100000 [--runs 3] \
        [--keep [--db NAME]] [--reuse NAME]

PostgreSQL only (exit 2 otherwise); needs a role that may CREATE DATABASE and CHECKPOINT. It
creates and migrates its own database (`bench_eod_<pid>`, or --db NAME) on the DATABASE_URL
server and builds N 10-instalment loans (with borrowers, assessments, credit lines,
applications, contracts) with set-based SQL as of business date D = 2026-11-25: drawdowns over
the previous ten months, ~5 % overdue across every bucket, ~1 % past due but since paid (cured
by the run), instalments due on D, a tenth of yesterday's instalments unpaid, a few loans
prepaid or settled early. --keep keeps the database as built (D not yet run; pre-run dpd/bucket
in `bench_loan_before`, the plan in `bench_plan`); --reuse NAME measures a kept database again
without rebuilding (migrated first, so new indexes apply).

It then times, alternately, each run in a transaction that is rolled back (after a VACUUM and
CHECKPOINT, so every run starts from the same clean tables; median of --runs, default 3 up to
100,000 loans, else 1):
- the engine, `process_business_date(D)`;
- the floor, the same updates and inserts as the simplest hand-written SQL without the
  engine's bookkeeping (lock, figures, BusinessDay row);
- the write floor, the very rows the engine changes, with their new values, and the penalty
  transactions it inserts, written directly by primary key (`UPDATE … FROM` a table holding
  them, `INSERT … SELECT`): what the day's changes cost with nothing left to find. The rows
  are taken from one engine run (rows whose xmin is its transaction) before the timed runs.
Prints one JSON line: loans, instalments, seconds, floor_seconds, ratio, write_floor_seconds,
write_ratio (seconds / write_floor_seconds), rows_changed, build_seconds, postgres_version, and
same_result (engine and both floors left the same end state). Progress goes to stderr.
"""

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from benchdb import BUCKET, database, h, log, needs_postgresql  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from loans.models import LoanProduct  # noqa: E402
from loans.services.end_of_day import process_business_date  # noqa: E402

D = date(2026, 11, 25)


def due(k: str) -> str:
    """Due date of instalment k for a plan row: repayment day `day` of the k-th month."""
    return f"((date_trunc('month', dd) + make_interval(months => ({k})::int))::date + (day - 1))"


# One row per loan: what the loan looks like as of D (before D's end of day).
# kind: overdue 5 %, cured 1 %, prepaid 1 %, normal otherwise. k_last: instalments due before D;
# m: unpaid past-due instalments; f: instalments paid in full (1..f).
PLAN = f"""
CREATE TABLE bench_plan AS
WITH s AS (
    SELECT i, %(d)s::date - 1 - ({h(1, 304)})::int AS dd,
           (1000 + 100 * ({h(2, 491)}))::numeric(14, 2) AS principal,
           (0.0002 + ({h(3, 301)}) / 1000000.0)::numeric(8, 6) AS rate,
           CASE WHEN {h(4, 100)} < 5 THEN 'overdue' WHEN {h(4, 100)} = 5 THEN 'cured'
                WHEN {h(4, 100)} = 6 THEN 'prepaid' ELSE 'normal' END AS kind,
           {h(5, 10)} AS h5, {h(6, 3)} AS h6, {h(7, 10)} AS h7
    FROM generate_series(1, %(n)s::int) AS i
), t AS (
    SELECT s.*, least(extract(day FROM dd), 28)::int AS day,
           least(10, greatest(0,
               (extract(year FROM %(d)s::date) * 12 + extract(month FROM %(d)s::date))
               - (extract(year FROM dd) * 12 + extract(month FROM dd))
               - CASE WHEN least(extract(day FROM dd), 28) < extract(day FROM %(d)s::date)
                      THEN 0 ELSE 1 END))::int AS k_last
    FROM s
), u AS (
    SELECT t.*, CASE WHEN kind = 'overdue' THEN least(k_last, CASE
               WHEN h5 < 4 THEN 1 WHEN h5 < 6 THEN 2 WHEN h5 = 6 THEN 3
               WHEN h5 < 9 THEN 4 + h6 ELSE 7 + h6 END)
           -- a tenth of the instalments due yesterday were not paid
           WHEN kind = 'normal' AND k_last > 0 AND h5 = 0
                AND {due("k_last")} = %(d)s::date - 1 THEN 1
           ELSE 0 END AS m
    FROM t
), v AS (
    SELECT u.*,
           CASE WHEN kind = 'prepaid' THEN least(10, k_last + 1 + h6) ELSE k_last - m END AS f,
           kind = 'overdue' AND m > 0 AND h6 = 0 AS partial,
           h7 = 0 AS accrual_missing
    FROM u
)
SELECT v.*,
       CASE WHEN m > 0 THEN greatest(0, %(d)s::date - 1 - {due("f + 1")})
            WHEN kind = 'cured' AND k_last > 0 THEN greatest(1, %(d)s::date - 1 - {due("k_last")})
            ELSE 0 END AS dpd,
       principal - f * principal / 10 - CASE WHEN partial THEN principal / 20 ELSE 0 END
           AS outstanding
FROM v
"""

BUILD = [
    (
        "borrowers",
        """INSERT INTO loans_borrower (id, name, id_number, id_number_index, mobile, mobile_index,
            birth_date, sex, region_code, mainland_resident, employer, occupation,
            monthly_income, monthly_debt_payments, civil_capacity, created_at, updated_at)
        SELECT i, 'bench', 'bench', md5('id' || i), 'bench', md5('mobile' || i),
            date '1970-01-01' + mod(i, 10000), CASE WHEN mod(i, 2) = 0 THEN 'M' ELSE 'F' END,
            '110101', TRUE, '', '', 8000 + mod(i, 20000), 0, 'full', dd, dd
        FROM bench_plan""",
    ),
    (
        "credit assessments",
        """INSERT INTO loans_creditassessment (id, borrower_id, as_of, created_at,
            scorecard_version, inputs, rule_results, points, reasons, score, grade, decision,
            credit_limit, daily_rate, override_decision, override_reason, review_request_note)
        SELECT i, i, dd - 1, dd - 1, 'bench', '{}', '[]', '{}', '[]', 650, 'B', 'approved',
            greatest(principal, 20000), rate, '', '', ''
        FROM bench_plan""",
    ),
    (
        "credit lines",
        """INSERT INTO loans_creditline (id, borrower_id, assessment_id, "limit",
            outstanding_principal, reserved_amount, daily_rate, status, status_reason,
            expires_on, opened_at, updated_at)
        SELECT i, i, i, greatest(principal, 20000), outstanding, 0, rate, 'active', '',
            dd + 365, dd - 1, dd
        FROM bench_plan""",
    ),
    (
        "applications",
        """INSERT INTO loans_loanapplication (id, borrower_id, product_id, credit_line_id,
            amount, term, method, daily_rate, apr_percent, status, review_reason, decision_note,
            decided_at, created_at)
        SELECT i, i, %(product)s, i, principal, 10, 'equal_principal', rate, round(rate * 36000, 2),
            'disbursed', '', '', dd, dd
        FROM bench_plan""",
    ),
    (
        "contracts",
        """INSERT INTO loans_contract (id, application_id, number, template_version, body,
            body_sha256, status, created_at, signed_at, signed_ip, signed_user_agent)
        SELECT i, i, 'BENCH' || lpad(i::text, 12, '0'), 'bench', 'Loan contract #' || i,
            encode(sha256(('Loan contract #' || i)::bytea), 'hex'), 'signed', dd, dd,
            '127.0.0.1', ''
        FROM bench_plan""",
    ),
    (
        "loans",
        f"""INSERT INTO loans_loan (id, borrower_id, application_id, contract_id, product_id,
            credit_line_id, principal, term, method, daily_rate, apr_percent, penalty_multiplier,
            grace_days, drawdown_date, outstanding_principal, last_prepayment_date,
            prepayment_interest_base, status, settled_on, days_past_due, bucket,
            write_off_candidate, created_at)
        SELECT i, i, i, i, %(product)s, i, principal, 10, 'equal_principal', rate,
            round(rate * 36000, 2), 1.50, 1, dd, outstanding,
            CASE WHEN kind = 'prepaid' THEN %(d)s::date - 1 END, 0,
            CASE WHEN f = 10 THEN 'settled' ELSE 'active' END,
            CASE WHEN f = 10 THEN %(d)s::date - 1 END,
            dpd, {BUCKET.format("dpd")}, dpd > 180, dd
        FROM bench_plan""",
    ),
    (
        "instalments",
        f"""INSERT INTO loans_instalment (loan_id, number, due_date, principal_due, interest_due,
            fee_due, penalty_due, principal_paid, interest_paid, fee_paid, penalty_paid,
            penalty_accrued_through, status, paid_on)
        SELECT i, k, due_date, principal_due, interest_due, 0,
            CASE WHEN accrued IS NULL THEN 0
                 ELSE round((principal_due - principal_paid) * rate * 1.5, 2) * (accrued - due_date)
            END, principal_paid, interest_paid, 0, 0, accrued, status, paid_on
        FROM (
            SELECT i, k, rate, due_date, principal_due, interest_due, principal_paid, status,
                CASE WHEN k <= f OR partial AND k = f + 1 THEN interest_due ELSE 0 END
                    AS interest_paid,
                CASE WHEN k <= f THEN least(due_date, %(d)s::date - 1) END AS paid_on,
                CASE WHEN status = 'overdue' AND NOT accrual_missing
                      AND %(d)s::date - 1 - due_date > 1 THEN %(d)s::date - 1 END AS accrued
            FROM (
                SELECT p.*, k, {due("k")} AS due_date, principal / 10 AS principal_due,
                    round((principal - (k - 1) * principal / 10) * rate * 30, 2) AS interest_due,
                    CASE WHEN k <= f THEN principal / 10
                         WHEN partial AND k = f + 1 THEN principal / 20 ELSE 0 END
                        AS principal_paid,
                    CASE WHEN k <= f THEN 'paid'
                         WHEN {due("k")} < %(d)s::date - 1 THEN 'overdue'
                         WHEN {due("k")} = %(d)s::date - 1 THEN 'due' ELSE 'pending' END AS status
                FROM bench_plan p CROSS JOIN generate_series(1, 10) AS k
            ) a
        ) b""",
    ),
]

# The same day's work, as plainly as it can be written.
FLOOR_CONDITION = """i.loan_id = l.id AND i.status = 'overdue' AND l.status = 'active'
    AND i.principal_due > i.principal_paid AND %(d)s::date - i.due_date > l.grace_days
    AND coalesce(i.penalty_accrued_through, i.due_date) < %(d)s::date"""
FLOOR_AMOUNT = """round((i.principal_due - i.principal_paid) * l.daily_rate
    * l.penalty_multiplier, 2) * (%(d)s::date - coalesce(i.penalty_accrued_through, i.due_date))"""
FLOOR = [
    "UPDATE loans_instalment SET status = 'due' WHERE status = 'pending' AND due_date = %(d)s",
    "UPDATE loans_instalment SET status = 'overdue'"
    " WHERE status IN ('pending', 'due') AND due_date < %(d)s",
    f"""INSERT INTO loans_loantransaction (loan_id, instalment_id, kind, value_date, principal,
        interest, penalty, fee, created_at)
    SELECT i.loan_id, i.id, 'penalty', %(d)s, 0, 0, {FLOOR_AMOUNT}, 0, now()
    FROM loans_instalment i, loans_loan l WHERE {FLOOR_CONDITION} AND {FLOOR_AMOUNT} > 0""",
    f"""UPDATE loans_instalment i SET penalty_due = penalty_due + {FLOOR_AMOUNT},
        penalty_accrued_through = %(d)s FROM loans_loan l WHERE {FLOOR_CONDITION}""",
    f"""UPDATE loans_loan l SET days_past_due = o.dpd, bucket = {BUCKET.format("o.dpd")},
        write_off_candidate = o.dpd > 180
    FROM (SELECT loan_id, %(d)s::date - min(due_date) AS dpd FROM loans_instalment
          WHERE status = 'overdue' GROUP BY loan_id) o
    WHERE l.id = o.loan_id AND l.status = 'active' AND l.days_past_due <> o.dpd""",
    """UPDATE loans_loan l SET days_past_due = 0, bucket = 'current', write_off_candidate = FALSE
    WHERE days_past_due > 0 AND NOT EXISTS (
        SELECT 1 FROM loans_instalment i WHERE i.loan_id = l.id AND i.status = 'overdue')""",
]

# The write floor: what one engine run changed (its new values), kept in tables of their own,
# and the statements that write exactly that by primary key.
TRANSACTION_COLUMNS = (
    "loan_id, instalment_id, kind, value_date, principal, interest, penalty, fee, created_at,"
    " repayment_id"
)
TARGETS = {
    "bench_target_instalment": (
        "loans_instalment",
        "id, status, paid_on, penalty_due, penalty_accrued_through",
    ),
    "bench_target_loan": ("loans_loan", "id, days_past_due, bucket, write_off_candidate"),
    "bench_target_transaction": ("loans_loantransaction", TRANSACTION_COLUMNS),
}
WRITE_FLOOR = [
    """UPDATE loans_instalment i SET status = t.status, paid_on = t.paid_on,
        penalty_due = t.penalty_due, penalty_accrued_through = t.penalty_accrued_through
    FROM bench_target_instalment t WHERE i.id = t.id""",
    """UPDATE loans_loan l SET days_past_due = t.days_past_due, bucket = t.bucket,
        write_off_candidate = t.write_off_candidate
    FROM bench_target_loan t WHERE l.id = t.id""",
    f"INSERT INTO loans_loantransaction ({TRANSACTION_COLUMNS})"
    f" SELECT {TRANSACTION_COLUMNS} FROM bench_target_transaction",
]

# What the day changed, to count it and to compare the engine with the floor.
FINGERPRINT = [
    """SELECT status, count(*), sum(penalty_due), sum(penalty_accrued_through - date '2000-01-01')
    FROM loans_instalment WHERE status IN ('due', 'overdue') GROUP BY status ORDER BY status""",
    """SELECT bucket, count(*), sum(days_past_due), count(*) FILTER (WHERE write_off_candidate)
    FROM loans_loan GROUP BY bucket ORDER BY bucket""",
    """SELECT count(*), sum(penalty), sum(loan_id), sum(instalment_id) FROM loans_loantransaction
    WHERE kind = 'penalty' AND value_date = %(d)s""",
]
COUNTS = {
    "instalments_due": "SELECT count(*) FROM loans_instalment"
    " WHERE status = 'due' AND due_date = %(d)s",
    "instalments_overdue": "SELECT count(*) FROM loans_instalment"
    " WHERE status = 'overdue' AND due_date = %(d)s::date - 1",
    "penalty_transactions": "SELECT count(*) FROM loans_loantransaction"
    " WHERE kind = 'penalty' AND value_date = %(d)s",
    "loans_dpd_changed": "SELECT count(*) FROM loans_loan l JOIN bench_loan_before b USING (id)"
    " WHERE l.days_past_due > 0 AND (l.days_past_due, l.bucket) <> (b.days_past_due, b.bucket)",
    "loans_cured": "SELECT count(*) FROM loans_loan l JOIN bench_loan_before b USING (id)"
    " WHERE l.days_past_due = 0 AND b.days_past_due > 0",
}


def query(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {"d": D})
        return [tuple(str(v) for v in row) for row in cursor.fetchall()]


def build(n: int) -> None:
    product = LoanProduct.objects.create(code="bench", name="Bench 10 × monthly", terms=[10])
    params = {"d": D, "n": n, "product": product.pk}
    with connection.cursor() as cursor:
        log(f"planning {n:,} loans")
        cursor.execute(PLAN, params)
        for label, sql in BUILD:
            log(f"inserting {label}")
            cursor.execute(sql, params)
        for table in "borrower creditassessment creditline loanapplication contract loan".split():
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('loans_{table}', 'id'), {n})")
        cursor.execute(
            "CREATE TABLE bench_loan_before AS SELECT id, days_past_due, bucket FROM loans_loan"
        )
        log("VACUUM ANALYZE")
        cursor.execute("VACUUM ANALYZE")


def timed_run(work) -> tuple[float, dict, list]:
    """Run `work` in a transaction that is rolled back; its seconds, counts and end state.
    VACUUM and CHECKPOINT first: no run pays for the dead rows and dirty pages of the last."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM loans_instalment, loans_loan, loans_loantransaction")
        cursor.execute("CHECKPOINT")
    with transaction.atomic():
        started = time.perf_counter()
        work()
        seconds = time.perf_counter() - started
        counts = {name: int(query(sql)[0][0]) for name, sql in COUNTS.items()}
        state = [query(sql) for sql in FINGERPRINT]
        transaction.set_rollback(True)
    return seconds, counts, state


def run_floor() -> None:
    with connection.cursor() as cursor:
        for sql in FLOOR:
            cursor.execute(sql, {"d": D})


def run_engine() -> None:
    assert process_business_date(D) is not None


def run_write_floor() -> None:
    with connection.cursor() as cursor:
        # By primary key, each row found by the index: never a scan of the whole table.
        cursor.execute("SET LOCAL enable_hashjoin = off")
        cursor.execute("SET LOCAL enable_mergejoin = off")
        for sql in WRITE_FLOOR:
            cursor.execute(sql)


def take_targets() -> None:
    """Fill the write floor's tables with the rows one engine run changes: those whose xmin is
    its transaction or a later one (its savepoints; nothing else writes to this database).
    They are copied out before the run is rolled back, and back in afterwards."""
    raw = connection.cursor().cursor
    for table, (source, columns) in TARGETS.items():
        raw.execute(f"DROP TABLE IF EXISTS {table}")
        raw.execute(f"CREATE TABLE {table} AS SELECT {columns} FROM {source} LIMIT 0")
    copied = {}
    with transaction.atomic():
        xid = int(query("SELECT pg_current_xact_id()")[0][0]) % 2**32
        run_engine()
        for table, (source, columns) in TARGETS.items():
            with raw.copy(
                f"COPY (SELECT {columns} FROM {source} WHERE xmin::text::bigint >= {xid}"
                " ORDER BY 1) TO STDOUT"
            ) as copy:
                copied[table] = b"".join(copy)
        transaction.set_rollback(True)
    for table, data in copied.items():
        with raw.copy(f"COPY {table} FROM STDIN") as copy:
            copy.write(data)
        raw.execute(f"ANALYZE {table}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, help="build this many loans (not with --reuse)")
    parser.add_argument("--runs", type=int, help="runs of each (default 3, 1 above 100,000)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--db", help="name of the database to build (default bench_eod_<pid>)")
    parser.add_argument("--reuse", metavar="NAME", help="measure a kept database again")
    args = parser.parse_args()
    if bool(args.loans) == bool(args.reuse):
        parser.error("give either --loans N (build) or --reuse NAME (a kept database)")
    if needs_postgresql():
        return 2
    name = args.reuse or args.db or f"bench_eod_{os.getpid()}"
    build_seconds = None
    with database(name, create=not args.reuse, keep=args.keep):
        if not args.reuse:
            started = time.monotonic()
            build(args.loans)
            build_seconds = round(time.monotonic() - started, 1)
        loans = int(query("SELECT count(*) FROM loans_loan")[0][0])
        log("taking the write floor's rows from one engine run")
        take_targets()
        runs = args.runs or (3 if loans <= 100_000 else 1)
        engine, floor, write_floor = [], [], []
        for run in range(runs):
            log(f"run {run + 1}/{runs}: floor")
            floor.append(timed_run(run_floor))
            log(f"run {run + 1}/{runs}: write floor")
            write_floor.append(timed_run(run_write_floor))
            log(f"run {run + 1}/{runs}: engine")
            engine.append(timed_run(run_engine))
            log(
                f"floor {floor[-1][0]:.3f}s, write floor {write_floor[-1][0]:.3f}s,"
                f" engine {engine[-1][0]:.3f}s"
            )
        seconds = statistics.median(r[0] for r in engine)
        floor_seconds = statistics.median(r[0] for r in floor)
        write_floor_seconds = statistics.median(r[0] for r in write_floor)
        result = {
            "loans": loans,
            "instalments": int(query("SELECT count(*) FROM loans_instalment")[0][0]),
            "seconds": round(seconds, 3),
            "floor_seconds": round(floor_seconds, 3),
            "ratio": round(seconds / floor_seconds, 2),
            "write_floor_seconds": round(write_floor_seconds, 3),
            "write_ratio": round(seconds / write_floor_seconds, 2),
            "rows_changed": engine[0][1],
            "build_seconds": build_seconds,
            "postgres_version": query("SHOW server_version")[0][0],
            "same_result": all(r[1:] == engine[0][1:] for r in engine + floor + write_floor),
        }
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
