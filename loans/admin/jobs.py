"""运行 (run now): queue a scheduled job for a business date from the admin, for staff allowed
to. The job is queued with django-q2's `async_task`, exactly the task its schedule runs, and
the queuing is on the audit trail (action "job.run") in the same transaction as the queue row.

Jobs register here: end of day below, the SMS jobs in notifications/admin_jobs.py (this app
never imports a higher one). The page is /admin/jobs/ (config/urls.py).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_q.tasks import async_task

from ..audit import record_event
from ..models import AuditEvent, BusinessDay

RUN_NOW_GROUP = "run-now"
RECENT_RUNS = 10


@dataclass(frozen=True)
class Job:
    key: str  # in the URL
    title: str
    description: str
    permission: str
    task: str  # dotted path, as its schedule names it
    takes_date: bool = True
    # The date the form starts with (default: today in Beijing time).
    default_date: Callable[[], date] | None = None
    # A reason the date cannot be run (beyond "in the future", refused for every job), or None.
    refuse: Callable[[date], str | None] | None = None
    # The task's keyword arguments for a business date (None for jobs without a date).
    task_kwargs: Callable[[date | None], dict] | None = None

    def initial_date(self) -> date:
        return self.default_date() if self.default_date else timezone.localdate()


JOBS: dict[str, Job] = {}


def register_job(job: Job) -> Job:
    JOBS[job.key] = job
    return job


def intended(business_date: date) -> dict:
    """The scheduled tasks take the slot's intended time and work on its Beijing date: give
    them midnight of the chosen date, with its offset, so the date survives the queue."""
    moment = timezone.make_aware(datetime.combine(business_date, time.min))
    return {"intended": moment.isoformat()}


def _last_end_of_day() -> date | None:
    return (
        BusinessDay.objects.order_by("-business_date")
        .values_list("business_date", flat=True)
        .first()
    )


def _next_end_of_day() -> date:
    last = _last_end_of_day()
    today = timezone.localdate()
    return min(last + timedelta(days=1), today) if last else today


def _refuse_end_of_day(day: date) -> str | None:
    last = _last_end_of_day()
    if last and day <= last:
        return _("End of day has already run through %(last)s: nothing to do for %(day)s.") % {
            "last": last,
            "day": day,
        }
    return None


register_job(
    Job(
        key="end-of-day",
        title=_("End of day (日终)"),
        description=_(
            "Processes every business date not yet done, up to and including the chosen one, "
            "oldest first: overdue instalments, penalty interest, buckets, the day's figures."
        ),
        permission="loans.run_end_of_day",
        task="loans.tasks.end_of_day",
        default_date=_next_end_of_day,
        refuse=_refuse_end_of_day,
        task_kwargs=intended,
    )
)


class RunForm(forms.Form):
    business_date = forms.DateField(
        label=_("Business date"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, job: Job, **kwargs):
        super().__init__(*args, **kwargs)
        self.job = job
        if not job.takes_date:
            del self.fields["business_date"]
        else:
            self.fields["business_date"].initial = job.initial_date()

    def clean_business_date(self):
        day = self.cleaned_data["business_date"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("The business date cannot be in the future."))
        reason = self.job.refuse(day) if self.job.refuse else None
        if reason:
            raise forms.ValidationError(reason)
        return day


def allowed_jobs(user) -> list[Job]:
    return [job for job in JOBS.values() if user.has_perm(job.permission)]


def queue_job(*, job: Job, actor, business_date: date | None) -> str:
    """Queue the job's task and record it; returns the django-q task id."""
    kwargs = job.task_kwargs(business_date) if job.task_kwargs else {}
    label = f"{job.title}" + (f" {business_date}" if business_date else "")
    with transaction.atomic():
        task_id = async_task(
            job.task, task_name=f"{label} (run now)"[:100], group=RUN_NOW_GROUP, **kwargs
        )
        record_event(
            actor=actor,
            action="job.run",
            summary=str(_("Queued %(job)s") % {"job": label})[:300],
            after={
                "job": job.key,
                "task": job.task,
                "business_date": str(business_date) if business_date else None,
                "task_id": str(task_id),
            },
        )
    return str(task_id)


def _page(request, forms_by_key: dict, *, status: int = 200):
    recent = AuditEvent.objects.filter(action="job.run").select_related("actor")
    context = {
        **admin.site.each_context(request),
        "title": _("Run a job now"),
        "jobs": [(job, forms_by_key[job.key]) for job in allowed_jobs(request.user)],
        "recent_runs": recent.order_by("-at", "-id")[:RECENT_RUNS],
    }
    return TemplateResponse(request, "admin/dashboard/jobs.html", context, status=status)


def jobs_view(request):
    jobs = allowed_jobs(request.user)
    if not jobs:
        raise PermissionDenied
    return _page(request, {job.key: RunForm(job=job) for job in jobs})


def run_job_view(request, key: str):
    job = JOBS.get(key)
    if job is None:
        raise Http404
    if not request.user.has_perm(job.permission):
        raise PermissionDenied
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    # A NUL byte is refused as a date like any other nonsense (it never reaches the database).
    form = RunForm(request.POST, job=job)
    if not form.is_valid():
        forms_by_key = {j.key: RunForm(job=j) for j in allowed_jobs(request.user)}
        forms_by_key[job.key] = form
        return _page(request, forms_by_key, status=400)
    business_date = form.cleaned_data.get("business_date")
    task_id = queue_job(job=job, actor=request.user, business_date=business_date)
    message = _("Queued %(job)s%(date)s. Task %(task)s; the cluster runs it shortly.") % {
        "job": job.title,
        "date": f" {business_date}" if business_date else "",
        "task": task_id,
    }
    messages.success(request, message)
    return HttpResponseRedirect(reverse("jobs:index"))


app_name = "jobs"
urlpatterns = [
    path("", admin.site.admin_view(jobs_view), name="index"),
    path("<slug:key>/", admin.site.admin_view(run_job_view), name="run"),
]
