"""Two django-q2 clusters on one Redis and one PostgreSQL, both handed the same scheduled work:
end of day for one business date and the SMS dispatch, each several times from two processes.
In effect everything happens once: one BusinessDay, one penalty charge, every SMS sent once
(the file backend writes a line per message actually handed to the provider)."""

import os
import signal
import subprocess
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django_q.models import Schedule, Task

from loans import reconcile
from loans.models import BusinessDay, LoanTransaction
from notifications.models import SmsMessage
from tests import factories

from .procs import PYTHON, ROOT, current_database_url, start, stop, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REDIS_URL = "redis://127.0.0.1:6379/7"
DRAWN = date(2026, 1, 15)
DAY = date(2026, 2, 18)  # three days after the first due date, past the grace days
INTENDED = "2026-02-18T00:10:00+08:00"  # the end-of-day slot for DAY, as the schedule passes it
PENALTY = Decimal("2.10")  # 3 days × 0.70 (tests/loans/test_end_of_day.py)
ROUNDS = 3  # per enqueuing process: end of day and dispatch, each ROUNDS times
MESSAGES = 5

# Run by each of two processes at once, with the clusters' environment (Redis broker).
ENQUEUE = """
import time
from django_q.tasks import async_task
from loans.models import Borrower
from notifications.services import queue_sms
borrower = Borrower.objects.get(pk={borrower})
for i in range({messages}):
    key = "two-clusters-%d" % i
    queue_sms(borrower=borrower, template="notice", body="notice " + key,
              purpose="transactional", dedupe_key=key, obeys_quiet_hours=False)
for _ in range({rounds}):
    async_task("loans.tasks.end_of_day", intended="{intended}")
    time.sleep(0.3)  # spaced, so the two clusters' pushers take turns
    async_task("notifications.tasks.dispatch")
    time.sleep(0.3)
"""


@pytest.fixture
def redis_db():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def finished(func: str) -> list[Task]:
    return list(Task.objects.filter(func=func))


def sent_ids():
    return SmsMessage.objects.filter(status=SmsMessage.Status.SENT).values_list("pk", flat=True)


def test_two_clusters_do_the_same_scheduled_work_once(redis_db, tmp_path):
    Schedule.objects.all().delete()  # only the work this test hands out runs
    with time_machine.travel(DRAWN):
        loan = factories.loan(on=DRAWN)
    sent_before = set(sent_ids())  # the card-binding code, texted straight away
    sms_file = tmp_path / "sms.log"
    env = {
        **os.environ,
        "DATABASE_URL": current_database_url(),
        "REDIS_URL": REDIS_URL,
        "Q_WORKERS": "2",
        "SMS_BACKEND": "notifications.backends.file.SmsBackend",
        "SMS_FILE_PATH": str(sms_file),
    }
    logs = [tmp_path / "cluster-a.log", tmp_path / "cluster-b.log"]
    clusters = [start([PYTHON, "manage.py", "qcluster"], env=env, log=log) for log in logs]
    try:
        # Each running cluster keeps a short-lived status key in Redis.
        wait_for(
            lambda: len(redis_db.keys("django_q:microloan:cluster:*")) == 2,
            timeout=180,
            what="both clusters to run",
        )
        code = ENQUEUE.format(
            borrower=loan.borrower_id, messages=MESSAGES, rounds=ROUNDS, intended=INTENDED
        )
        enqueuers = [
            subprocess.Popen([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env)
            for _ in range(2)
        ]
        try:
            assert [p.wait(timeout=300) for p in enqueuers] == [0, 0]
        finally:
            for p in enqueuers:
                if p.poll() is None:
                    p.kill()

        def all_done() -> bool:
            dispatches = finished("notifications.tasks.dispatch")
            batch = settings.SMS_BATCH_SIZE
            batches = sum(-(-t.result // batch) for t in dispatches)  # a task per batch
            return (
                len(finished("loans.tasks.end_of_day")) == 2 * ROUNDS
                and len(dispatches) == 2 * ROUNDS
                and len(finished("notifications.tasks.send_batch")) == batches
            )

        wait_for(all_done, timeout=300, what="every task to finish")
    finally:
        for proc in clusters:
            stop(proc, sig=signal.SIGINT)

    # Both clusters ran end of day (a worker logs "… processing <task> '<function>'").
    for log in logs:
        assert "'loans.tasks.end_of_day'" in log.read_text(), log.name
    assert all(t.success for t in Task.objects.all()), [
        t.result for t in Task.objects.filter(success=False)
    ]

    # End of day: the date done once, whichever cluster got there first.
    assert list(BusinessDay.objects.values_list("business_date", flat=True)) == [DAY]
    results = Counter(t.result for t in finished("loans.tasks.end_of_day"))
    assert results == {
        "1 business date(s) processed": 1,
        "0 business date(s) processed": 2 * ROUNDS - 1,
    }
    penalties = LoanTransaction.objects.filter(kind="penalty").values_list("value_date", "penalty")
    assert list(penalties) == [(DAY, PENALTY)]
    assert reconcile.differences() == []

    # SMS: one message per dedupe key, and each message handed to the provider once.
    notices = SmsMessage.objects.filter(dedupe_key__startswith="two-clusters-")
    assert notices.count() == MESSAGES
    assert set(notices.values_list("status", flat=True)) == {SmsMessage.Status.SENT}
    lines = Counter(int(line.split("\t", 1)[0]) for line in sms_file.read_text().splitlines())
    assert max(lines.values()) == 1
    assert set(lines) == set(sent_ids()) - sent_before >= set(notices.values_list("pk", flat=True))
