"""上门 (home visits): requested by a collector, approved by a supervisor who is not the
requester, announced to the borrower by SMS at least VISIT_NOTICE_DAYS ahead, held inside the
contact window and closed with a written report (DESIGN §6)."""

from datetime import date, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loans.audit import record_event
from loans.kyc import mask_name
from notifications.services import queue_from_template

from .. import guard
from ..models import CaseStatus, Channel, CollectionCase, Collector, HomeVisit
from ..models.promises import VISIT_NOTICE_DAYS
from . import cases as case_services

NOTICE_TEMPLATE = "visit_notice"
APPROVE_PERMISSION = "collections.approve_homevisit"
SUPERVISE_PERMISSION = "collections.supervise_case"
# A visit still to happen (from today on): a case has at most one at a time.
PENDING = (HomeVisit.Status.REQUESTED, HomeVisit.Status.APPROVED)


def visitor_card(visitor: Collector) -> dict[str, str]:
    """What the borrower is told about the visitor, in the notice and on /verify/: the staff
    number and the name masked (李*), never the full name."""
    user = visitor.user
    first, last = user.first_name.strip(), user.last_name.strip()
    if any("\u4e00" <= ch <= "\u9fff" for ch in first + last):
        name = last + first  # a Chinese name: family name first (李 + 四 → 李四 → 李*)
    else:
        name = f"{first} {last}".strip()
    return {
        "staff_number": visitor.staff_number,
        "visitor_name": mask_name(name or user.get_username()),
    }


def request_visit(
    *,
    case: CollectionCase,
    staff,
    visit_date: date,
    window_start: time,
    window_end: time,
    visitor: Collector,
    purpose: str = "",
    today: date | None = None,
) -> HomeVisit:
    """A collector asks to visit the borrower of their own open case; a supervisor decides."""
    today = today or timezone.localdate()
    own_case = case.assigned_to_id is not None and case.assigned_to.user_id == staff.pk
    if not (own_case or staff.has_perm(SUPERVISE_PERMISSION)):
        raise PermissionDenied(
            _("Only the case's own collector or a supervisor may request a visit.")
        )
    purpose = (purpose or "").strip()
    _check_visit(case=case, visit_date=visit_date, today=today)
    errors = {}
    if window_end <= window_start:
        errors["window_end"] = _("The visit window must end after it starts.")
    else:
        opens, closes = guard.contact_window()
        if window_start < opens or window_end > closes:
            errors["window_start"] = _(
                "A visit happens within the contact window, %(start)s–%(end)s."
            ) % {"start": f"{opens:%H:%M}", "end": f"{closes:%H:%M}"}
    if not visitor.is_active:
        errors["visitor"] = _("The visitor is not an active member of the collections staff.")
    longest = HomeVisit._meta.get_field("purpose").max_length
    if len(purpose) > longest or "\x00" in purpose:
        errors["purpose"] = _("Say the purpose in at most %(n)d characters.") % {"n": longest}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        pending = HomeVisit.objects.filter(case=case, status__in=PENDING, visit_date__gte=today)
        if pending.exists():
            raise ValidationError(_("This case already has a visit waiting to happen."))
        return HomeVisit.objects.create(
            case=case,
            visit_date=visit_date,
            window_start=window_start,
            window_end=window_end,
            visitor=visitor,
            purpose=purpose,
            requested_by=staff,
        )


def decide_visit(*, visit: HomeVisit, staff, approve: bool, note: str = "") -> HomeVisit:
    """Maker-checker: a supervisor other than the requester approves or rejects. Approval
    sends the visit notice now, through the contact guard; if the guard blocks it, the
    approval is refused with the guard's reason (the blocked attempt stays in the log)."""
    if not staff.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied(
            _("Only a collection supervisor may approve or reject a home visit.")
        )
    if staff.pk == visit.requested_by_id:
        raise PermissionDenied(
            _(
                "Maker-checker: the person who requested a visit cannot decide it; another"
                " supervisor must."
            )
        )
    note = (note or "").strip()
    longest = HomeVisit._meta.get_field("decision_note").max_length
    if len(note) > longest or "\x00" in note:
        raise ValidationError(
            {"note": _("Keep the note to at most %(n)d characters.") % {"n": longest}}
        )
    blocked = None
    with transaction.atomic():
        visit = (
            HomeVisit.objects.select_for_update()
            .select_related("case__borrower", "visitor__user")
            .get(pk=visit.pk)
        )
        if visit.status != HomeVisit.Status.REQUESTED:
            raise ValidationError(_("This visit has been decided already."))
        visit.decided_by, visit.decided_at, visit.decision_note = staff, timezone.now(), note
        if not approve:
            visit.status = HomeVisit.Status.REJECTED
            visit.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
            _record_decision(visit, staff=staff)
            return visit
        case = visit.case
        # The notice waits for daytime like any collection contact: judge it when it goes out.
        sends_at = guard.next_contact_time(timezone.now())
        _check_visit(case=case, visit_date=visit.visit_date, today=timezone.localdate(sends_at))
        contact, decision = guard.attempt(
            borrower=case.borrower,
            channel=Channel.VISIT,
            staff=staff,
            at=sends_at,
            case=case,
            template_code=NOTICE_TEMPLATE,
            send=lambda: _queue_notice(visit),
        )
        if decision.allowed:
            visit.notice = contact.sms
            visit.status = HomeVisit.Status.APPROVED
            visit.save(
                update_fields=["status", "decided_by", "decided_at", "decision_note", "notice"]
            )
            _record_decision(visit, staff=staff)
            # The visit row names who decided; the status follows from it.
            case_services.set_status(
                case=case,
                status=CaseStatus.VISIT_SCHEDULED,
                staff=None,
                text=_("Home visit on %(visit)s approved; notice sent.") % {"visit": visit},
            )
        else:
            blocked = decision
    if blocked is not None:
        # Raised after the commit: the guard's blocked attempt is part of the contact log.
        raise ValidationError(blocked.message, code=blocked.rule)
    return visit


def report_visit(*, visit: HomeVisit, staff, report: str) -> HomeVisit:
    """The visitor (or a supervisor) closes the visit with what happened."""
    is_visitor = visit.visitor.user_id == staff.pk
    if not (is_visitor or staff.has_perm(SUPERVISE_PERMISSION)):
        raise PermissionDenied(_("Only the visitor or a supervisor may report on a visit."))
    report = (report or "").strip()
    if not report or "\x00" in report:
        raise ValidationError({"report": _("Write what happened at the visit.")})
    with transaction.atomic():
        visit = HomeVisit.objects.select_for_update().select_related("case").get(pk=visit.pk)
        if visit.status != HomeVisit.Status.APPROVED:
            raise ValidationError(_("Only an approved visit can be reported on."))
        if visit.visit_date > timezone.localdate():
            raise ValidationError(_("A visit is reported on or after its date."))
        visit.status, visit.report, visit.reported_at = (
            HomeVisit.Status.DONE,
            report,
            timezone.now(),
        )
        visit.save(update_fields=["status", "report", "reported_at"])
        if visit.case.status == CaseStatus.VISIT_SCHEDULED:
            case_services.set_status(
                case=visit.case,
                status=CaseStatus.IN_PROGRESS,
                staff=None,  # the visitor need not be the case's collector
                text=_("Home visit on %(visit)s reported.") % {"visit": visit},
            )
    return visit


def _record_decision(visit: HomeVisit, *, staff) -> None:
    record_event(
        actor=staff,
        action="visit.decide",
        target=visit,
        summary=f"{visit.get_status_display()}: {visit.decision_note}"[:300],
        before={"status": HomeVisit.Status.REQUESTED},
        after={"status": visit.status},
    )


def _queue_notice(visit: HomeVisit):
    """The notice is transactional (not capped) and, like reminders, waits for daytime."""
    return queue_from_template(
        borrower=visit.case.borrower,
        template_code=NOTICE_TEMPLATE,
        context={
            "visit_date": visit.visit_date.isoformat(),
            "window_start": f"{visit.window_start:%H:%M}",
            "window_end": f"{visit.window_end:%H:%M}",
            **visitor_card(visit.visitor),
        },
        dedupe_key=f"visit-notice:{visit.pk}",
    )


def _check_visit(*, case: CollectionCase, visit_date: date, today: date) -> None:
    """What must hold both when a visit is requested and when it is approved."""
    if not case.is_open:
        raise ValidationError(_("The case is closed: there is nothing to visit about."))
    if not (case.borrower.address or "").strip():
        raise ValidationError(
            _("The borrower has no residential address on record, so no visit can be arranged.")
        )
    earliest = today + timedelta(days=VISIT_NOTICE_DAYS)
    if visit_date < earliest:
        raise ValidationError(
            {
                "visit_date": _(
                    "The borrower must have the visit notice at least %(days)d days ahead:"
                    " the earliest visit date is %(date)s."
                )
                % {"days": VISIT_NOTICE_DAYS, "date": earliest.isoformat()}
            }
        )
