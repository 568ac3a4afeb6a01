"""A real task cluster (`manage.py qcluster`) killed with SIGKILL in the middle of end of day,
then a new cluster: the day is done once, and the ledger is exactly what an uninterrupted run
on the same portfolio gives."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, transaction
from django_q.models import Schedule, Task
from django_q.tasks import async_task

from loans.models import BusinessDay, LoanTransaction
from loans.services.end_of_day import ADVISORY_LOCK_KEY
from loans.services.repayments import post_repayment

from .support import (
    DRAWN,
    VALUE_DATE,
    assert_reconciled,
    database_url,
    day_figures,
    ledger_state,
    make_loan,
    pause_in,
    run_day,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
# The scheduled run for VALUE_DATE starts at 00:10 (Asia/Shanghai) of that day.
INTENDED = f"{VALUE_DATE.isoformat()}T00:10:00+08:00"


def start_cluster(log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(), "Q_WORKERS": "1"}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the kill reaches every worker
        )


def stop(cluster: subprocess.Popen) -> None:
    """SIGINT (SIGTERM to the whole group can hang django-q2); SIGKILL if it will not stop."""
    if cluster.poll() is not None:
        return
    os.killpg(cluster.pid, signal.SIGINT)
    try:
        cluster.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait(10)


def kill(cluster: subprocess.Popen) -> None:
    try:
        os.killpg(cluster.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    cluster.wait(10)


def wait_for(condition, *, timeout: float, what: str):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


def end_of_day_mid_run() -> int | None:
    """The backend of a cluster's end of day, caught inside the day's transaction: holding
    the end-of-day advisory lock, paused where it writes the day's penalty rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
            "WHERE a.datname = current_database() AND a.wait_event = 'PgSleep' "
            "AND l.locktype = 'advisory' AND l.objid = %s AND l.granted",
            [ADVISORY_LOCK_KEY],
        )
        row = cursor.fetchone()
    return row and row[0]


def other_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def portfolio():
    """Overdue unpaid, partly paid late, paid on time then overdue, falling overdue and
    newly drawn loans."""
    loans = [make_loan(), make_loan(amount="3000"), make_loan(amount="8000")]
    post_repayment(
        loan=loans[1],
        amount=Decimal("700.00"),
        channel="wechat_pay",
        external_id="WX-P1",
        value_date=DRAWN + timedelta(days=33),
    )
    first = loans[2].instalments.get(number=1)
    post_repayment(
        loan=loans[2],
        amount=first.total_due,
        channel="wechat_pay",
        external_id="WX-P2",
        value_date=first.due_date,
    )
    loans += [
        make_loan(on=DRAWN + timedelta(days=31)),
        make_loan(on=VALUE_DATE - timedelta(days=1)),
    ]
    return loans


def test_a_cluster_killed_mid_end_of_day_leaves_nothing_and_the_next_one_does_the_day_once(
    tmp_path,
):
    loans = portfolio()
    Schedule.objects.all().delete()  # the cluster runs only the task queued here
    before = [ledger_state(loan) for loan in loans]
    with transaction.atomic():  # the control: the same day, not interrupted, rolled back
        control_day = day_figures(run_day(VALUE_DATE).business_date)
        control = [ledger_state(loan) for loan in loans]
        transaction.set_rollback(True)
    # Every loan but the newest has an unpaid instalment past its date.
    assert control_day["penalty_accrued"] > 0 and control_day["newly_overdue"] == 4

    log = tmp_path / "qcluster.log"
    clusters = []
    try:
        # Each run pauses 3 s inside its transaction, at its penalty rows.
        with pause_in(LoanTransaction._meta.db_table, seconds=3):
            clusters.append(start_cluster(log))
            async_task("loans.tasks.end_of_day", INTENDED)
            wait_for(end_of_day_mid_run, timeout=60, what="end of day under way")
            kill(clusters[0])
            # The killed cluster's transaction dies with its connection: nothing was kept. Its
            # backend goes once the paused statement ends (a few pauses of 3 s; slower when the
            # machine is busy).
            wait_for(lambda: other_backends() == 0, timeout=120, what="killed connection gone")
            assert not BusinessDay.objects.exists()
            assert [ledger_state(loan) for loan in loans] == before

            clusters.append(start_cluster(log))
            task_id = async_task("loans.tasks.end_of_day", INTENDED)
            done = wait_for(
                lambda: Task.objects.filter(id=task_id).first(), timeout=60, what="second run"
            )
        assert done.success, done.result
        assert done.result == "1 business date(s) processed"
        stop(clusters[1])
    finally:
        for cluster in clusters:
            kill(cluster)
        print(log.read_text(errors="replace")[-3000:] if log.exists() else "")

    assert day_figures(VALUE_DATE) == control_day
    assert BusinessDay.objects.count() == 1
    assert [ledger_state(loan) for loan in loans] == control
    assert_reconciled()
