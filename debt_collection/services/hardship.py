"""协商还款 (hardship plans): one or more of an extension (展期), a new plan (分期), a penalty
waiver and stopping interest and penalty (停息挂账).

A borrower (through the portal) or a member of staff proposes; a supervisor who is not the
proposer approves or rejects (maker-checker). Every plan is a proposal of `loans.approvals`
(kind hardship_plan, registered in `CollectionsConfig.ready`): deciding goes through it, and it
runs `carry_out_approved_plan` / `carry_out_rejected_plan`. Approval revises the loan's
schedule through the lending services (`loans.services.restructuring`, the old schedule kept on
a ScheduleRevision) in the same transaction, and the borrower is told by SMS once it has
committed. While an approved plan is kept the guard pauses collection contacts. After each end
of day, `check_plans` ends the plans whose loan was settled (completed) and those with a plan
instalment more than PLAN_LAPSE_DPD days overdue (lapsed: normal collection resumes). What a
lapsed plan granted stays granted: the waivers are booked, and accrual stays stopped.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from loans import approvals
from loans.audit import record_event
from loans.models import Instalment, Loan
from loans.services import restructuring
from notifications.services import queue_from_template, sms_language

from ..models import CaseEvent, CaseStatus, CollectionCase, HardshipPlan
from ..models.help import PLAN_LAPSE_DPD
from ..selectors.timeline import plan_terms
from .cases import set_status

PROPOSE = "collections.add_hardshipplan"
DECIDE = "collections.decide_hardshipplan"
LIVE = [HardshipPlan.Status.PROPOSED, HardshipPlan.Status.APPROVED]
MAX_REASON_LENGTH = 2000
TEMPLATE = "hardship_decided"


def propose_plan(
    *,
    loan: Loan,
    extension_days: int | None = None,
    new_term: int | None = None,
    penalty_waiver: Decimal | None = None,
    stop_interest: bool = False,
    reason: str = "",
    staff=None,
    by_borrower: bool = False,
) -> HardshipPlan:
    """Propose a plan for `loan`: by the borrower (`by_borrower`, no staff: the portal) or by
    staff allowed to. Refused with the field at fault when it offers nothing or more than the
    limits allow, waives more penalty than is owed, or the loan is not active or already has
    a plan proposed or being kept. The loan's open case then waits for the decision
    (hardship requested), unless a complaint holds it."""
    if by_borrower:
        if staff is not None:
            raise ValueError("a plan the borrower proposes has no staff proposer")
    elif staff is None:
        raise PermissionDenied(
            _("A hardship plan is proposed by the borrower or by a named member of staff.")
        )
    elif not staff.has_perm(PROPOSE):
        raise PermissionDenied(_("You may not propose hardship plans."))
    reason = _clean(reason)
    restructuring.check_terms(
        extension_days=extension_days,
        new_term=new_term,
        penalty_waiver=penalty_waiver,
        stop_accrual=stop_interest,
    )
    try:
        with transaction.atomic():
            loan = Loan.objects.select_for_update().get(pk=loan.pk)
            _check_proposal(loan=loan, penalty_waiver=penalty_waiver, stop_interest=stop_interest)
            case = CollectionCase.objects.open().filter(loan=loan).first()
            plan = HardshipPlan.objects.create(
                loan=loan,
                case=case,
                extension_days=extension_days,
                new_term=new_term,
                penalty_waiver=penalty_waiver,
                stop_interest=stop_interest,
                reason=reason,
                proposed_by_borrower=by_borrower,
                proposed_by=staff,
            )
            if case is not None and case.status != CaseStatus.PAUSED:
                set_status(
                    case=case,
                    status=CaseStatus.HARDSHIP_REQUESTED,
                    text=_("Hardship plan #%(id)s proposed") % {"id": plan.pk},
                )
            record_event(
                actor=staff, action="hardship.propose", target=plan, after={"loan": loan.pk}
            )
            _propose_approval(plan)
    except IntegrityError:  # another proposal for the loan got in first
        raise ValidationError(
            _("This loan already has a hardship plan proposed or being kept.")
        ) from None
    return plan


def decide_plan(*, plan: HardshipPlan, staff, approve: bool, note: str = "") -> HardshipPlan:
    """A supervisor (collections.decide_hardshipplan) who did not propose the plan approves or
    rejects it; PermissionDenied for anyone else. Approval revises the loan's schedule (waiver,
    stop, new plan, extension, under one ScheduleRevision whose APR the plan records) and puts
    the case on the plan; rejection needs a note and sends the case back to work. Either way
    the borrower gets the `hardship_decided` SMS after commit."""
    if staff is None or not staff.has_perm(DECIDE):
        raise PermissionDenied(_("Only a supervisor decides hardship plans."))
    if plan.proposed_by_id is not None and plan.proposed_by_id == staff.pk:
        raise PermissionDenied(
            _("A hardship plan is decided by someone other than the person who proposed it.")
        )
    note = (note or "").strip()
    if not approve and not note:
        raise ValidationError({"note": _("Say why the plan is rejected.")})
    with transaction.atomic():
        approval = approvals.open_for(plan)
        if approval is None:
            _refuse_decided(HardshipPlan.objects.get(pk=plan.pk))
            approval = _propose_approval(plan)  # proposed before the approvals existed
    if approve:
        approvals.approve(approval=approval, actor=staff, note=note)
    else:
        approvals.reject(approval=approval, actor=staff, note=note)
    plan.refresh_from_db()
    return plan


def carry_out_approved_plan(*, approval, target: HardshipPlan, actor, note: str = "") -> None:
    """Executor of an approved plan (called by `loans.approvals.approve` only, in its
    transaction)."""
    _decide(plan=target, staff=actor, approve=True, note=note)


def carry_out_rejected_plan(*, approval, target: HardshipPlan, actor, note: str) -> None:
    """Executor of a rejected plan (called by `loans.approvals.reject` only)."""
    _decide(plan=target, staff=actor, approve=False, note=note)


def _propose_approval(plan: HardshipPlan):
    return approvals.propose(
        kind="hardship_plan",
        actor=plan.proposed_by,
        amount=plan.penalty_waiver,
        reason=plan.reason,
        summary=_("Hardship plan #%(id)s for %(loan)s: %(terms)s")
        % {"id": plan.pk, "loan": plan.loan, "terms": plan_terms(plan)},
        target=plan,
    )


def _refuse_decided(plan: HardshipPlan) -> None:
    if plan.status != HardshipPlan.Status.PROPOSED:
        raise ValidationError(
            _("This plan is already %(status)s.") % {"status": plan.get_status_display()}
        )


def _decide(*, plan: HardshipPlan, staff, approve: bool, note: str) -> HardshipPlan:
    note = (note or "").strip()
    with transaction.atomic():
        # The loan first, then the plan: the order postings and proposals take.
        loan_id = HardshipPlan.objects.values_list("loan_id", flat=True).get(pk=plan.pk)
        Loan.objects.select_for_update().get(pk=loan_id)
        plan = HardshipPlan.objects.select_for_update().select_related("loan").get(pk=plan.pk)
        if plan.proposed_by_id is not None and plan.proposed_by_id == staff.pk:
            raise PermissionDenied(
                _("A hardship plan is decided by someone other than the person who proposed it.")
            )
        _refuse_decided(plan)
        if not approve and not note:
            raise ValidationError({"note": _("Say why the plan is rejected.")})
        case = _open_case(plan)
        if approve:
            revision = restructuring.revise_schedule(
                loan=plan.loan,
                by=staff,
                reason=f"{_('Hardship plan')} #{plan.pk}: {plan.reason}",
                penalty_waiver=plan.penalty_waiver,
                stop_accrual=plan.stop_interest,
                new_term=plan.new_term,
                extension_days=plan.extension_days,
            )
            plan.status, plan.revision = HardshipPlan.Status.APPROVED, revision
            plan.apr_percent = revision.apr_percent
        else:
            plan.status = HardshipPlan.Status.REJECTED
        plan.decided_by, plan.decided_at = staff, timezone.now()
        plan.decision_note = note[:300]
        plan.save()
        # On the plan while it is kept (a complaint's pause stays as it is); back to work when
        # the request is refused.
        if approve and case is not None and case.status != CaseStatus.PAUSED:
            status = CaseStatus.HARDSHIP_PLAN
        elif not approve and case is not None and case.status == CaseStatus.HARDSHIP_REQUESTED:
            status = CaseStatus.IN_PROGRESS
        else:
            status = None
        if status:
            set_status(
                case=case,
                status=status,
                text=_("Hardship plan #%(id)s: %(status)s")
                % {"id": plan.pk, "status": plan.get_status_display()},
            )
        record_event(
            actor=staff,
            action="hardship.decide",
            target=plan,
            after={"status": plan.status, "apr_percent": plan.apr_percent},
        )
        transaction.on_commit(lambda: _send_decision(plan))
    return plan


def check_plans(*, business_date: date) -> dict:
    """After end of day: approved plans whose loan was settled are completed; those whose loan
    has an instalment of the plan (due after its approval) more than PLAN_LAPSE_DPD days
    overdue on `business_date`, or was written off, lapse, and their cases go back to work.
    A few statements whatever the number of plans. Counts: {plans_completed, plans_lapsed}."""
    approved = HardshipPlan.objects.filter(status=HardshipPlan.Status.APPROVED)
    late = Instalment.objects.overdue().filter(
        loan=OuterRef("loan_id"),
        due_date__gt=OuterRef("revision__as_of"),
        due_date__lt=business_date - timedelta(days=PLAN_LAPSE_DPD),
    )
    with transaction.atomic():
        completed = approved.filter(loan__status=Loan.Status.SETTLED).update(
            status=HardshipPlan.Status.COMPLETED, ended_on=business_date
        )
        lapsing = list(
            approved.filter(Q(Exists(late)) | Q(loan__status=Loan.Status.WRITTEN_OFF)).values_list(
                "pk", "loan_id"
            )
        )
        HardshipPlan.objects.filter(
            pk__in=[pk for pk, _ in lapsing], status=HardshipPlan.Status.APPROVED
        ).update(status=HardshipPlan.Status.LAPSED, ended_on=business_date)
        cases = list(
            CollectionCase.objects.open()
            .filter(loan_id__in=[loan for _, loan in lapsing], status=CaseStatus.HARDSHIP_PLAN)
            .select_for_update()
            .values_list("pk", flat=True)
        )
        CollectionCase.objects.filter(pk__in=cases).update(status=CaseStatus.IN_PROGRESS)
        text = _("Hardship plan lapsed: an instalment more than %(days)d days overdue") % {
            "days": PLAN_LAPSE_DPD
        }
        CaseEvent.objects.bulk_create(
            CaseEvent(
                case_id=pk, kind=CaseEvent.Kind.STATUS, text=text, status=CaseStatus.IN_PROGRESS
            )
            for pk in cases
        )
    return {"plans_completed": completed, "plans_lapsed": len(lapsing)}


def plan_summary(plan: HardshipPlan) -> str:
    """What an approved plan changed, as the borrower reads it in the SMS."""
    parts = []
    if plan.penalty_waiver is not None:
        parts.append(
            _("penalty interest of ¥%(amount)s waived") % {"amount": f"{plan.penalty_waiver:.2f}"}
        )
    if plan.stop_interest:
        parts.append(_("no further interest or penalty"))
    if plan.new_term:
        parts.append(
            _("what you owe spread over %(months)d monthly instalments at an APR of %(apr)s%%")
            % {"months": plan.new_term, "apr": plan.apr_percent}
        )
    if plan.extension_days:
        parts.append(
            _("remaining due dates moved %(days)d days later") % {"days": plan.extension_days}
        )
    first = plan.loan.instalments.open().order_by("due_date").first()
    if first is not None:
        parts.append(
            _("next payment ¥%(amount)s due on %(date)s")
            % {"amount": f"{first.total_outstanding:.2f}", "date": first.due_date.isoformat()}
        )
    separator = "；" if translation.get_language().startswith("zh") else "; "
    return separator.join(str(p) for p in parts)


def _check_proposal(*, loan: Loan, penalty_waiver: Decimal | None, stop_interest: bool) -> None:
    if loan.status != Loan.Status.ACTIVE:
        raise ValidationError(
            _("This loan is %(status)s: a hardship plan is only for an active loan.")
            % {"status": loan.get_status_display()}
        )
    if HardshipPlan.objects.filter(loan=loan, status__in=LIVE).exists():
        raise ValidationError(_("This loan already has a hardship plan proposed or being kept."))
    errors = {}
    if penalty_waiver is not None:
        owed = restructuring.penalty_owed(loan=loan)
        if penalty_waiver > owed:
            errors["penalty_waiver"] = _(
                "¥%(amount)s is more than the penalty owed on this loan (¥%(owed)s)."
            ) % {"amount": f"{penalty_waiver:.2f}", "owed": f"{owed:.2f}"}
    if stop_interest and loan.accrual_stopped_on:
        errors["stop_interest"] = _("Interest and penalty on this loan stopped on %(date)s.") % {
            "date": loan.accrual_stopped_on.isoformat()
        }
    if errors:
        raise ValidationError(errors)


def _open_case(plan: HardshipPlan) -> CollectionCase | None:
    if plan.case_id and plan.case.is_open:
        return plan.case
    return CollectionCase.objects.open().filter(loan_id=plan.loan_id).first()


def _clean(reason: str) -> str:
    reason = (reason or "").strip()
    if "\x00" in reason:
        raise ValidationError({"reason": _("The text contains a character that cannot be stored.")})
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError(
            {"reason": _("Keep it under %(n)d characters.") % {"n": MAX_REASON_LENGTH}}
        )
    return reason


def _send_decision(plan: HardshipPlan) -> None:
    approved = plan.status == HardshipPlan.Status.APPROVED
    with translation.override(sms_language(plan.loan.borrower)):  # the borrower's language
        summary = plan_summary(plan) if approved else ""
    queue_from_template(
        borrower=plan.loan.borrower,
        template_code=TEMPLATE,
        context={
            "approved": approved,
            "contract_number": plan.loan.contract.number,
            "plan_summary": summary,
        },
        dedupe_key=f"hardship:{plan.pk}:{plan.status}",
    )
