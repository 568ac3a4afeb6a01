r"""Benchmark: the case sync after end of day (催收案件同步) against a floor of plain SQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python tests/benchmarks/case_sync.py --loans 100000 [--runs 3] [--keep]

PostgreSQL only (exit 2 otherwise). It creates and migrates its own database
`bench_cases_<pid>`, builds N loans exactly as the end-of-day benchmark does (~5 % overdue
across every bucket) and commits end of day for D = 2026-11-25, with 40 collectors (ten per
queue, one of each queue's on leave). Then two days are timed, each run in a transaction that
is rolled back after a VACUUM and CHECKPOINT (median of --runs, default 3 up to 100,000
loans, else 1), alternating with its floor:

- first day, D: `sync_cases` opens a case for every loan past its grace days and assigns it
  (the ~44,000 cases of 1,000,000 loans);
- second day, D + 1 (after D's cases are committed, every tenth loan with a case paid up or
  settled, and D + 1's end of day): `sync_cases` updates, closes, moves buckets and opens.

The floor is the same day's row changes written as plainly as possible: worked out beforehand
(untimed) with simple queries into bench_* tables, then timed as one UPDATE ... FROM by
primary key for the closed cases, one for the updated ones, one INSERT ... SELECT of the new
cases (collector already chosen) and one of every timeline entry.

Prints one JSON line: loans, overdue_loans, seconds and floor_seconds (the slower day's
medians), ratio, days (each day's seconds, floor_seconds, ratio, counts), counts (the first
day's), same_result (engine and floor left the same cases, by status, bucket, close reason,
amounts and whether assigned), build_seconds, postgres_version. Progress goes to stderr. The
database is dropped at the end; --keep keeps it with both days committed.
"""

import argparse
import json
import statistics
import sys
import time
from datetime import timedelta

from benchdb import log, needs_postgresql, own_database  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from end_of_day import D, build  # noqa: E402  (sets up Django and the import path)

from debt_collection.models import Collector  # noqa: E402
from debt_collection.sync import sync_cases  # noqa: E402
from loans import signals  # noqa: E402
from loans.services.end_of_day import process_business_date  # noqa: E402

D2 = D + timedelta(days=1)
QUEUES = ["M1", "M2", "M3", "M4+"]

OVERDUE = """SELECT loan_id, sum(principal_due - principal_paid) AS p,
        sum(interest_due - interest_paid) AS i, sum(penalty_due - penalty_paid) AS pen,
        sum(principal_due - principal_paid + interest_due - interest_paid
            + fee_due - fee_paid + penalty_due - penalty_paid) AS total
    FROM loans_instalment WHERE status = 'overdue' GROUP BY loan_id"""
# The collectors at work, numbered 0..n-1 within their queue: a case goes to number id mod n.
AT_WORK = """SELECT id, queue, row_number() OVER (PARTITION BY queue ORDER BY id) - 1 AS k,
        count(*) OVER (PARTITION BY queue) AS n
    FROM collections_collector WHERE is_active AND NOT on_leave"""
# Untimed, before each day's runs: what the day must write, worked out with plain queries.
PLAN = [
    "DROP TABLE IF EXISTS bench_close, bench_update, bench_new, bench_events",
    """CREATE TABLE bench_close AS
    SELECT c.id, c.assigned_to_id,
        CASE WHEN l.status = 'settled' THEN 'settled' ELSE 'cured' END AS reason
    FROM collections_collectioncase c JOIN loans_loan l ON l.id = c.loan_id
    WHERE c.status <> 'closed' AND (l.status = 'settled' OR l.days_past_due = 0)""",
    f"""CREATE TABLE bench_update AS
    SELECT c.id, c.loan_id, c.bucket AS old_bucket, c.assigned_to_id AS old_collector_id,
        l.bucket, l.days_past_due AS dpd, o.p, o.i, o.pen, o.total, c.assigned_to_id
    FROM collections_collectioncase c JOIN loans_loan l ON l.id = c.loan_id
    JOIN ({OVERDUE}) o ON o.loan_id = c.loan_id
    WHERE c.status <> 'closed'""",
    f"""CREATE TABLE bench_new AS
    SELECT (SELECT coalesce(max(id), 0) FROM collections_collectioncase)
            + row_number() OVER (ORDER BY l.id) AS id,
        l.id AS loan_id, l.borrower_id, l.bucket, l.days_past_due AS dpd,
        o.p, o.i, o.pen, o.total, NULL::bigint AS assigned_to_id
    FROM loans_loan l JOIN ({OVERDUE}) o ON o.loan_id = l.id
    WHERE l.status = 'active' AND l.days_past_due > l.grace_days
    AND NOT EXISTS (SELECT 1 FROM collections_collectioncase c
                    WHERE c.loan_id = l.id AND c.status <> 'closed')""",
    f"""UPDATE bench_update u SET assigned_to_id = k.id FROM ({AT_WORK}) k
    WHERE u.bucket <> u.old_bucket AND k.queue = u.bucket AND k.k = mod(u.loan_id, k.n)""",
    f"""UPDATE bench_new u SET assigned_to_id = k.id FROM ({AT_WORK}) k
    WHERE k.queue = u.bucket AND k.k = mod(u.loan_id, k.n)""",
    """CREATE TABLE bench_events AS
    SELECT id AS case_id, 'closed' AS kind, assigned_to_id AS collector_id, '' AS text,
        'closed' AS status FROM bench_close
    UNION ALL SELECT id, 'bucket', old_collector_id, old_bucket || ' → ' || bucket, ''
        FROM bench_update WHERE bucket <> old_bucket
    UNION ALL SELECT id, 'assigned', assigned_to_id, bucket, ''
        FROM bench_update WHERE bucket <> old_bucket
    UNION ALL SELECT id, 'opened', NULL, bucket, 'new' FROM bench_new
    UNION ALL SELECT id, 'assigned', assigned_to_id, bucket, ''
        FROM bench_new WHERE assigned_to_id IS NOT NULL""",
    "ANALYZE bench_close, bench_update, bench_new, bench_events",
]
# Timed: the same rows written directly, by primary key.
FLOOR = [
    """UPDATE collections_collectioncase c SET status = 'closed', close_reason = t.reason,
        closed_on = %(d)s, updated_on = %(d)s, next_action_on = NULL
    FROM bench_close t WHERE c.id = t.id""",
    """UPDATE collections_collectioncase c SET bucket = t.bucket, days_past_due = t.dpd,
        overdue_principal = t.p, overdue_interest = t.i, overdue_penalty = t.pen,
        overdue_total = t.total, updated_on = %(d)s, assigned_to_id = t.assigned_to_id
    FROM bench_update t WHERE c.id = t.id""",
    """INSERT INTO collections_collectioncase (id, loan_id, borrower_id, status, close_reason,
        bucket, days_past_due, overdue_principal, overdue_interest, overdue_penalty,
        overdue_total, assigned_to_id, next_action_on, opened_on, closed_on, updated_on)
    SELECT id, loan_id, borrower_id, 'new', '', bucket, dpd, p, i, pen, total, assigned_to_id,
        %(d)s, %(d)s, NULL, %(d)s
    FROM bench_new""",
    """INSERT INTO collections_caseevent (case_id, at, kind, collector_id, text, status)
    SELECT case_id, now(), kind, collector_id, text, status FROM bench_events""",
]
# What a day left, to compare the engine with the floor (not which collector got what).
FINGERPRINT = [
    """SELECT status, bucket, close_reason, count(*), sum(days_past_due), sum(overdue_principal),
        sum(overdue_interest), sum(overdue_penalty), sum(overdue_total),
        count(assigned_to_id), max(closed_on), max(updated_on)
    FROM collections_collectioncase GROUP BY status, bucket, close_reason
    ORDER BY status, bucket, close_reason""",
    """SELECT kind, count(*) FROM collections_caseevent GROUP BY kind ORDER BY kind""",
]


def query(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return [tuple(str(v) for v in row) for row in cursor.fetchall()]


def make_collectors() -> None:
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"collector{n}", password="!", is_staff=True)
        for n in range(10 * len(QUEUES))
    )
    Collector.objects.bulk_create(
        Collector(
            user=user,
            staff_number=f"C{n:04d}",
            queue=QUEUES[n % len(QUEUES)],
            on_leave=n < len(QUEUES),  # one of each queue's ten
        )
        for n, user in enumerate(users)
    )


def between_days() -> None:
    """Every tenth loan with a case pays what is overdue (every other one of those settles
    outright), then D + 1's end of day runs."""
    with connection.cursor() as cursor:
        cursor.execute(
            """CREATE TABLE bench_payers AS
            SELECT loan_id, mod(n, 20) = 0 AS settles FROM (
                SELECT loan_id, row_number() OVER (ORDER BY loan_id) - 1 AS n
                FROM collections_collectioncase WHERE status <> 'closed') c
            WHERE mod(n, 10) = 0"""
        )
        cursor.execute(
            """UPDATE loans_instalment i SET principal_paid = principal_due,
                interest_paid = interest_due, penalty_paid = penalty_due, status = 'paid',
                paid_on = %(d)s
            FROM bench_payers p WHERE p.loan_id = i.loan_id
            AND (i.status = 'overdue' OR p.settles AND i.status IN ('pending', 'due'))""",
            {"d": D},
        )
        cursor.execute(
            """UPDATE loans_loan l SET status = 'settled', settled_on = %(d)s
            FROM bench_payers p WHERE p.loan_id = l.id AND p.settles""",
            {"d": D},
        )
    assert process_business_date(D2) is not None


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE loans_loan, loans_instalment")


def timed(work) -> tuple[float, list]:
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE collections_collectioncase, collections_caseevent")
        cursor.execute("CHECKPOINT")
    with transaction.atomic():
        started = time.perf_counter()
        counts = work()
        seconds = time.perf_counter() - started
        state = [query(sql) for sql in FINGERPRINT]
        transaction.set_rollback(True)
    return seconds, state, counts


def floor(statements, day):
    def work():
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql, {"d": day})

    return work


def measure(day, runs: int) -> dict:
    log(f"{day}: planning the floor")
    with connection.cursor() as cursor:
        for sql in PLAN:
            cursor.execute(sql, {"d": day})
    engine, plain = [], []
    for run in range(runs):
        log(f"{day} run {run + 1}/{runs}: floor")
        plain.append(timed(floor(FLOOR, day)))
        log(f"{day} run {run + 1}/{runs}: engine")
        engine.append(timed(lambda: sync_cases(business_date=day)))
        log(f"floor {plain[-1][0]:.3f}s, engine {engine[-1][0]:.3f}s, {engine[-1][2]}")
    seconds = statistics.median(r[0] for r in engine)
    floor_seconds = statistics.median(r[0] for r in plain)
    return {
        "seconds": round(seconds, 3),
        "floor_seconds": round(floor_seconds, 3),
        "ratio": round(seconds / floor_seconds, 2),
        "counts": engine[0][2],
        "same_result": all(r[1] == engine[0][1] for r in engine + plain),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, required=True)
    parser.add_argument("--runs", type=int, help="runs of each (default 3, 1 above 100,000)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if needs_postgresql():
        return 2
    # The sync is timed on its own: end of day must not run it on commit here.
    signals.business_day_closed.disconnect(dispatch_uid="collections-business-day-closed")
    with own_database("bench_cases", keep=args.keep):
        started = time.monotonic()
        build(args.loans)
        make_collectors()
        log("end of day for D")
        assert process_business_date(D) is not None
        analyze()
        build_seconds = time.monotonic() - started
        overdue = int(query("SELECT count(*) FROM loans_loan WHERE days_past_due > 0")[0][0])
        runs = args.runs or (3 if args.loans <= 100_000 else 1)
        first = measure(D, runs)
        log("committing D's cases, paying a tenth, end of day for D + 1")
        sync_cases(business_date=D)
        between_days()
        analyze()
        second = measure(D2, runs)
        if args.keep:
            sync_cases(business_date=D2)
        slower = max(first, second, key=lambda day: day["seconds"])
        result = {
            "loans": args.loans,
            "overdue_loans": overdue,
            "seconds": slower["seconds"],
            "floor_seconds": slower["floor_seconds"],
            "ratio": slower["ratio"],
            "counts": first["counts"],
            "days": {"first": first, "second": second},
            "same_result": first["same_result"] and second["same_result"],
            "build_seconds": round(build_seconds, 1),
            "postgres_version": query("SHOW server_version")[0][0],
        }
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
