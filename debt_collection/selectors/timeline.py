"""A case's timeline: everything that happened on it, from every table that records part of
it, newest first. One query per kind of record."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from loans.models import Repayment
from notifications.models import SmsMessage

from ..guard import RULE_MESSAGES
from ..models import CaseEvent, CollectionCase, Complaint, ContactAttempt, HardshipPlan

# A timeline shows at most this many of the newest rows of each kind.
TIMELINE_LIMIT = 200


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # event, contact, blocked, outcome, promise, visit, complaint, hardship, payment, sms
    title: str
    text: str = ""
    by: str = ""


def case_timeline(*, case: CollectionCase, limit: int = TIMELINE_LIMIT) -> list[TimelineEntry]:
    """Everything that happened on the case, newest first: its own events (opened, assigned,
    status changes, notes), every contact attempt (allowed, or blocked with the rule) and call
    outcome, promises, visits, the borrower's complaints (they pause every case), hardship
    plans on the loan, and the payments and SMS since the case opened."""
    since = timezone.make_aware(datetime.combine(case.opened_on, time.min))
    entries = [
        *_events(case, limit),
        *_contacts(case, since, limit),
        *_promises(case, limit),
        *_visits(case, limit),
        *_complaints(case, limit),
        *_plans(case, limit),
        *_payments(case, since, limit),
        *_messages(case, since, limit),
    ]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


def _end_of(day: date) -> datetime:
    """A record that carries only a date is placed at the end of that day."""
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


def _name(user) -> str:
    return user.get_username() if user is not None else ""


def _money(amount) -> str:
    return f"¥{amount:,.2f}"


def rule_message(code: str) -> str:
    """A guard rule as the timeline names it: its code and its message."""
    message = RULE_MESSAGES.get(code)
    return f"{code}: {message}" if message else code


def plan_terms(plan: HardshipPlan) -> str:
    """A hardship plan's offer in one line: extension, new plan, waiver, stopped interest."""
    parts = []
    if plan.extension_days:
        parts.append(_("due dates +%(days)d days") % {"days": plan.extension_days})
    if plan.new_term:
        parts.append(_("new plan over %(months)d months") % {"months": plan.new_term})
    if plan.penalty_waiver is not None:
        parts.append(_("waive %(amount)s penalty") % {"amount": _money(plan.penalty_waiver)})
    if plan.stop_interest:
        parts.append(_("stop interest and penalty"))
    return ", ".join(parts)


def _events(case, limit) -> Iterator[TimelineEntry]:
    events = case.events.select_related("actor", "collector").order_by("-at", "-id")[:limit]
    for event in events:
        title, text = str(event.get_kind_display()), event.text
        if event.kind == CaseEvent.Kind.ASSIGNED and event.collector_id:
            title = f"{title}: {event.collector.staff_number}"
        elif event.status:
            title = f"{title}: {event.get_status_display()}"
        yield TimelineEntry(event.at, "event", title, text, _name(event.actor))


def _contacts(case, since, limit) -> Iterator[TimelineEntry]:
    """The case's attempts, and automated SMS to its borrower logged without a case."""
    attempts = (
        ContactAttempt.objects.filter(
            Q(case=case) | Q(borrower_id=case.borrower_id, case__isnull=True, at__gte=since)
        )
        .select_related("staff", "outcome__recorded_by")
        .order_by("-at", "-id")[:limit]
    )
    for attempt in attempts:
        channel = attempt.get_channel_display()
        if attempt.allowed:
            yield TimelineEntry(
                attempt.at, "contact", str(channel), attempt.template_code, _name(attempt.staff)
            )
        else:
            yield TimelineEntry(
                attempt.at,
                "blocked",
                _("%(channel)s blocked") % {"channel": channel},
                rule_message(attempt.blocked_rule),
                _name(attempt.staff),
            )
        outcome = getattr(attempt, "outcome", None)
        if outcome is not None:
            yield TimelineEntry(
                outcome.recorded_at,
                "outcome",
                _("Call outcome: %(outcome)s") % {"outcome": outcome.get_outcome_display()},
                outcome.note,
                _name(outcome.recorded_by),
            )


def _promises(case, limit) -> Iterator[TimelineEntry]:
    for promise in case.promises.select_related("made_by").order_by("-made_on", "-id")[:limit]:
        yield TimelineEntry(
            _end_of(promise.made_on),
            "promise",
            _("Promise to pay %(amount)s by %(day)s")
            % {"amount": _money(promise.amount), "day": promise.promised_on},
            _("%(status)s, %(paid)s paid towards it")
            % {"status": promise.get_status_display(), "paid": _money(promise.paid)},
            _name(promise.made_by),
        )


def _visits(case, limit) -> Iterator[TimelineEntry]:
    visits = case.visits.select_related("visitor", "requested_by", "decided_by")
    for visit in visits.order_by("-requested_at")[:limit]:
        title = _("Home visit %(when)s, visitor %(staff_number)s") % {
            "when": visit,
            "staff_number": visit.visitor.staff_number,
        }
        yield TimelineEntry(
            visit.requested_at, "visit", title, visit.purpose, _name(visit.requested_by)
        )
        if visit.decided_at:
            yield TimelineEntry(
                visit.decided_at,
                "visit",
                str(visit.get_status_display()),
                title,
                _name(visit.decided_by),
            )
        if visit.reported_at:
            yield TimelineEntry(visit.reported_at, "visit", _("Visit report"), visit.report)


def _complaints(case, limit) -> Iterator[TimelineEntry]:
    """The borrower's complaints, whichever case they were registered on: each pauses all."""
    complaints = Complaint.objects.filter(borrower_id=case.borrower_id).select_related(
        "registered_by", "resolved_by"
    )
    for complaint in complaints.order_by("-received_at")[:limit]:
        title = (
            f"{complaint.reference} {complaint.get_kind_display()}: "
            f"{complaint.get_category_display()}"
        )
        yield TimelineEntry(
            complaint.received_at,
            "complaint",
            title,
            _("Collection contacts paused until it is resolved in writing."),
            _name(complaint.registered_by) or str(complaint.get_source_display()),
        )
        if complaint.resolved_at:
            yield TimelineEntry(
                complaint.resolved_at,
                "complaint",
                _("Resolved: %(title)s") % {"title": title},
                complaint.resolution,
                _name(complaint.resolved_by),
            )


def _plans(case, limit) -> Iterator[TimelineEntry]:
    plans = HardshipPlan.objects.filter(loan_id=case.loan_id).select_related(
        "proposed_by", "decided_by"
    )
    for plan in plans.order_by("-proposed_at")[:limit]:
        yield TimelineEntry(
            plan.proposed_at,
            "hardship",
            _("Hardship plan proposed: %(terms)s") % {"terms": plan_terms(plan)},
            plan.reason,
            _("the borrower") if plan.proposed_by_borrower else _name(plan.proposed_by),
        )
        if plan.decided_at:
            yield TimelineEntry(
                plan.decided_at,
                "hardship",
                _("Hardship plan: %(status)s") % {"status": plan.get_status_display()},
                plan.decision_note,
                _name(plan.decided_by),
            )


def _payments(case, since, limit) -> Iterator[TimelineEntry]:
    payments = Repayment.objects.filter(loan_id=case.loan_id, posted_at__gte=since)
    for payment in payments.order_by("-posted_at", "-id")[:limit]:
        text = _("%(channel)s, value date %(day)s") % {
            "channel": payment.get_channel_display(),
            "day": payment.value_date,
        }
        if payment.status == Repayment.Status.REVERSED:
            text = f"{text} · {payment.get_status_display()}"
        yield TimelineEntry(
            payment.posted_at,
            "payment",
            _("Payment %(amount)s") % {"amount": _money(payment.amount)},
            text,
        )


def _messages(case, since, limit) -> Iterator[TimelineEntry]:
    """Every SMS to the borrower since the case opened, as the outbox keeps it (login codes
    masked there)."""
    messages = SmsMessage.objects.filter(borrower_id=case.borrower_id, created_at__gte=since)
    for sms in messages.order_by("-created_at", "-id")[:limit]:
        yield TimelineEntry(
            sms.created_at,
            "sms",
            _("SMS %(template)s (%(status)s)")
            % {"template": sms.template, "status": sms.get_status_display()},
            sms.text,
        )
