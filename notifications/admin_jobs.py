"""The SMS jobs staff may run now from /admin/jobs/ (loans.admin.jobs): queue the day's
reminders for a business date, and hand what is due to the senders."""

from django.utils.translation import gettext_lazy as _

from loans.admin.jobs import Job, intended, register_job

register_job(
    Job(
        key="reminders",
        title=_("SMS reminders (短信提醒)"),
        description=_(
            "Queues the due reminders, pre-report notices and overdue notices the cadence asks "
            "for on the chosen business date. Each goes out once: a message already queued is "
            "never queued again. They are sent from 08:00 (quiet hours)."
        ),
        permission="notifications.run_reminders",
        task="notifications.tasks.send_reminders",
        task_kwargs=intended,
    )
)
register_job(
    Job(
        key="sms-dispatch",
        title=_("SMS dispatch (短信发送)"),
        description=_(
            "Hands every message whose time has come to the senders, in batches. It runs every "
            "minute by itself; use this after the cluster was stopped."
        ),
        permission="notifications.run_dispatch",
        task="notifications.tasks.dispatch",
        takes_date=False,
    )
)
