"""Keeping django-q2's own tables small. Successful results are capped by Q_CLUSTER
`save_limit`; failures are kept by django-q2 for ever, so the daily clean-up deletes those
older than TASK_FAILURE_RETENTION_DAYS, and the ORM broker's queue rows of tasks that are
already finished (the acknowledgement was lost, e.g. the cluster was killed after saving the
result), which would otherwise run again once their lock expires."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ, Task

from . import scheduling
from .scheduling import CronSchedule

# Queue rows looked at per run; the rows of pending tasks are few, this only bounds a backlog.
QUEUE_ROWS_PER_RUN = 10_000

SCHEDULES = [
    CronSchedule(
        "任务清理 Task housekeeping",
        "loans.housekeeping.clean_task_tables",
        "40 3 * * *",
        intended=False,
    ),
]


def clean_task_tables(*, now: datetime | None = None) -> str:
    """Delete old failed tasks and finished tasks' leftover queue rows."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.TASK_FAILURE_RETENTION_DAYS)
    with transaction.atomic():
        failures, _ = Task.objects.filter(success=False, stopped__lt=cutoff).delete()
        queue_rows = _delete_finished_queue_rows()
    return f"{failures} old failed task(s), {queue_rows} finished queue row(s) deleted"


def _delete_finished_queue_rows() -> int:
    # The task id lives in the signed payload, so it is read in Python; the rows are then
    # matched and deleted in one statement each.
    rows = OrmQ.objects.order_by("pk").only("pk", "payload")[:QUEUE_ROWS_PER_RUN]
    by_task = {row.task_id(): row.pk for row in rows}
    done = Q(success=True)
    if Conf.MAX_ATTEMPTS > 0:
        done |= Q(attempt_count__gte=Conf.MAX_ATTEMPTS)  # django-q2 retries it no more
    finished = Task.objects.filter(done, id__in=list(by_task)).values_list("id", flat=True)
    pks = [by_task[task_id] for task_id in finished]
    deleted, _ = OrmQ.objects.filter(pk__in=pks).delete()
    return deleted


def install_schedules(**kwargs) -> None:
    scheduling.install_schedules(SCHEDULES)
