"""Scheduled work (django-q2). Tasks are thin: work out the business date, fetch ids, call
services. The schedules are installed after `migrate` and can be edited in the admin."""

import logging
from collections.abc import Callable
from datetime import date, datetime

from django.utils import timezone

from . import scheduling
from .gateway.sandbox import SandboxGateway
from .models import GatewayNotification
from .scheduling import CronSchedule
from .services import payments, webhooks
from .services.end_of_day import run_end_of_day

log = logging.getLogger(__name__)


def _business_date(intended: str | datetime | None) -> date:
    """The schedule's intended time decides the business date, so a task that starts late
    (or is retried after midnight) still works on the day it was meant for."""
    if isinstance(intended, str):
        intended = datetime.fromisoformat(intended)
    return timezone.localdate(intended) if intended else timezone.localdate()


def end_of_day(intended=None) -> str:
    days = run_end_of_day(through=_business_date(intended))
    return f"{len(days)} business date(s) processed"


def auto_debit(slot: str, intended=None) -> str:
    """自动扣款 (auto-debit): on the due date early morning and at 17:00, and the next morning,
    ask the gateway to collect what is due from each borrower's default card."""
    today = _business_date(intended)
    requested = 0
    for due in payments.auto_debits_due(slot=slot, business_date=today):
        attempt = payments.request_auto_debit(
            loan=due.loan, business_date=today, slot=slot, amount=due.amount
        )
        requested += attempt is not None
    log.info("auto-debit %s for %s: %d attempts", slot, today, requested)
    return f"{requested} debit attempts"


def _deliver_sandbox(handle: Callable[..., GatewayNotification], body: str) -> str:
    """The sandbox gateway's answer, delivered the way a gateway calls a webhook: signed now,
    through the same handler as the webhook view, signature check included."""
    signature, timestamp = SandboxGateway.sign_now(body.encode())
    notification = handle(
        body=body.encode(),
        signature=signature,
        timestamp=timestamp,
        remote_ip=None,
        headers={"User-Agent": "sandbox-gateway"},
    )
    return f"{notification.outcome} {notification.detail}".strip()


def deliver_sandbox_charge(body: str) -> str:
    """A charge's result (queued by `SandboxGateway.charge`), as POST /gateway/webhook/."""
    return _deliver_sandbox(webhooks.handle_gateway_notification, body)


def deliver_sandbox_refund(body: str) -> str:
    """A refund's result (queued by `SandboxGateway.refund`), as
    POST /gateway/refunds/webhook/."""
    return _deliver_sandbox(webhooks.handle_refund_notification, body)


SCHEDULES = [
    CronSchedule("日终 End of day", "loans.tasks.end_of_day", "10 0 * * *"),
    CronSchedule(
        "自动扣款 Auto-debit: due date, morning",
        "loans.tasks.auto_debit",
        "0 6 * * *",
        args="'due_morning'",
    ),
    CronSchedule(
        "自动扣款 Auto-debit: due date, 17:00",
        "loans.tasks.auto_debit",
        "0 17 * * *",
        args="'due_evening'",
    ),
    CronSchedule(
        "自动扣款 Auto-debit: next morning",
        "loans.tasks.auto_debit",
        "30 6 * * *",
        args="'next_morning'",
    ),
]


def install_schedules(**kwargs) -> None:
    scheduling.install_schedules(SCHEDULES)
