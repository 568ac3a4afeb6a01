"""What collections shows the borrower themself in the portal: their hardship requests and
complaints, every contact the contact log holds with them (allowed or blocked), the contact
restrictions in force, and the limits the guard applies to them. Only ever one borrower's rows;
a fixed number of queries per page, never one per row."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from loans.models import Borrower, Loan

from ..guard import CALL_ATTEMPTS_PER_DAY, CONNECTED_CALLS_PER_DAY, RULE_MESSAGES, contact_window
from ..models import (
    CallOutcome,
    Channel,
    Complaint,
    ContactAttempt,
    ContactRestriction,
    HardshipPlan,
)
from ..models.promises import VISIT_NOTICE_DAYS


def hardship_plans(*, borrower: Borrower) -> QuerySet[HardshipPlan]:
    """The borrower's hardship plans on any of their loans, newest first."""
    return (
        HardshipPlan.objects.filter(loan__borrower=borrower)
        .select_related("loan__contract")
        .order_by("-proposed_at", "-pk")
    )


def complaints(*, borrower: Borrower) -> QuerySet[Complaint]:
    return Complaint.objects.filter(borrower=borrower).order_by("-received_at", "-pk")


def loans_for_hardship(*, borrower: Borrower) -> QuerySet[Loan]:
    """The loans a hardship plan can be asked for: active ones, overdue or not."""
    return (
        Loan.objects.filter(borrower=borrower, status=Loan.Status.ACTIVE)
        .select_related("contract")
        .order_by("-days_past_due", "-pk")
    )


def live_plan(*, loan: Loan) -> HardshipPlan | None:
    """The plan proposed or being kept on `loan`, if any (there is at most one)."""
    return HardshipPlan.objects.filter(
        loan=loan, status__in=[HardshipPlan.Status.PROPOSED, HardshipPlan.Status.APPROVED]
    ).first()


def contact_restrictions(*, borrower: Borrower) -> list[ContactRestriction]:
    """The restrictions in force, oldest first (written-only, no calls, no SMS)."""
    return list(
        ContactRestriction.objects.filter(borrower=borrower, lifted_at__isnull=True).order_by(
            "since", "pk"
        )
    )


def written_only_since(restrictions: list[ContactRestriction]) -> datetime | None:
    written = [r for r in restrictions if r.scope == ContactRestriction.Scope.WRITTEN_ONLY]
    return written[0].since if written else None


@dataclass(frozen=True)
class ContactRow:
    """One contact as the borrower is shown it: never a collector's name or any phone."""

    at: datetime
    channel: str
    staff_number: str  # empty for the automated SMS (or staff who hold no collector number)
    automated: bool
    made: bool
    outcome: str  # what came of it, or the rule that stopped it


def contact_attempts(*, borrower: Borrower) -> QuerySet[ContactAttempt]:
    """Every contact-log row of the borrower, newest first, ready for `contact_rows`."""
    return (
        ContactAttempt.objects.filter(borrower=borrower)
        .select_related("staff__collector", "outcome", "sms")
        .order_by("-at", "-pk")
    )


def contact_rows(attempts) -> list[ContactRow]:
    """The borrower's view of contact-log rows (a page of `contact_attempts`)."""
    return [_row(a) for a in attempts]


def _row(attempt: ContactAttempt) -> ContactRow:
    collector = getattr(attempt.staff, "collector", None) if attempt.staff_id else None
    if not attempt.allowed:
        rule = RULE_MESSAGES.get(attempt.blocked_rule)
        outcome = _("Not made (%(rule)s)") % {"rule": rule or attempt.blocked_rule}
    elif attempt.channel == Channel.CALL:
        recorded = getattr(attempt, "outcome", None)
        outcome = _outcome(recorded)
    elif attempt.channel == Channel.VISIT:
        outcome = _("Visit notice sent to you")
    else:
        outcome = _("Text message sent to you")
    return ContactRow(
        at=attempt.at,
        channel=attempt.get_channel_display(),
        staff_number=collector.staff_number if collector is not None else "",
        automated=attempt.channel == Channel.AUTO_SMS,
        made=attempt.allowed,
        outcome=str(outcome),
    )


def _outcome(recorded: CallOutcome | None) -> str:
    if recorded is None:
        return _("Call made; outcome not recorded yet")
    return _("Call made: %(outcome)s") % {"outcome": recorded.get_outcome_display()}


def contact_limits() -> dict:
    """The guard's limits as the borrower is told them: the same constants and settings the
    guard applies, so the page cannot say one thing while the guard does another."""
    start, end = contact_window()
    return {
        "window_start": f"{start:%H:%M}",
        "window_end": f"{end:%H:%M}",
        "calls_per_day": CALL_ATTEMPTS_PER_DAY,
        "connected_per_day": CONNECTED_CALLS_PER_DAY,
        "sms_per_day": settings.SMS_COLLECTION_DAILY_CAP,
        "contacts_per_week": settings.COLLECTION_WEEKLY_CONTACTS,
        "visit_notice_days": VISIT_NOTICE_DAYS,
    }
