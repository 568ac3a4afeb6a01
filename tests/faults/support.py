"""What the fault tests share: loans overdue on a known date, a snapshot of everything the
ledger shows, threads that each use their own connection, and signed gateway deliveries."""

import json
import threading
import time
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from urllib.parse import quote

import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from loans import reconcile
from loans.gateway import signing
from loans.models import BusinessDay, CreditLine, DebitAttempt, Instalment, Loan, LoanTransaction
from loans.services.cards import default_card
from loans.services.end_of_day import process_business_date
from tests import factories

DRAWN = date(2026, 1, 15)
# Instalments 1 (due 15 Feb) and 2 (due 15 Mar) are overdue, instalment 3's bill not yet open.
VALUE_DATE = date(2026, 3, 20)
WEBHOOK = "/gateway/webhook/"
# What a business day's row reports, without when it ran and how long it took.
DAY_FIGURES = [
    f.name
    for f in BusinessDay._meta.fields
    if f.name not in {"id", "started_at", "finished_at", "seconds"}
]
INSTALMENT_STATE = [
    "number",
    "status",
    "principal_due",
    "interest_due",
    "fee_due",
    "penalty_due",
    "principal_paid",
    "interest_paid",
    "fee_paid",
    "penalty_paid",
    "penalty_accrued_through",
    "paid_on",
]


def database_url(name: str | None = None) -> str:
    """DATABASE_URL for another process: the test database, or `name` on the same server."""
    s = settings.DATABASES["default"]
    user = quote(s.get("USER") or "")
    password = f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else ""
    host, port = s.get("HOST") or "127.0.0.1", s.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{name or connection.settings_dict['NAME']}"


def day_figures(day: date) -> dict:
    return BusinessDay.objects.filter(business_date=day).values(*DAY_FIGURES).get()


def make_loan(*, amount: str = "10000", on: date = DRAWN):
    with time_machine.travel(on):
        return factories.loan(amount=amount, on=on)


def run_day(day: date):
    with time_machine.travel(day):
        return process_business_date(day)


def ledger_state(loan: Loan) -> dict:
    """What the borrower and the ledger see of a loan: every instalment's figures, the loan's
    and its credit line's balances, and the ledger's sums by kind."""
    loan.refresh_from_db()
    sums = {}
    for kind, p, i, pen, fee in (
        LoanTransaction.objects.filter(loan=loan)
        .order_by("kind")
        .values_list("kind", "principal", "interest", "penalty", "fee")
    ):
        total = sums.setdefault(kind, [Decimal("0.00")] * 4)
        for n, value in enumerate((p, i, pen, fee)):
            total[n] += value
    return {
        "instalments": list(
            Instalment.objects.filter(loan=loan).order_by("number").values_list(*INSTALMENT_STATE)
        ),
        "loan": (loan.status, loan.outstanding_principal, loan.days_past_due, loan.bucket),
        "credit_line": CreditLine.objects.get(pk=loan.credit_line_id).outstanding_principal,
        "ledger": {kind: tuple(total) for kind, total in sums.items()},
    }


def assert_reconciled() -> None:
    assert reconcile.differences() == []
    call_command("reconcile_loans")  # exits 1 on any difference


def run_concurrently(jobs, *, timeout: float = 120) -> list[BaseException]:
    """Start every job at the same moment, each in its own thread with its own database
    connection (closed at the end); the exceptions they raised."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job):
        try:
            barrier.wait(timeout=timeout)
            job()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,), daemon=True) for job in jobs]
    for t in threads:
        t.start()
    deadline = time.perf_counter() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.perf_counter()))
    assert not any(t.is_alive() for t in threads), "a worker did not finish in time"
    return errors


def portal_attempt(loan: Loan, *, amount: Decimal, token: str) -> DebitAttempt:
    """A card payment the borrower asked for in the portal, waiting for the gateway."""
    return DebitAttempt.objects.create(
        loan=loan,
        bank_card=default_card(borrower=loan.borrower),
        amount=amount,
        slot=DebitAttempt.Slot.PORTAL,
        business_date=VALUE_DATE,
        gateway_ref=f"PP-{loan.pk}-{token}",
    )


def deliver_success(client, attempt: DebitAttempt, *, event_id: str):
    """POST the gateway's signed "succeeded" notification for `attempt`, signed now."""
    body = json.dumps(
        {
            "event_id": event_id,
            "gateway_ref": attempt.gateway_ref,
            "status": "succeeded",
            "amount": str(attempt.amount),
            "paid_at": timezone.now().isoformat(),
            "failure_reason": "",
        }
    ).encode()
    ts = int(time.time())
    return client.post(
        WEBHOOK,
        data=body,
        content_type="application/json",
        headers={
            "X-Signature": signing.sign(body, ts, settings.PAYMENT_GATEWAY_WEBHOOK_SECRET),
            "X-Timestamp": str(ts),
        },
        REMOTE_ADDR="203.0.113.7",
    )


# --- Pausing a statement and cutting its connection (PostgreSQL) ----------------------------


@contextmanager
def pause_in(table: str, *, event: str = "INSERT", when: str = "", seconds: int = 30):
    """A trigger that makes the first matching statement on `table` sleep, so a test can act
    while that transaction is open, holding its locks. Dropped on the way out."""
    level = f"FOR EACH ROW WHEN ({when})" if when else "FOR EACH STATEMENT"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION faults_pause() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN PERFORM pg_sleep({int(seconds)}); RETURN NULL; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER faults_pause AFTER {event} ON {table} {level} "
            "EXECUTE FUNCTION faults_pause()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS faults_pause ON {table}")
            cursor.execute("DROP FUNCTION IF EXISTS faults_pause()")


def sleeping_backend(*, timeout: float = 30) -> int:
    """The process id of the backend of this database paused by `pause_in`."""
    deadline = time.perf_counter() + timeout
    with connection.cursor() as cursor:
        while time.perf_counter() < deadline:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event = 'PgSleep' AND pid <> pg_backend_pid()"
            )
            row = cursor.fetchone()
            if row:
                return row[0]
            time.sleep(0.05)
    raise AssertionError(f"no statement paused within {timeout} s")


def terminate_backend(pid: int) -> None:
    """Cut the connection the way a failover or a network break does, and wait until its
    transaction is gone."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s, 10000)", [pid])
        assert cursor.fetchone()[0], f"backend {pid} did not terminate"


def in_thread(target) -> tuple[threading.Thread, list[BaseException]]:
    """Run `target` in a thread with its own connection; the exceptions it raised."""
    errors: list[BaseException] = []

    def run():
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors
