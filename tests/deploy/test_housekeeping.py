"""The daily clean-up of django-q2's tables: old failures and finished tasks' queue rows go,
everything still useful stays."""

from datetime import timedelta
from uuid import uuid4

import pytest
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ, Schedule, Task
from django_q.signing import SignedPackage

from loans.housekeeping import SCHEDULES, clean_task_tables, install_schedules

pytestmark = pytest.mark.django_db


def task(*, age_days: float, success: bool, attempts: int = 1) -> str:
    stopped = timezone.now() - timedelta(days=age_days)
    return Task.objects.create(
        id=uuid4().hex,
        name=f"task-{uuid4().hex[:8]}",
        func="notifications.tasks.dispatch",
        started=stopped - timedelta(seconds=1),
        stopped=stopped,
        success=success,
        attempt_count=attempts,
    ).id


def queued(task_id: str) -> int:
    payload = SignedPackage.dumps({"id": task_id, "name": task_id, "func": "x"})
    return OrmQ.objects.create(key=Conf.CLUSTER_NAME, payload=payload, lock=timezone.now()).pk


def test_old_failures_go_recent_ones_and_successes_stay(settings):
    settings.TASK_FAILURE_RETENTION_DAYS = 30
    old_failure = task(age_days=31, success=False)
    recent_failure = task(age_days=29, success=False)
    old_success = task(age_days=90, success=True)  # save_limit prunes these, not us

    result = clean_task_tables()

    assert set(Task.objects.values_list("id", flat=True)) == {recent_failure, old_success}
    assert old_failure not in Task.objects.values_list("id", flat=True)
    assert result.startswith("1 old failed task(s)")


def test_queue_rows_of_finished_tasks_go_pending_and_retried_ones_stay():
    done = queued(task(age_days=0, success=True))
    given_up = queued(task(age_days=0, success=False, attempts=Conf.MAX_ATTEMPTS))
    to_retry = queued(task(age_days=0, success=False, attempts=1))
    pending = queued(uuid4().hex)  # not run yet: no result at all

    result = clean_task_tables()

    assert set(OrmQ.objects.values_list("pk", flat=True)) == {to_retry, pending}
    assert result.endswith("2 finished queue row(s) deleted")
    assert {done, given_up}.isdisjoint(OrmQ.objects.values_list("pk", flat=True))


def test_the_clean_up_is_scheduled_once_a_day():
    Schedule.objects.filter(func="loans.housekeeping.clean_task_tables").delete()
    install_schedules()
    install_schedules()  # after every migrate: never a second copy
    schedule = Schedule.objects.get(func="loans.housekeeping.clean_task_tables")
    assert schedule.cron == SCHEDULES[0].cron
    assert schedule.next_run > timezone.now()
