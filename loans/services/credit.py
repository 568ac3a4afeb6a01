"""授信 (credit assessment) and the life of a credit line."""

from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import scorecard, scoring, selectors, signals
from ..audit import record_event
from ..models import Borrower, CreditAssessment, CreditLine, CreditLineEvent, Decision
from ..scorecard import (
    CREDIT_LINE_STEP,
    MAX_CREDIT_LINE,
    MAX_DAILY_RATE,
    MIN_CREDIT_LINE,
    MIN_DAILY_RATE,
)

CREDIT_LINE_VALIDITY = timedelta(days=365)


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}"


# The bands as messages quote them: yuan with thousands separators, daily rates in per cent.
LINE_BAND_TEXT = {
    "min": f"{MIN_CREDIT_LINE:,}",
    "max": f"{MAX_CREDIT_LINE:,}",
    "step": f"{CREDIT_LINE_STEP:,}",
}
RATE_BAND_PERCENT_TEXT = {"min": _percent(MIN_DAILY_RATE), "max": _percent(MAX_DAILY_RATE)}


@transaction.atomic
def assess_credit(
    *,
    borrower: Borrower,
    as_of: date | None = None,
    actor=None,
    version: str = scorecard.CURRENT_SCORECARD_VERSION,
) -> CreditAssessment:
    """Run the eligibility rules and scorecard, store the result and apply it to the line."""
    as_of = as_of or timezone.localdate()
    facts = selectors.applicant_facts(borrower=borrower, as_of=as_of)
    result = scoring.assess(facts, version=version)
    assessment = CreditAssessment.objects.create(
        borrower=borrower,
        as_of=as_of,
        requested_by=actor,
        scorecard_version=result.scorecard_version,
        inputs=facts.to_dict(),
        rule_results=[
            {"code": r.code, "passed": r.passed, "detail": r.detail} for r in result.rules
        ],
        points=dict(result.points),
        reasons=list(result.reasons),
        score=result.score,
        grade=result.grade or "",
        decision=Decision.APPROVED if result.eligible else Decision.DECLINED,
        credit_limit=result.credit_limit,
        daily_rate=result.daily_rate,
    )
    _apply_to_credit_line(assessment=assessment, actor=actor)
    _notify_assessed(assessment)
    return assessment


def rerun_assessment(*, assessment: CreditAssessment) -> scoring.Assessment:
    """Re-run the stored inputs through the stored scorecard version (explains a decision)."""
    facts = scoring.ApplicantFacts.from_dict(assessment.inputs)
    return scoring.assess(facts, version=assessment.scorecard_version)


@transaction.atomic
def override_assessment(
    *,
    assessment: CreditAssessment,
    decision: str,
    reason: str,
    actor,
    credit_limit: Decimal | None = None,
    daily_rate: Decimal | None = None,
) -> CreditAssessment:
    """A staff decision that replaces the automated one. Needs a reason; is recorded."""
    assessment = CreditAssessment.objects.select_for_update().get(pk=assessment.pk)
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    if not reason:
        errors["reason"] = _("An override needs a reason.")
    if decision not in Decision.values:
        errors["decision"] = _("Choose approve or decline.")
    if selectors.latest_assessment(borrower=assessment.borrower).pk != assessment.pk:
        errors["__all__"] = _("Only the borrower's latest assessment can be overridden.")
    if decision == Decision.APPROVED:
        credit_limit = credit_limit if credit_limit is not None else assessment.credit_limit
        daily_rate = daily_rate if daily_rate is not None else assessment.daily_rate
        errors.update(_limit_and_rate_errors(credit_limit, daily_rate))
    else:
        credit_limit = daily_rate = None
    if errors:
        raise ValidationError(errors)
    assessment.override_decision = decision
    assessment.override_limit = credit_limit
    assessment.override_daily_rate = daily_rate
    assessment.override_reason = reason
    assessment.overridden_by = actor
    assessment.overridden_at = timezone.now()
    assessment.save()
    record_event(
        actor=actor,
        action="assessment.override",
        target=assessment,
        summary=reason[:300],
        before={
            "decision": assessment.decision,
            "credit_limit": assessment.credit_limit,
            "daily_rate": assessment.daily_rate,
        },
        after={"decision": decision, "credit_limit": credit_limit, "daily_rate": daily_rate},
    )
    _apply_to_credit_line(assessment=assessment, actor=actor, reason=reason)
    _notify_assessed(assessment)
    return assessment


@transaction.atomic
def request_manual_review(*, assessment: CreditAssessment, note: str = "") -> CreditAssessment:
    """A borrower asks a person to look again at an automated decision."""
    assessment = CreditAssessment.objects.select_for_update().get(pk=assessment.pk)
    if assessment.overridden_at:
        raise ValidationError(_("This decision was already reviewed by staff."))
    if assessment.review_requested_at:
        raise ValidationError(_("A manual review of this decision has already been requested."))
    assessment.review_requested_at = timezone.now()
    assessment.review_request_note = note.strip()
    assessment.save(update_fields=["review_requested_at", "review_request_note"])
    return assessment


@transaction.atomic
def freeze_credit_line(*, credit_line: CreditLine, reason: str, actor=None) -> CreditLine:
    return _change_status(
        credit_line=credit_line,
        allowed_from=CreditLine.Status.ACTIVE,
        to=CreditLine.Status.FROZEN,
        event=CreditLineEvent.Kind.FROZEN,
        reason=reason,
        actor=actor,
        refusal=_("Only an active credit line can be frozen."),
    )


@transaction.atomic
def unfreeze_credit_line(*, credit_line: CreditLine, reason: str, actor=None) -> CreditLine:
    return _change_status(
        credit_line=credit_line,
        allowed_from=CreditLine.Status.FROZEN,
        to=CreditLine.Status.ACTIVE,
        event=CreditLineEvent.Kind.UNFROZEN,
        reason=reason,
        actor=actor,
        refusal=_("Only a frozen credit line can be unfrozen."),
    )


def _change_status(*, credit_line, allowed_from, to, event, reason, actor, refusal) -> CreditLine:
    line = CreditLine.objects.select_for_update().get(pk=credit_line.pk)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Please give a reason.")})
    if line.status != allowed_from:
        raise ValidationError(refusal)
    line.status = to
    line.status_reason = reason[:200]
    line.save(update_fields=["status", "status_reason", "updated_at"])
    _record_event(line=line, kind=event, actor=actor, reason=reason)
    if actor is not None:
        record_event(
            actor=actor,
            action="credit_line.freeze",
            target=line,
            summary=reason[:300],
            before={"status": allowed_from},
            after={"status": to},
        )
    return line


def _limit_and_rate_errors(limit: Decimal | None, rate: Decimal | None) -> dict[str, str]:
    errors = {}
    if (
        limit is None
        or not (MIN_CREDIT_LINE <= limit <= MAX_CREDIT_LINE)
        or limit % CREDIT_LINE_STEP
    ):
        errors["credit_limit"] = (
            _("The credit limit must be a multiple of %(step)s between %(min)s and %(max)s yuan.")
            % LINE_BAND_TEXT
        )
    if rate is None or not (MIN_DAILY_RATE <= rate <= MAX_DAILY_RATE):
        errors["daily_rate"] = (
            _("The daily rate must be between %(min)s%% and %(max)s%%.") % RATE_BAND_PERCENT_TEXT
        )
    return errors


def _apply_to_credit_line(*, assessment: CreditAssessment, actor, reason: str = "") -> None:
    """Approved: open the line or move it to the new limit and rate. Declined: an active line
    is frozen, since the borrower no longer qualifies to draw on it."""
    line = CreditLine.objects.select_for_update().filter(borrower=assessment.borrower).first()
    if assessment.final_decision == Decision.APPROVED:
        expires_on = assessment.as_of + CREDIT_LINE_VALIDITY
        if line is None:
            line = CreditLine.objects.create(
                borrower=assessment.borrower,
                assessment=assessment,
                limit=assessment.final_limit,
                daily_rate=assessment.final_daily_rate,
                expires_on=expires_on,
            )
            _record_event(
                line=line,
                kind=CreditLineEvent.Kind.OPENED,
                actor=actor,
                reason=reason,
                new_limit=line.limit,
                new_daily_rate=line.daily_rate,
            )
            return
        old_limit, old_rate = line.limit, line.daily_rate
        line.assessment = assessment
        line.limit = assessment.final_limit
        line.daily_rate = assessment.final_daily_rate
        line.expires_on = expires_on
        if line.status == CreditLine.Status.CLOSED:
            line.status, line.status_reason = CreditLine.Status.ACTIVE, ""
        line.save()
        _record_event(
            line=line,
            kind=CreditLineEvent.Kind.REASSESSED,
            actor=actor,
            reason=reason,
            old_limit=old_limit,
            new_limit=line.limit,
            old_daily_rate=old_rate,
            new_daily_rate=line.daily_rate,
        )
    elif line is not None and line.status == CreditLine.Status.ACTIVE:
        line.status = CreditLine.Status.FROZEN
        line.status_reason = (
            reason
            or _("Re-assessment declined: %(codes)s")
            % {"codes": ", ".join(assessment.reasons) or "-"}
        )[:200]
        line.save(update_fields=["status", "status_reason", "updated_at"])
        _record_event(
            line=line, kind=CreditLineEvent.Kind.FROZEN, actor=actor, reason=line.status_reason
        )


def _record_event(*, line: CreditLine, kind: str, actor, reason: str = "", **amounts) -> None:
    event = CreditLineEvent.objects.create(
        credit_line=line, kind=kind, actor=actor, reason=reason[:200], **amounts
    )
    transaction.on_commit(
        lambda: signals.credit_line_changed.send(sender=CreditLine, credit_line=line, event=event)
    )


def _notify_assessed(assessment: CreditAssessment) -> None:
    transaction.on_commit(
        lambda: signals.credit_assessed.send(sender=CreditAssessment, assessment=assessment)
    )
