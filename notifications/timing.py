"""Quiet hours and back-off: when a message may go out."""

from datetime import datetime, time, timedelta

from django.conf import settings
from django.utils import timezone


def _window() -> tuple[time, time]:
    start, end = settings.SMS_SEND_WINDOW
    return time.fromisoformat(start), time.fromisoformat(end)


def in_send_window(moment: datetime) -> bool:
    start, end = _window()
    local = timezone.localtime(moment).time()
    return start <= local < end


def next_send_time(moment: datetime) -> datetime:
    """`moment` itself inside the daytime window (08:00–21:00 by default), else the next
    window's opening, in Asia/Shanghai."""
    if in_send_window(moment):
        return moment
    start, _end = _window()
    local = timezone.localtime(moment)
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, start))


# Minutes to wait after the 1st, 2nd, 3rd… failed attempt before trying again.
BACKOFF_MINUTES = (1, 5, 30, 120)


def retry_time(now: datetime, attempts: int) -> datetime:
    minutes = BACKOFF_MINUTES[min(attempts, len(BACKOFF_MINUTES)) - 1]
    return now + timedelta(minutes=minutes)
