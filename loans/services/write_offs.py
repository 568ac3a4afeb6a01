"""核销 (write-off) of a loan more than `delinquency.WRITE_OFF_DPD` days past due (DESIGN §4,
"Reversal, refunds, write-off").

One person proposes, another approves (never the proposer): every proposal is an approval of
`loans.approvals` (kind write_off), and approving it there runs `carry_out_approved_write_off`.
Approval closes the loan on the books the way a settlement would, but with write-off ledger
rows instead of money: penalty is first accrued through the day, then everything still owed
(every open instalment's principal, interest and penalty; for instalments not yet due only the
interest accrued so far, as a settlement counts it) moves to WRITE_OFF rows. The instalments
are closed as written off and nothing is deleted. Accrual stops (end of day and posting touch
only active loans), the credit line closes, and money received later is a recovery
(`repayments._post_recovery`).
"""

import logging
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import approvals, delinquency, selectors, signals
from ..audit import record_event
from ..fields import in_fen
from ..models import CreditLine, CreditLineEvent, Instalment, Loan, LoanTransaction, WriteOff
from .repayments import accrue_penalty

logger = logging.getLogger("loans.write_offs")

ZERO = Decimal("0.00")


def days_past_due(*, loan: Loan, instalments: list[Instalment], on: date) -> int:
    """DPD on `on`, from the instalments themselves: `on` − the due date of the oldest
    instalment still owing something after its due date (end of day keeps the same figure on
    the loan, but a payment since may have cured it)."""
    unpaid = [
        i.due_date
        for i in instalments
        if i.status in Instalment.OPEN_STATUSES and i.due_date < on and i.total_outstanding > 0
    ]
    return (on - min(unpaid)).days if unpaid else 0


def write_off_candidates():
    """Loans that may be proposed for write-off: active and past the threshold at the last end
    of day."""
    return Loan.objects.filter(
        status=Loan.Status.ACTIVE,
        write_off_candidate=True,
        days_past_due__gt=delinquency.WRITE_OFF_DPD,
    )


def _check_candidate(*, loan: Loan, instalments: list[Instalment], on: date) -> int:
    if loan.status != Loan.Status.ACTIVE:
        raise ValidationError(
            _("This loan is %(status)s: only an active loan can be written off.")
            % {"status": loan.get_status_display()}
        )
    dpd = days_past_due(loan=loan, instalments=instalments, on=on)
    if not delinquency.is_write_off_candidate(dpd):
        raise ValidationError(
            _(
                "This loan is %(dpd)d days past due: only a loan more than %(threshold)d days "
                "past due can be written off."
            )
            % {"dpd": dpd, "threshold": delinquency.WRITE_OFF_DPD}
        )
    return dpd


def propose_write_off(*, loan: Loan, actor, reason: str) -> WriteOff:
    """Propose writing a loan off. Refused unless it is active and more than
    `delinquency.WRITE_OFF_DPD` days past due, or while another proposal for it is open."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the loan should be written off.")})
    if actor is None:
        raise ValidationError(_("A write-off is proposed by a named member of staff."))
    try:
        with transaction.atomic():
            loan = Loan.objects.select_for_update().get(pk=loan.pk)
            instalments = list(loan.instalments.order_by("number"))
            dpd = _check_candidate(loan=loan, instalments=instalments, on=timezone.localdate())
            write_off = WriteOff.objects.create(
                loan=loan, reason=reason[:300], days_past_due=dpd, proposed_by=actor
            )
            record_event(
                actor=actor,
                action="writeoff.propose",
                target=write_off,
                after={"loan": loan.pk, "days_past_due": dpd},
            )
            approvals.propose(
                kind="write_off",
                actor=actor,
                reason=write_off.reason,
                amount=loan.outstanding_principal,
                summary=_("Write off %(loan)s (%(dpd)d days past due)")
                % {"loan": loan, "dpd": dpd},
                target=write_off,
            )
    except IntegrityError:
        raise ValidationError(
            _("A write-off of this loan has already been proposed or approved.")
        ) from None
    logger.info("Write-off of loan %s proposed by %s at DPD %s", loan.pk, actor, dpd)
    return write_off


def reject_write_off(*, write_off: WriteOff, actor, note: str) -> WriteOff:
    """Refuse (or withdraw) a proposal, through its approval; the loan stays as it is and may
    be proposed again."""
    if not (note or "").strip():
        raise ValidationError({"note": _("Say why the write-off is rejected.")})
    approvals.reject(approval=_proposal(write_off, approving=False), actor=actor, note=note)
    write_off.refresh_from_db()
    return write_off


def approve_write_off(*, write_off: WriteOff, actor, note: str = "") -> WriteOff:
    """A second person approves, through the proposal's approval (`loans.approvals`, the one
    way to approve): the loan is written off today (see the module docstring)."""
    if actor is not None and actor.pk == write_off.proposed_by_id:
        raise ValidationError(_("A write-off must be approved by someone other than its proposer."))
    approvals.approve(approval=_proposal(write_off, approving=True), actor=actor, note=note)
    write_off.refresh_from_db()
    return write_off


def _proposal(write_off: WriteOff, *, approving: bool):
    approval = approvals.open_for(write_off)
    if approval is None:
        if approving:
            raise ValidationError(_("Only a proposed write-off can be approved."))
        raise ValidationError(_("Only a proposed write-off can be rejected."))
    return approval


def carry_out_rejected_write_off(*, approval, target: WriteOff, actor, note: str) -> None:
    """Executor of a rejected write-off proposal (called by `loans.approvals.reject` only)."""
    note = (note or "").strip()
    write_off = _locked(target)
    if write_off.status != WriteOff.Status.PROPOSED:
        raise ValidationError(_("Only a proposed write-off can be rejected."))
    write_off.status = WriteOff.Status.REJECTED
    write_off.decided_by, write_off.decided_at = actor, timezone.now()
    write_off.decision_note = note[:300]
    write_off.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    record_event(
        actor=actor, action="writeoff.reject", target=write_off, after={"status": "rejected"}
    )
    logger.info("Write-off %s rejected by %s: %s", write_off.pk, actor, note)


def carry_out_approved_write_off(*, approval, target: WriteOff, actor, note: str = "") -> None:
    """Executor of an approved write-off proposal (called by `loans.approvals.approve` only, in
    its transaction): the loan is written off today."""
    write_off = _locked(target)
    loan = write_off.loan
    if write_off.status != WriteOff.Status.PROPOSED:
        raise ValidationError(_("Only a proposed write-off can be approved."))
    if actor is None or actor.pk == write_off.proposed_by_id:
        raise ValidationError(_("A write-off must be approved by someone other than its proposer."))
    today = timezone.localdate()
    instalments = list(loan.instalments.select_for_update().order_by("number"))
    # Still a candidate now: a payment since the proposal may have brought it back.
    _check_candidate(loan=loan, instalments=instalments, on=today)
    accrue_penalty(loan=loan, instalments=instalments, through=today)

    rows = _write_off_rows(loan=loan, instalments=instalments, on=today)
    Instalment.objects.bulk_update(
        instalments, ["interest_due", "fee_due", "penalty_due", "status"]
    )
    LoanTransaction.objects.bulk_create(rows)
    principal = sum((r.principal for r in rows), ZERO)
    write_off.principal = principal
    write_off.interest = sum((r.interest for r in rows), ZERO)
    write_off.penalty = sum((r.penalty for r in rows), ZERO)
    write_off.fee = sum((r.fee for r in rows), ZERO)
    write_off.status = WriteOff.Status.APPROVED
    write_off.decided_by, write_off.decided_at = actor, timezone.now()
    write_off.decision_note = (note or "").strip()[:300]
    write_off.written_off_on = today
    write_off.save()

    loan.status, loan.written_off_on = Loan.Status.WRITTEN_OFF, today
    loan.outstanding_principal -= principal
    # DPD and bucket stay as they were on the day: the loan's state when it was written off.
    loan.write_off_candidate = False
    loan.save(
        update_fields=["status", "written_off_on", "outstanding_principal", "write_off_candidate"]
    )
    _close_credit_line(loan=loan, principal=principal, actor=actor)
    logger.info(
        "Loan %s written off by %s (proposed by %s): ¥%s",
        loan.pk,
        actor,
        write_off.proposed_by_id,
        write_off.total,
    )
    record_event(
        actor=actor,
        action="writeoff.approve",
        target=write_off,
        after={"status": "approved", "total": write_off.total},
    )
    transaction.on_commit(
        lambda: signals.loan_written_off.send(sender=Loan, loan=loan, write_off=write_off)
    )


def _write_off_rows(*, loan: Loan, instalments: list[Instalment], on: date) -> list:
    """Close every open instalment and return the WRITE_OFF rows for what it still owed.

    Instalments due by `on` owe their scheduled amounts; later ones owe their principal and,
    for the running period, the interest accrued so far (`selectors.current_period`, the rule
    a settlement uses), never interest of periods not yet begun."""
    period = selectors.current_period(loan=loan, instalments=instalments, on=on)
    future = {i.pk for i in period.future}
    running = period.future[0].pk if period.future else None
    rows = []
    for inst in instalments:
        if inst.status not in Instalment.OPEN_STATUSES:
            continue
        if inst.pk in future:
            inst.interest_due = inst.interest_paid + (period.interest if inst.pk == running else 0)
            inst.fee_due = inst.fee_paid
        parts = {
            "principal": inst.principal_outstanding,
            "interest": inst.interest_outstanding,
            "penalty": inst.penalty_outstanding,
            "fee": inst.fee_outstanding,
        }
        inst.status = Instalment.Status.WRITTEN_OFF
        if any(parts.values()):
            rows.append(
                LoanTransaction(
                    loan=loan,
                    instalment=inst,
                    kind=LoanTransaction.Kind.WRITE_OFF,
                    value_date=on,
                    **parts,
                )
            )
    return rows


def _close_credit_line(*, loan: Loan, principal: Decimal, actor) -> None:
    """The written-off principal leaves the line, and the line closes: no more draws. Other
    loans on it are repaid as before."""
    line = CreditLine.objects.select_for_update().get(pk=loan.credit_line_id)
    CreditLine.objects.filter(pk=line.pk).update(
        outstanding_principal=in_fen(F("outstanding_principal") - principal)
    )
    if line.status == CreditLine.Status.CLOSED:
        return
    reason = _("Loan %(loan)s written off") % {"loan": loan}
    line.status, line.status_reason = CreditLine.Status.CLOSED, reason[:200]
    line.save(update_fields=["status", "status_reason", "updated_at"])
    event = CreditLineEvent.objects.create(
        credit_line=line, kind=CreditLineEvent.Kind.CLOSED, actor=actor, reason=reason[:200]
    )
    transaction.on_commit(
        lambda: signals.credit_line_changed.send(sender=CreditLine, credit_line=line, event=event)
    )


def _locked(write_off: WriteOff) -> WriteOff:
    # The loan first, then the proposal: the order postings and proposals take.
    loan_id = WriteOff.objects.values_list("loan_id", flat=True).get(pk=write_off.pk)
    Loan.objects.select_for_update().get(pk=loan_id)
    return WriteOff.objects.select_for_update().select_related("loan").get(pk=write_off.pk)
