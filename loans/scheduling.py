"""Installing the django-q2 cron schedules each app declares, after `migrate`."""

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class CronSchedule:
    name: str  # shown in the admin, Chinese and English
    func: str  # dotted path of the task
    cron: str  # in Asia/Shanghai (TIME_ZONE)
    args: str = ""  # positional arguments, as django-q2 stores them
    # The task gets the slot's intended time as `intended`, so a late start or a retry after
    # midnight still works on the business date it was meant for.
    intended: bool = True


def install_schedules(schedules: Iterable[CronSchedule]) -> None:
    """Create the schedules that do not exist yet; ones staff have edited are left alone."""
    from django_q.models import Schedule  # only once the app registry is ready

    for item in schedules:
        if Schedule.objects.filter(name=item.name).exists():
            continue
        schedule = Schedule(
            name=item.name,
            func=item.func,
            args=item.args or None,
            schedule_type=Schedule.CRON,
            cron=item.cron,
            intended_date_kwarg="intended" if item.intended else None,
            repeats=-1,
        )
        schedule.next_run = schedule.calculate_next_run()
        schedule.save()
