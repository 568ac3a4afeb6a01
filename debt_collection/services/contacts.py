"""A collector's contacts with a borrower: calls, their outcomes, SMS from approved templates,
and the borrower's channel restrictions. Every contact goes through `guard.attempt`; there is
no parameter for a phone number anywhere: the borrower's own mobile is the only one used."""

from datetime import date
from decimal import Decimal
from uuid import uuid4

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loans.audit import record_event
from loans.models import Borrower, PiiAccessLog
from notifications.services import queue_from_template

from .. import guard
from ..models import (
    CallOutcome,
    CaseEvent,
    CaseStatus,
    Channel,
    CollectionCase,
    Complaint,
    ContactAttempt,
    ContactRestriction,
    HomeVisit,
)
from . import cases as case_services
from . import complaints as complaint_services


def call_borrower(
    *, case: CollectionCase, staff
) -> tuple[ContactAttempt, guard.Decision, str | None]:
    """Ask the guard for a call. Allowed: the borrower's own mobile, shown for this one call
    and logged as a reveal (on the attempt and in the personal-data access log). Blocked: no
    number, and the decision names the rule."""
    case_services._check_may_work(case=case, staff=staff)
    borrower = case.borrower
    with transaction.atomic():
        attempt, decision = guard.attempt(
            borrower=borrower, channel=Channel.CALL, staff=staff, case=case
        )
        if not decision.allowed:
            return attempt, decision, None
        # Collectors hold no general reveal permission (loans.services.borrowers.reveal_pii):
        # the guard's decision is what entitles them to this one number.
        PiiAccessLog.objects.create(
            user=staff,
            borrower=borrower,
            field="mobile",
            reason=f"collection call, contact attempt #{attempt.pk}, case #{case.pk}",
        )
    return attempt, decision, borrower.mobile


def record_call_outcome(
    *,
    attempt: ContactAttempt,
    outcome: str,
    staff,
    note: str = "",
    promise_amount: Decimal | None = None,
    promise_date: date | None = None,
    dispute_category: str = Complaint.Category.AMOUNT,
) -> CallOutcome:
    """What came of an allowed call, once. A promise to pay creates the promise; a dispute
    registers it (which pauses collection until it is answered in writing)."""
    note = case_services._clean_text(note, required=False, field="note")
    if attempt.channel != Channel.CALL or not attempt.allowed:
        raise ValidationError(_("Only a call the guard allowed has an outcome."))
    if outcome not in CallOutcome.Outcome.values:
        raise ValidationError({"outcome": _("Choose what came of the call.")})
    if attempt.staff_id != staff.pk and not staff.has_perm(case_services.SUPERVISE):
        raise PermissionDenied(_("Only the collector who made the call records its outcome."))
    if CallOutcome.objects.filter(attempt=attempt).exists():
        raise ValidationError(_("This call's outcome is already recorded."))
    if outcome in (CallOutcome.Outcome.PROMISE, CallOutcome.Outcome.DISPUTE):
        if attempt.case is None:
            raise ValidationError(_("A promise or dispute needs the call's case."))
    if outcome == CallOutcome.Outcome.PROMISE and (promise_amount is None or promise_date is None):
        raise ValidationError({"promise_amount": _("Give the amount and date promised.")})
    if outcome == CallOutcome.Outcome.DISPUTE and not note:
        raise ValidationError({"note": _("Say what the borrower disputes.")})
    try:
        with transaction.atomic():
            result = CallOutcome.objects.create(
                attempt=attempt, outcome=outcome, note=note, recorded_by=staff
            )
            if outcome == CallOutcome.Outcome.PROMISE:
                case_services.make_promise(
                    case=attempt.case,
                    amount=promise_amount,
                    promised_on=promise_date,
                    staff=staff,
                )
            elif outcome == CallOutcome.Outcome.DISPUTE:
                complaint_services.register_complaint(
                    borrower=attempt.borrower,
                    kind=Complaint.Kind.DISPUTE,
                    category=dispute_category,
                    description=note,
                    source=Complaint.Source.STAFF,
                    staff=staff,
                    case=attempt.case,
                )
    except IntegrityError as exc:  # two people recording the same call at once
        raise ValidationError(_("This call's outcome is already recorded.")) from exc
    return result


def _case_context(case: CollectionCase) -> dict:
    """What the approved collection templates may use (see their sample data)."""
    return {
        "days_past_due": case.days_past_due,
        "principal": f"{case.overdue_principal:.2f}",
        "interest": f"{case.overdue_interest:.2f}",
        "penalty": f"{case.overdue_penalty:.2f}",
        "total": f"{case.overdue_total:.2f}",
    }


def send_collection_sms(
    *, case: CollectionCase, staff, template_code: str
) -> tuple[ContactAttempt, guard.Decision]:
    """An SMS from an approved collection template to the case's borrower, if the guard
    allows it; the outbox row is linked on the attempt."""
    case_services._check_may_work(case=case, staff=staff)
    borrower = case.borrower

    def send():
        return queue_from_template(
            borrower=borrower,
            template_code=template_code,
            context=_case_context(case),
            dedupe_key=f"collection-sms:{case.pk}:{uuid4().hex}",
        )

    return guard.attempt(
        borrower=borrower,
        channel=Channel.SMS,
        staff=staff,
        case=case,
        template_code=template_code,
        send=send,
    )


def restrict_contact(
    *, borrower: Borrower, scope: str, staff, reason: str = ""
) -> ContactRestriction:
    """The borrower asked for written contact only, or no calls, or no SMS: in force at once,
    for every case and the automated SMS. Asking again for the same returns the one in force."""
    if scope not in ContactRestriction.Scope.values:
        raise ValidationError({"scope": _("Choose which contact the borrower refuses.")})
    reason = case_services._clean_text(reason, required=False, field="reason")[:200]
    restriction, _created = _record_restriction(
        borrower=borrower, scope=scope, reason=reason, recorded_by=staff
    )
    return restriction


@transaction.atomic
def _record_restriction(*, borrower: Borrower, scope: str, **fields):
    """(the restriction of `scope` in force, whether this call made it). Under the same row
    lock as the guard's: a contact being decided right now finishes first, and a double click
    or tap makes one restriction."""
    list(
        Borrower.objects.select_for_update(no_key=True)
        .filter(pk=borrower.pk)
        .values_list("pk", flat=True)
    )
    in_force = ContactRestriction.objects.filter(
        borrower=borrower, scope=scope, lifted_at__isnull=True
    ).first()
    if in_force is not None:
        return in_force, False
    return ContactRestriction.objects.create(borrower=borrower, scope=scope, **fields), True


def request_written_only(*, borrower: Borrower) -> tuple[ContactRestriction, bool]:
    """The borrower asks in the portal for written contact only: from now on the guard refuses
    every call, collection SMS (automated ones too) and home visit, and visits still to come
    are called off. No member of staff is involved; lifting it is a supervisor's, as for one
    told to staff. Idempotent: (the restriction in force, whether this call made it)."""
    with transaction.atomic():
        restriction, created = _record_restriction(
            borrower=borrower,
            scope=ContactRestriction.Scope.WRITTEN_ONLY,
            by_borrower=True,
            reason="借款人在线申请仅书面联系 (asked in the portal)",
        )
        if not created:
            return restriction, False
        # A visit is a contact too: an approved one would otherwise still happen.
        HomeVisit.objects.filter(
            case__borrower=borrower,
            status__in=[HomeVisit.Status.REQUESTED, HomeVisit.Status.APPROVED],
            visit_date__gte=timezone.localdate(),
        ).update(status=HomeVisit.Status.CANCELLED)
        text = _("The borrower asked in the portal for written contact only.")
        # Each open case's timeline says so; one waiting for its visit goes back to work.
        notes = []
        for case in CollectionCase.objects.open().filter(borrower=borrower):
            if case.status == CaseStatus.VISIT_SCHEDULED:
                case_services.set_status(case=case, status=CaseStatus.IN_PROGRESS, text=text)
            else:
                notes.append(CaseEvent(case=case, kind=CaseEvent.Kind.NOTE, text=text))
        CaseEvent.objects.bulk_create(notes)
    return restriction, True


def lift_restriction(*, restriction: ContactRestriction, staff) -> ContactRestriction:
    """The borrower withdrew the request; a supervisor records it."""
    if not staff.has_perm(case_services.SUPERVISE):
        raise PermissionDenied(_("Only a supervisor may lift a contact restriction."))
    with transaction.atomic():
        restriction = ContactRestriction.objects.select_for_update().get(pk=restriction.pk)
        if restriction.lifted_at is not None:
            raise ValidationError(_("This restriction was lifted already."))
        restriction.lifted_at = timezone.now()
        restriction.lifted_by = staff
        restriction.save(update_fields=["lifted_at", "lifted_by"])
        record_event(
            actor=staff,
            action="restriction.lift",
            target=restriction,
            summary=str(restriction),
            before={"lifted_at": None},
            after={"lifted_at": restriction.lifted_at},
        )
    return restriction
