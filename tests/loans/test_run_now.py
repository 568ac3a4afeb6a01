"""Run now (/admin/jobs/): staff allowed to queue end of day, the SMS reminders or a dispatch
for a business date get exactly the task the schedule runs, on the audit trail; a date in the
future, a date already done, nonsense input or a user without the permission is refused and
nothing is queued."""

from datetime import date, datetime, timedelta
from datetime import time as dt_time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils.module_loading import import_string
from django_q.models import OrmQ

from loans.models import AuditEvent, BusinessDay
from loans.roles import AUDITOR, CUSTOMER_SERVICE, LOAN_OPERATIONS, RISK_OFFICER
from tests import factories

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 10)


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def at(day: date = TODAY, hour: int = 10):
    return time_machine.travel(datetime.combine(day, dt_time(hour), SHANGHAI), tick=False)


def done(day: date) -> BusinessDay:
    moment = datetime.combine(day, dt_time(0, 10), SHANGHAI)
    return BusinessDay.objects.create(
        business_date=day, started_at=moment, finished_at=moment, seconds=1
    )


def run(client, key: str, **data):
    with at():
        return client.post(reverse("jobs:run", args=[key]), data)


def queued() -> list[dict]:
    return [row.task for row in OrmQ.objects.order_by("id")]


@pytest.fixture
def operations(client):
    user = factories.staff(LOAN_OPERATIONS)
    client.force_login(user)
    return user


def test_operations_see_every_job_with_end_of_day_starting_at_the_next_date(client, operations):
    done(TODAY - timedelta(days=4))
    with at():
        response = client.get(reverse("jobs:index"))
    assert response.status_code == 200
    forms = dict((job.key, form) for job, form in response.context["jobs"])
    assert set(forms) == {"end-of-day", "reminders", "sms-dispatch"}
    assert forms["end-of-day"]["business_date"].initial == TODAY - timedelta(days=3)
    assert forms["reminders"]["business_date"].initial == TODAY
    assert "business_date" not in forms["sms-dispatch"].fields


def test_end_of_day_is_queued_recorded_and_runs_for_the_chosen_date(client, operations):
    done(TODAY - timedelta(days=3))
    response = run(client, "end-of-day", business_date="2026-03-09")
    assert response.status_code == 302 and response.url == reverse("jobs:index")
    [task] = queued()
    assert task["func"] == "loans.tasks.end_of_day"
    assert task["group"] == "run-now"
    event = AuditEvent.objects.get(action="job.run")
    assert event.actor == operations
    assert event.after["business_date"] == "2026-03-09"
    assert event.after["task_id"] == task["id"]
    with at():
        page = client.get(reverse("jobs:index"))
    assert "2026-03-09" in page.content.decode() and task["id"] in page.content.decode()
    # The queued task, run as the cluster would, processes the dates up to the chosen one.
    with at():
        import_string(task["func"])(*task["args"], **task["kwargs"])
    assert list(BusinessDay.objects.values_list("business_date", flat=True).order_by("pk")) == [
        date(2026, 3, 7),
        date(2026, 3, 8),
        date(2026, 3, 9),
    ]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("end-of-day", "2026-03-11", "cannot be in the future"),
        ("reminders", "2026-03-11", "cannot be in the future"),
        ("end-of-day", "2026-03-05", "already run through 2026-03-06"),
        ("end-of-day", "yesterday", "valid date"),
        ("end-of-day", "", "required"),
        ("reminders", "2026-02-30", "valid date"),
        ("end-of-day", "2026-03-09\x00", "valid date"),
    ],
)
def test_refused_dates_queue_nothing(client, operations, key, value, message):
    done(date(2026, 3, 6))
    response = run(client, key, business_date=value)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert queued() == []
    assert not AuditEvent.objects.filter(action="job.run").exists()


def test_reminders_and_dispatch_queue_the_sms_tasks(client, operations):
    assert run(client, "reminders", business_date="2026-03-10").status_code == 302
    assert run(client, "sms-dispatch").status_code == 302
    reminders, dispatch = queued()
    assert reminders["func"] == "notifications.tasks.send_reminders"
    assert reminders["kwargs"]["intended"].startswith("2026-03-10T00:00:00+08:00")
    assert dispatch["func"] == "notifications.tasks.dispatch" and dispatch["kwargs"] == {}
    assert AuditEvent.objects.filter(action="job.run", actor=operations).count() == 2


@pytest.mark.parametrize("group", [RISK_OFFICER, CUSTOMER_SERVICE, AUDITOR])
def test_staff_without_the_permission_are_refused(client, group):
    client.force_login(factories.staff(group))
    with at():
        assert client.get(reverse("jobs:index")).status_code == 403
    for key, data in [
        ("end-of-day", {"business_date": "2026-03-10"}),
        ("reminders", {"business_date": "2026-03-10"}),
        ("sms-dispatch", {}),
    ]:
        assert run(client, key, **data).status_code == 403
    assert queued() == []
    assert not AuditEvent.objects.filter(action="job.run").exists()


def test_signed_out_visitors_go_to_the_login_page(client):
    response = run(client, "end-of-day", business_date="2026-03-10")
    assert response.status_code == 302 and "/admin/login/" in response.url
    assert queued() == []


def test_unknown_jobs_and_get_requests_are_refused(client, operations):
    with at():
        assert client.get(reverse("jobs:run", args=["end-of-day"])).status_code == 405
    assert run(client, "nonsense", business_date="2026-03-10").status_code == 404
    assert queued() == []


def test_the_end_of_day_list_links_to_run_now_for_operations_only(client, operations):
    done(TODAY)
    link = f'href="{reverse("jobs:index")}"'
    with at():
        assert link in client.get(reverse("admin:loans_businessday_changelist")).content.decode()
    client.force_login(factories.staff(AUDITOR))
    with at():
        page = client.get(reverse("admin:loans_businessday_changelist"))
    assert page.status_code == 200 and link not in page.content.decode()
