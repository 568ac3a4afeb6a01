"""Scheduled SMS work (django-q2): queue the day's reminders, and send what is due in
batches — one task per batch, never one per message."""

import logging
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django_q.tasks import async_task

from loans import scheduling
from loans.scheduling import CronSchedule

from . import outbox, services
from .backends import get_backend
from .receipts import record_delivery_receipts
from .reminders import queue_reminders

logger = logging.getLogger(__name__)


def send_reminders(intended=None) -> str:
    if isinstance(intended, str):
        intended = datetime.fromisoformat(intended)
    business_date = timezone.localdate(intended) if intended else timezone.localdate()
    counts = queue_reminders(business_date=business_date)
    return ", ".join(f"{kind}: {n}" for kind, n in counts.items())


def dispatch(limit: int = 200_000) -> int:
    """Hand the messages whose time has come to the workers, a batch per task, each message
    to one task only (outbox.hand_out). First settle what dead workers left "sending": the
    provider's receipts say which it accepted, the rest are queued again."""
    now = timezone.now()
    services.fail_unsent_secrets(now)
    if outbox.in_doubt(now).exists():
        pull_delivery_receipts()
        requeued = outbox.requeue_in_doubt(now)
        if requeued:
            logger.warning("%d SMS in doubt and never reported by the provider: requeued", requeued)
    ids = outbox.hand_out(now=now, limit=limit)
    size = settings.SMS_BATCH_SIZE
    for i in range(0, len(ids), size):
        async_task("notifications.tasks.send_batch", ids[i : i + size], group="sms")
    return len(ids)


def send_batch(ids: list[int]) -> int:
    return services.send_messages(ids)


PULL_LIMIT = 100
MAX_PULLS = 50  # bounds one run: at most 5,000 receipts, the next run takes the rest


def pull_delivery_receipts() -> int:
    """Pull receipts until the provider has no more, recording each pull before the next
    (the provider hands out each receipt once). Does nothing for backends without receipts.
    Returns how many messages were updated."""
    backend = get_backend()
    pull = getattr(backend, "pull_delivery_receipts", None)
    if pull is None:
        return 0
    updated = 0
    for _ in range(MAX_PULLS):
        receipts = pull(limit=PULL_LIMIT)
        updated += record_delivery_receipts(receipts)
        if len(receipts) < PULL_LIMIT:
            break
    if updated:
        logger.info("Recorded %d SMS delivery receipt(s)", updated)
    return updated


SCHEDULES = [
    # Reminders after end of day (00:10), sent from 08:00 when quiet hours end; the
    # dispatcher runs every minute.
    CronSchedule("短信提醒 SMS reminders", "notifications.tasks.send_reminders", "30 0 * * *"),
    CronSchedule(
        "短信发送 SMS dispatch", "notifications.tasks.dispatch", "* * * * *", intended=False
    ),
    CronSchedule(
        "短信回执 SMS delivery receipts",
        "notifications.tasks.pull_delivery_receipts",
        "*/5 * * * *",
        intended=False,
    ),
]


def install_schedules(**kwargs) -> None:
    scheduling.install_schedules(SCHEDULES)
