"""Case sync after end of day (日终): open, update and close collection cases (催收案件) for a
business date in a handful of set-based statements, whatever the number of loans.

- Open: an active loan past its grace days with nothing open gets a case (status new).
- Update: every open case takes its loan's bucket, DPD and overdue principal / interest /
  penalty / total (only the cases that changed are written). A case whose bucket moved out
  of its collector's queue goes back to be assigned in the new queue.
- Close: cured (nothing overdue), settled or paid off. A written-off loan's case stays open
  for recovery (DESIGN §4) and owes what the write-off left unrecovered; it closes, as written
  off, once that is recovered.
A loan that falls overdue again after its case closed gets a new case. The timeline entries
(opened, bucket changed, closed) are INSERT ... SELECT over the same rows.

Bucket, DPD and amounts come from the overdue instalments themselves (DPD = business date −
the oldest overdue due date, as end of day computes it; buckets from `loans.delinquency`;
amounts by the ORM's own `outstanding_sum`), worked out once per sync into a temporary table;
so the statements read the few overdue rows and never scan every loan. Statuses and kinds are
query parameters taken from their choices.
"""

from datetime import date

from django.db import connection, transaction
from django.db.models import F, Min, Q, Sum
from django.utils import timezone

from loans import delinquency
from loans.models import Instalment, Loan, LoanTransaction
from loans.models.lending import outstanding_sum

from . import assignment
from .models import CaseEvent, CaseStatus, CloseReason, CollectionCase, Collector

ADVISORY_LOCK_KEY = 4_242_011  # "case sync" in pg_advisory_xact_lock's key space
CASE = CollectionCase._meta.db_table
EVENT = CaseEvent._meta.db_table
LOAN = Loan._meta.db_table
COLLECTOR = Collector._meta.db_table
CLOSED = CaseStatus.CLOSED.value
ACTIVE = Loan.Status.ACTIVE.value
SETTLED = Loan.Status.SETTLED.value
WRITTEN_OFF = Loan.Status.WRITTEN_OFF.value
EVENT_COLUMNS = "(case_id, at, kind, actor_id, collector_id, text, status)"
SOURCE = "collections_sync_source"  # a temporary table, for one sync


def _compiled(queryset) -> tuple[str, list]:
    sql, params = queryset.query.sql_with_params()
    return sql, list(params)


def _days_since(earlier: str) -> str:
    """SQL for the whole days from a date expression to the business date (first param)."""
    if connection.vendor == "postgresql":
        return f"(CAST(%s AS date) - {earlier})"
    return f"CAST(julianday(%s) - julianday({earlier}) AS INTEGER)"


def _bucket(dpd: str) -> str:
    """SQL for `delinquency.bucket_for` of a DPD expression."""
    cases = " ".join(
        f"WHEN {dpd} <= {bound} THEN '{bucket}'" for bound, bucket in delinquency.BUCKET_BOUNDS
    )
    return f"CASE {cases} ELSE '{delinquency.LAST_BUCKET}' END"


def _greatest(a: str, b: str) -> str:
    return f"GREATEST({a}, {b})" if connection.vendor == "postgresql" else f"MAX({a}, {b})"


def _least(a: str, b: str) -> str:
    return f"LEAST({a}, {b})" if connection.vendor == "postgresql" else f"MIN({a}, {b})"


def _overdue(business_date: date) -> tuple[str, list]:
    """Per loan with overdue instalments: (loan_id, dpd, bucket, principal, interest,
    penalty, total) that they still owe."""
    sql, params = _compiled(
        Instalment.objects.overdue()
        .order_by()
        .values("loan_id")
        .annotate(
            oldest=Min("due_date"),
            principal=Sum(F("principal_due") - F("principal_paid")),
            interest=Sum(F("interest_due") - F("interest_paid")),
            penalty=Sum(F("penalty_due") - F("penalty_paid")),
            total=Sum(outstanding_sum()),
        )
        .values("loan_id", "oldest", "principal", "interest", "penalty", "total")
    )
    return (
        f"""SELECT loan_id, dpd, {_bucket("dpd")} AS bucket, principal, interest, penalty, total
        FROM (SELECT o.*, {_days_since("o.oldest")} AS dpd FROM ({sql}) o) x""",
        [business_date, *params],
    )


def _left(component: str, through: str) -> str:
    """What is left of a written-off component once recoveries are counted against the
    components in allocation order (penalty, interest, fees, then principal): `through` is
    the sum of the components up to and including this one."""
    return _greatest(_least(component, f"{through} - w.recovered"), "0")


def _written_off() -> tuple[str, list]:
    """Per written-off loan: (loan_id, dpd, bucket — as it was written off —, principal,
    interest, penalty, total) still unrecovered, as `repayments.unrecovered_amount` counts it
    (a reversed recovery's mirror row takes it back out)."""
    kind = LoanTransaction.Kind
    written_off = Q(kind=kind.WRITE_OFF)
    sql, params = _compiled(
        LoanTransaction.objects.filter(loan__status=Loan.Status.WRITTEN_OFF)
        .order_by()
        .values("loan_id", dpd=F("loan__days_past_due"), loan_bucket=F("loan__bucket"))
        .annotate(
            principal=Sum("principal", filter=written_off),
            interest=Sum("interest", filter=written_off),
            penalty=Sum("penalty", filter=written_off),
            fee=Sum("fee", filter=written_off),
            recovered=Sum("amount", filter=Q(kind__in=[kind.RECOVERY, kind.REVERSAL])),
        )
    )
    pen, pen_int = "w.penalty", "w.penalty + w.interest"
    everything = f"{pen_int} + w.fee + w.principal"
    return (
        f"""SELECT w.loan_id, w.dpd, w.loan_bucket AS bucket,
            {_left("w.principal", everything)} AS principal,
            {_left("w.interest", pen_int)} AS interest, {_left(pen, pen)} AS penalty,
            {_greatest(f"{everything} - w.recovered", "0")} AS total
        FROM (SELECT loan_id, dpd, loan_bucket, COALESCE(principal, 0) AS principal,
                COALESCE(interest, 0) AS interest, COALESCE(penalty, 0) AS penalty,
                COALESCE(fee, 0) AS fee, COALESCE(recovered, 0) AS recovered
              FROM ({sql}) y) w""",
        params,
    )


def _source(business_date: date) -> tuple[str, list]:
    """What every case should say now, per loan: overdue instalments of active loans, and
    what is unrecovered of written-off ones (which have no open instalment left)."""
    overdue, overdue_params = _overdue(business_date)
    written_off, written_off_params = _written_off()
    return (
        f"{overdue} UNION ALL {written_off}",
        [*overdue_params, *written_off_params],
    )


def _execute(cursor, sql: str, params: list) -> int:
    cursor.execute(sql, params)
    return cursor.rowcount


def _materialise_source(cursor, *, business_date: date) -> None:
    """Work the source out once into a temporary table (this session's, dropped at the end
    of the sync; a rolled-back sync drops it too) that the statements below all read."""
    source, params = _source(business_date)
    cursor.execute(f"DROP TABLE IF EXISTS {SOURCE}")
    cursor.execute(f"CREATE TEMPORARY TABLE {SOURCE} AS {source}", params)
    if connection.vendor == "postgresql":
        cursor.execute(f"ANALYZE {SOURCE}")  # temporary tables get no statistics otherwise


def _close(cursor, *, business_date: date, now) -> int:
    """Close the open cases whose loan owes nothing overdue (cured), is settled, or was
    written off and is recovered: those with nothing owing in the source. The timeline
    entry first, over the same rows; the loan is looked up for the reason of those few."""
    status = f"(SELECT l.status FROM {LOAN} l WHERE l.id = c.loan_id)"
    condition = f"""NOT (c.status = %s) AND NOT EXISTS (
        SELECT 1 FROM {SOURCE} s WHERE s.loan_id = c.loan_id AND s.total > 0)"""
    reason = f"CASE {status} WHEN %s THEN %s WHEN %s THEN %s ELSE %s END"
    reason_params = [
        SETTLED,
        CloseReason.SETTLED.value,
        WRITTEN_OFF,
        CloseReason.WRITTEN_OFF.value,
        CloseReason.CURED.value,
    ]
    _execute(
        cursor,
        f"""INSERT INTO {EVENT} {EVENT_COLUMNS}
        SELECT c.id, %s, %s, NULL, c.assigned_to_id, '', %s FROM {CASE} c WHERE {condition}""",
        [now, CaseEvent.Kind.CLOSED.value, CLOSED, CLOSED],
    )
    return _execute(
        cursor,
        f"""UPDATE {CASE} AS c SET status = %s, close_reason = {reason}, closed_on = %s,
            updated_on = %s, next_action_on = NULL
        WHERE {condition}""",
        [CLOSED, *reason_params, business_date, business_date, CLOSED],
    )


def _update(cursor, *, business_date: date, now) -> int:
    """Bring the open cases' bucket, DPD and amounts up to date, writing only those that
    changed. A bucket move goes on the timeline; if the case's collector does not work the
    new bucket, the case goes back to be assigned in the new queue."""
    _execute(
        cursor,
        f"""INSERT INTO {EVENT} {EVENT_COLUMNS}
        SELECT c.id, %s, %s, NULL, c.assigned_to_id, c.bucket || ' → ' || s.bucket, ''
        FROM {CASE} c JOIN {SOURCE} s ON s.loan_id = c.loan_id
        WHERE NOT (c.status = %s) AND c.bucket <> s.bucket""",
        [now, CaseEvent.Kind.BUCKET.value, CLOSED],
    )
    return _execute(
        cursor,
        f"""UPDATE {CASE} AS c SET
            assigned_to_id = CASE WHEN c.bucket <> s.bucket AND NOT EXISTS (
                    SELECT 1 FROM {COLLECTOR} k WHERE k.id = c.assigned_to_id
                    AND k.queue = s.bucket) THEN NULL ELSE c.assigned_to_id END,
            bucket = s.bucket, days_past_due = s.dpd,
            overdue_principal = ROUND(s.principal, 2), overdue_interest = ROUND(s.interest, 2),
            overdue_penalty = ROUND(s.penalty, 2), overdue_total = ROUND(s.total, 2),
            updated_on = %s
        FROM {SOURCE} AS s
        WHERE s.loan_id = c.loan_id AND NOT (c.status = %s) AND (
            c.bucket <> s.bucket OR c.days_past_due <> s.dpd
            OR c.overdue_principal <> ROUND(s.principal, 2)
            OR c.overdue_interest <> ROUND(s.interest, 2)
            OR c.overdue_penalty <> ROUND(s.penalty, 2)
            OR c.overdue_total <> ROUND(s.total, 2))""",
        [business_date, CLOSED],
    )


def _open(cursor, *, business_date: date, now) -> tuple[int, int]:
    """A case for every active loan past its grace days with nothing open, each given its
    collector in the same INSERT: the day's assignment plan covers the cases already waiting
    for one (ranked first, assigned by their own UPDATE) and the new ones (ranked after them).
    Then the timeline entries for exactly the rows inserted (ids above the highest before).
    Returns (opened, assigned)."""
    new = f"""FROM {SOURCE} s JOIN {LOAN} l ON l.id = s.loan_id
        WHERE s.dpd > l.grace_days AND s.total > 0 AND l.status = %s
        -- End of day keeps the same DPD on the loan: its index finds the few overdue loans.
        AND l.days_past_due > 0
        AND NOT EXISTS (
            SELECT 1 FROM {CASE} c WHERE c.loan_id = s.loan_id AND NOT (c.status = %s))"""
    new_params = [ACTIVE, CLOSED]
    cursor.execute(f"SELECT s.bucket, COUNT(*) {new} GROUP BY s.bucket", new_params)
    opening = dict(cursor.fetchall())
    already = assignment.waiting()
    steps = assignment.plan(
        {b: already.get(b, 0) + opening.get(b, 0) for b in {*already, *opening}}
    )
    assigned = assignment.assign_waiting(steps=steps, business_date=business_date)
    if not opening:
        return 0, assigned
    # New cases rank after those already waiting in their bucket.
    offset = "0"
    if already:
        offset = f"CASE s.bucket {' '.join('WHEN %s THEN %s' for _ in already)} ELSE 0 END"
    offset_params = [value for item in already.items() for value in item]
    collector, collector_params = assignment.collector_sql(steps, bucket="x.bucket", rank="x.rn")
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {CASE}")
    highest = cursor.fetchone()[0]
    opened = _execute(
        cursor,
        f"""INSERT INTO {CASE} (loan_id, borrower_id, status, close_reason, bucket,
            days_past_due, overdue_principal, overdue_interest, overdue_penalty, overdue_total,
            assigned_to_id, next_action_on, opened_on, closed_on, updated_on)
        SELECT x.loan_id, x.borrower_id, %s, '', x.bucket, x.dpd, x.principal, x.interest,
            x.penalty, x.total, {collector}, %s, %s, NULL, %s
        FROM (
            SELECT s.loan_id, l.borrower_id, s.bucket, s.dpd, ROUND(s.principal, 2) AS principal,
                ROUND(s.interest, 2) AS interest, ROUND(s.penalty, 2) AS penalty,
                ROUND(s.total, 2) AS total,
                {offset} + ROW_NUMBER() OVER (PARTITION BY s.bucket ORDER BY s.loan_id) AS rn
            {new}) x
        ORDER BY x.loan_id""",
        [
            CaseStatus.NEW.value,
            *collector_params,
            business_date,
            business_date,
            business_date,
            *offset_params,
            *new_params,
        ],
    )
    entries = _execute(
        cursor,
        f"""INSERT INTO {EVENT} {EVENT_COLUMNS}
        SELECT id, %s, %s, CAST(NULL AS INTEGER), NULL, bucket, %s FROM {CASE} WHERE id > %s
        UNION ALL
        SELECT id, %s, %s, NULL, assigned_to_id, bucket, '' FROM {CASE}
        WHERE id > %s AND assigned_to_id IS NOT NULL""",
        [
            *(now, CaseEvent.Kind.OPENED.value, CaseStatus.NEW.value, highest),
            *(now, CaseEvent.Kind.ASSIGNED.value, highest),
        ],
    )
    return opened, assigned + entries - opened


def sync_cases(*, business_date: date) -> dict:
    """Open, update and close the cases for `business_date` (after its end of day), giving
    the new ones and any waiting for a collector to collectors. Re-running a date changes
    nothing more. Counts: {opened, updated, closed, assigned}."""
    now = timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
            _materialise_source(cursor, business_date=business_date)
            closed = _close(cursor, business_date=business_date, now=now)
            updated = _update(cursor, business_date=business_date, now=now)
            opened, assigned = _open(cursor, business_date=business_date, now=now)
            cursor.execute(f"DROP TABLE {SOURCE}")
    return {"opened": opened, "updated": updated, "closed": closed, "assigned": assigned}
