"""Scheduled work (django-q2). Tasks are thin: work out the business date, fetch ids, call
services. The schedules are installed after `migrate` and can be edited in the admin."""

import logging
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import F, Sum
from django.utils import timezone

from . import scheduling
from .gateway.sandbox import SandboxGateway
from .models import Instalment, Loan
from .money import to_fen
from .scheduling import CronSchedule
from .services import payments
from .services.end_of_day import run_end_of_day

log = logging.getLogger(__name__)
OPEN = ["pending", "due", "overdue"]


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
    due_date = today - timedelta(days=1) if slot == "next_morning" else today
    candidates = (
        Instalment.objects.filter(
            loan__status=Loan.Status.ACTIVE,
            status__in=OPEN,
            due_date__lte=due_date,
            loan__instalments__due_date=due_date,
        )
        .values("loan_id")
        .annotate(
            amount=Sum(
                F("principal_due")
                - F("principal_paid")
                + F("interest_due")
                - F("interest_paid")
                + F("penalty_due")
                - F("penalty_paid")
                + F("fee_due")
                - F("fee_paid")
            )
        )
        .order_by("loan_id")
    )
    rows = [row for row in candidates if row["amount"] > 0]
    loans = Loan.objects.in_bulk([row["loan_id"] for row in rows])
    requested = 0
    for row in rows:
        attempt = payments.request_auto_debit(
            loan=loans[row["loan_id"]],
            business_date=today,
            slot=slot,
            amount=to_fen(Decimal(row["amount"])),
        )
        requested += attempt is not None
    log.info("auto-debit %s for %s: %d attempts", slot, today, requested)
    return f"{requested} debit attempts"


def deliver_sandbox_refund(body: str) -> str:
    """The sandbox gateway's answer to a refund (queued by `SandboxGateway.refund`), delivered
    the way a gateway calls the refund webhook: signed now, through the same handler as
    POST /gateway/refunds/webhook/, signature check included."""
    signature, timestamp = SandboxGateway.sign_now(body.encode())
    notification = payments.handle_refund_notification(
        body=body.encode(),
        signature=signature,
        timestamp=timestamp,
        remote_ip=None,
        headers={"User-Agent": "sandbox-gateway"},
    )
    return f"{notification.outcome} {notification.detail}".strip()


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
