"""What the rules look at, read set-based: one query per fact for one borrower or a whole
batch of automated SMS, never one per draft."""

from collections import Counter
from datetime import datetime, time, timedelta

from django.db.models import Count
from django.utils import timezone

from loans.sql import any_of

from ..models import (
    CallOutcome,
    Channel,
    Complaint,
    ContactAttempt,
    ContactRestriction,
    HardshipPlan,
)
from .rules import CONTACT_SPAN, RESTRICTED_CHANNELS


def open_complaints(borrower_ids: set[int]) -> set[int]:
    return set(
        Complaint.objects.filter(borrower_id__in=any_of(borrower_ids), resolved_at__isnull=True)
        .order_by()
        .values_list("borrower_id", flat=True)
    )


def kept_plans(borrower_ids: set[int]) -> tuple[set[int], set[int]]:
    """(borrowers, loans) with an approved hardship plan being kept."""
    rows = list(
        HardshipPlan.objects.filter(
            loan__borrower_id__in=any_of(borrower_ids), status=HardshipPlan.Status.APPROVED
        )
        .order_by()
        .values_list("loan__borrower_id", "loan_id")
    )
    return {b for b, _ in rows}, {loan for _, loan in rows}


def blocked_channels(borrower_ids: set[int]) -> dict[int, set[str]]:
    blocked: dict[int, set[str]] = {}
    in_force = ContactRestriction.objects.filter(
        borrower_id__in=any_of(borrower_ids), lifted_at__isnull=True
    )
    for borrower_id, scope in in_force.order_by().values_list("borrower_id", "scope"):
        blocked.setdefault(borrower_id, set()).update(RESTRICTED_CHANNELS[scope])
    return blocked


def _counts(rows, key: str) -> Counter:
    return Counter(dict(rows.order_by().values(key).annotate(n=Count("id")).values_list(key, "n")))


def calls_today(borrower_ids: set[int], at: datetime) -> tuple[Counter, Counter]:
    """(allowed call attempts, connected calls) on the local day of `at`."""
    start = timezone.make_aware(datetime.combine(timezone.localdate(at), time.min))
    calls = ContactAttempt.objects.filter(
        borrower_id__in=any_of(borrower_ids),
        channel=Channel.CALL,
        allowed=True,
        at__gte=start,
        at__lt=start + timedelta(days=1),
    )
    connected = CallOutcome.objects.filter(
        attempt__in=calls.values("id"), outcome__in=CallOutcome.CONNECTED
    )
    return _counts(calls, "borrower_id"), _counts(connected, "attempt__borrower_id")


def recent_contacts(borrower_ids: set[int], at: datetime) -> Counter:
    """Allowed contacts of every channel in the 7 × 24 hours before `at` (and any already
    logged for later, such as the morning's automated SMS queued at night)."""
    recent = ContactAttempt.objects.filter(
        borrower_id__in=any_of(borrower_ids), allowed=True, at__gt=at - CONTACT_SPAN
    )
    return _counts(recent, "borrower_id")
