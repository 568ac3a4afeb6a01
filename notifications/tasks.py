"""Scheduled SMS work (django-q2): queue the day's reminders, and send what is due in
batches — one task per batch, never one per message."""

from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django_q.tasks import async_task

from . import services
from .reminders import queue_reminders
from .tasks_receipts import pull_delivery_receipts  # noqa: F401  (scheduled below)


def send_reminders(intended=None) -> str:
    if isinstance(intended, str):
        intended = datetime.fromisoformat(intended)
    business_date = timezone.localdate(intended) if intended else timezone.localdate()
    counts = queue_reminders(business_date=business_date)
    return ", ".join(f"{kind}: {n}" for kind, n in counts.items())


def dispatch(limit: int = 200_000) -> int:
    """Hand the messages whose time has come to the workers, a batch per task."""
    services.fail_unsent_secrets(timezone.now())
    ids = list(
        services.sendable(timezone.now())
        .order_by("send_after", "id")
        .values_list("id", flat=True)[:limit]
    )
    size = settings.SMS_BATCH_SIZE
    for i in range(0, len(ids), size):
        async_task("notifications.tasks.send_batch", ids[i : i + size], group="sms")
    return len(ids)


def send_batch(ids: list[int]) -> int:
    return services.send_messages(ids)


SCHEDULES = [
    # (name, function, cron in Asia/Shanghai): reminders after end of day (00:10), sent from
    # 08:00 when quiet hours end; the dispatcher runs every minute.
    ("短信提醒 SMS reminders", "notifications.tasks.send_reminders", "30 0 * * *"),
    ("短信发送 SMS dispatch", "notifications.tasks.dispatch", "* * * * *"),
    ("短信回执 SMS delivery receipts", "notifications.tasks.pull_delivery_receipts", "*/5 * * * *"),
]


def install_schedules(**kwargs) -> None:
    from django_q.models import Schedule

    for name, func, cron in SCHEDULES:
        if Schedule.objects.filter(name=name).exists():
            continue
        schedule = Schedule(
            name=name,
            func=func,
            schedule_type=Schedule.CRON,
            cron=cron,
            intended_date_kwarg="intended" if func.endswith("send_reminders") else None,
            repeats=-1,
        )
        schedule.next_run = schedule.calculate_next_run()
        schedule.save()
