"""What staff do to a collection case (催收案件): promises to pay, internal notes, status
changes, escalation, bulk reassignment; and the pause and resume that complaints and hardship
plans apply to all of a borrower's cases.

A case is worked by its collector or by a supervisor (`collections.supervise_case`); anyone
else is refused, whatever screen they came from. Closing is never done by hand: the case sync
closes a case when its loan is cured, settled, or recovered after write-off.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from loans.audit import record_event
from loans.models import Borrower, Loan
from loans.money import is_whole_fen
from loans.selectors import payoff_amount
from loans.services.repayments import unrecovered_amount

from ..models import CaseEvent, CaseStatus, CollectionCase, Collector, PromiseToPay
from ..models.promises import MAX_PROMISE_DAYS
from ..promises import paid_towards

SUPERVISE = "collections.supervise_case"
MAX_NOTE_LENGTH = 4000


def _locked(case: CollectionCase) -> CollectionCase:
    return CollectionCase.objects.select_for_update().get(pk=case.pk)


def _check_may_work(*, case: CollectionCase, staff) -> None:
    """The case's own collector or a supervisor; nobody else."""
    if staff is None:
        raise PermissionDenied(_("Work on a case is done by a named member of staff."))
    if staff.has_perm(SUPERVISE):
        return
    if (
        case.assigned_to_id
        and Collector.objects.filter(pk=case.assigned_to_id, user_id=staff.pk).exists()
    ):
        return
    raise PermissionDenied(_("This case is not assigned to you."))


def _check_open(case: CollectionCase) -> None:
    if not case.is_open:
        raise ValidationError(_("This case is closed."))


def _clean_text(text: str, *, required: bool, field: str = "text") -> str:
    text = (text or "").strip()
    if "\x00" in text:
        raise ValidationError({field: _("The text contains a character that cannot be stored.")})
    if required and not text:
        raise ValidationError({field: _("Write what happened.")})
    if len(text) > MAX_NOTE_LENGTH:
        raise ValidationError(
            {field: _("Keep it under %(n)d characters.") % {"n": MAX_NOTE_LENGTH}}
        )
    return text


def owed_now(*, loan: Loan, on: date) -> Decimal:
    """What the borrower owes on `on`: what settles an active loan, or what a written-off
    loan still has unrecovered."""
    if loan.status == Loan.Status.WRITTEN_OFF:
        return unrecovered_amount(loan=loan)
    return payoff_amount(loan=loan, on=on)


def make_promise(
    *,
    case: CollectionCase,
    amount: Decimal,
    promised_on: date,
    staff,
    today: date | None = None,
) -> PromiseToPay:
    """Record a borrower's promise to pay `amount` by `promised_on` (today up to
    MAX_PROMISE_DAYS ahead, at most what the loan owes today). One open promise per case.
    The case moves to "promise to pay" with the promise's date as its next action (unless a
    complaint or hardship plan holds it). The timeline shows the promise row itself."""
    today = today or timezone.localdate()
    with transaction.atomic():
        case = _locked(case)
        _check_may_work(case=case, staff=staff)
        _check_open(case)
        errors = {}
        if amount is None or amount <= 0 or not is_whole_fen(amount):
            errors["amount"] = _("The amount must be positive and in whole fen.")
        else:
            owed = owed_now(loan=case.loan, on=today)
            if amount > owed:
                errors["amount"] = _(
                    "¥%(amount)s is more than this loan owes today (¥%(owed)s)."
                ) % {"amount": f"{amount:.2f}", "owed": f"{owed:.2f}"}
        last = today + timedelta(days=MAX_PROMISE_DAYS)
        if promised_on is None or not today <= promised_on <= last:
            errors["promised_on"] = _(
                "A promise is for a date from today up to %(days)d days ahead (%(last)s)."
            ) % {"days": MAX_PROMISE_DAYS, "last": last.isoformat()}
        standing = case.promises.filter(status=PromiseToPay.Status.OPEN).first()
        if standing:
            errors["__all__"] = _(
                "This case already has an open promise: ¥%(amount)s by %(date)s."
            ) % {"amount": f"{standing.amount:.2f}", "date": standing.promised_on.isoformat()}
        if errors:
            raise ValidationError(errors)
        promise = PromiseToPay.objects.create(
            case=case, amount=amount, promised_on=promised_on, made_on=today, made_by=staff
        )
        # Money already received today counts (the window starts on the promise's day).
        PromiseToPay.objects.filter(pk=promise.pk).update(paid=paid_towards())
        promise.refresh_from_db()
        if promise.paid >= promise.amount:
            promise.status, promise.resolved_on = PromiseToPay.Status.KEPT, today
            promise.save(update_fields=["status", "resolved_on"])
        elif case.status not in (
            CaseStatus.PAUSED,
            CaseStatus.HARDSHIP_REQUESTED,
            CaseStatus.HARDSHIP_PLAN,
        ):
            case.status = CaseStatus.PROMISE_TO_PAY
            case.next_action_on = promised_on
            case.save(update_fields=["status", "next_action_on"])
        return promise


def add_note(*, case: CollectionCase, staff, text: str) -> CaseEvent:
    """An internal note on the timeline. Never shown to the borrower, so no guard."""
    text = _clean_text(text, required=True)
    with transaction.atomic():
        case = _locked(case)
        _check_may_work(case=case, staff=staff)
        return CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.NOTE, actor=staff, text=text)


def reassign_cases(*, cases, collector: Collector, staff) -> int:
    """A supervisor gives open cases to `collector` (active, not on leave), each with a
    timeline entry. Cases already theirs, and closed ones, are left as they are. Returns how
    many moved."""
    if staff is None or not staff.has_perm(SUPERVISE):
        raise PermissionDenied(_("Only a supervisor reassigns cases."))
    with transaction.atomic():
        collector = Collector.objects.select_related("user").get(pk=collector.pk)
        if not (collector.is_active and collector.user.is_active) or collector.on_leave:
            raise ValidationError(
                _("%(collector)s is inactive or on leave and receives no cases.")
                % {"collector": collector.staff_number}
            )
        ids = cases.values("pk") if isinstance(cases, QuerySet) else [c.pk for c in cases]
        moving = list(
            CollectionCase.objects.open()
            .filter(pk__in=ids)
            .exclude(assigned_to=collector)
            .select_for_update()
            .values_list("pk", "bucket")
        )
        CollectionCase.objects.filter(pk__in=[pk for pk, _ in moving]).update(assigned_to=collector)
        CaseEvent.objects.bulk_create(
            CaseEvent(
                case_id=pk,
                kind=CaseEvent.Kind.ASSIGNED,
                actor=staff,
                collector=collector,
                text=bucket,
            )
            for pk, bucket in moving
        )
        if moving:
            record_event(
                actor=staff,
                action="case.reassign",
                target=collector,
                summary=f"{len(moving)} → {collector.staff_number}",
                after={"cases": [pk for pk, _ in moving], "collector": collector.staff_number},
            )
        return len(moving)


def _change_status(*, case: CollectionCase, status: str, staff, text: str, kind: str) -> None:
    case.status = status
    case.save(update_fields=["status"])
    CaseEvent.objects.create(case=case, kind=kind, actor=staff, text=text, status=status)


def set_status(*, case: CollectionCase, status: str, staff=None, text: str = "") -> CollectionCase:
    """Move an open case to another open status, with a timeline entry. `staff` None is the
    system (another service acting for a rule); staff must be allowed to work the case."""
    text = _clean_text(text, required=False)
    if status not in CaseStatus.values:
        raise ValidationError({"status": _("Unknown case status.")})
    if status == CaseStatus.CLOSED:
        raise ValidationError(
            {"status": _("A case closes by itself when its loan is cured, settled or recovered.")}
        )
    with transaction.atomic():
        case = _locked(case)
        if staff is not None:
            _check_may_work(case=case, staff=staff)
        _check_open(case)
        if case.status != status:
            _change_status(
                case=case, status=status, staff=staff, text=text, kind=CaseEvent.Kind.STATUS
            )
        return case


def escalate(*, case: CollectionCase, staff, text: str) -> CollectionCase:
    """Hand a case up (to a supervisor, legal review): status escalated, with the reason."""
    text = _clean_text(text, required=True)
    with transaction.atomic():
        case = _locked(case)
        _check_may_work(case=case, staff=staff)
        _check_open(case)
        _change_status(
            case=case,
            status=CaseStatus.ESCALATED,
            staff=staff,
            text=text,
            kind=CaseEvent.Kind.ESCALATED,
        )
        return case


def _set_cases(*, cases: QuerySet, status: str, text: str) -> int:
    with transaction.atomic():
        ids = list(cases.select_for_update().values_list("pk", flat=True))
        CollectionCase.objects.filter(pk__in=ids).update(status=status)
        CaseEvent.objects.bulk_create(
            CaseEvent(case_id=pk, kind=CaseEvent.Kind.STATUS, text=text, status=status)
            for pk in ids
        )
        return len(ids)


def pause_cases(*, borrower: Borrower, reason_text: str) -> int:
    """Pause every open case of the borrower (a complaint or dispute is open): the guard
    refuses contact on a paused case. Returns how many were paused."""
    text = _clean_text(reason_text, required=False)
    cases = (
        CollectionCase.objects.open().filter(borrower=borrower).exclude(status=CaseStatus.PAUSED)
    )
    return _set_cases(cases=cases, status=CaseStatus.PAUSED, text=text)


def resume_cases(*, borrower: Borrower) -> int:
    """Resume the borrower's paused cases: back to in progress. The caller decides that
    nothing holds them any more (no other open complaint). Returns how many resumed."""
    cases = CollectionCase.objects.open().filter(borrower=borrower, status=CaseStatus.PAUSED)
    return _set_cases(cases=cases, status=CaseStatus.IN_PROGRESS, text="")
