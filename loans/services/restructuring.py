"""Revising a loan's schedule for a borrower in hardship (协商还款): the lending operations a
hardship plan is made of. Each is one transaction under a row lock on the loan that first
writes a ScheduleRevision holding the schedule as it stood, and keeps the ledger reconciled.

- waive_penalty: penalty charged and not paid is forgiven, oldest first (WAIVER rows).
- stop_accrual (停息挂账, stop interest and park the debt): no penalty for any day after the
  stop (`Loan.accrual_stopped_on`, obeyed by end of day and `penalty.accrual_days`); the
  interest of instalments not yet due is waived (WAIVER rows) and the loan's daily rate
  becomes zero, so no settlement, prepayment or later plan charges interest again. What was
  already due stays owed.
- restructure_loan (分期): the open instalments become M monthly instalments (M ≤
  MAX_PLAN_TERM) from the revision date: the outstanding principal re-computed over them as a
  prepayment re-computes it (`schedules.reamortise`; the loan's method, but interest first
  only up to 12 months) at the loan's rate or a lower one, within `pricing.APR_CAP_PERCENT`.
  Each open instalment becomes the plan instalment of its place, keeping what was paid and
  the penalty charged on it; the interest and fees owed up to the revision are due with the
  first. Instalments left over owe nothing; their penalty moves to the last (RESCHEDULE rows).
- extend_due_dates (展期): every remaining due date moves N days later (N ≤
  MAX_EXTENSION_DAYS), at no extra interest. Principal and penalty stay where they are; the
  interest owed up to the revision is due with the first instalment it moves past that date.

`revise_schedule` applies several under one revision, in that order (a new plan is priced
after a stop; an extension moves the new plan's dates). Each first accrues penalty through its
date, as a posting does; afterwards the loan's days past due and bucket are those of the
revised schedule, a settlement or prepayment still counts the interest owed up to the
revision (`_carry`), and a loan that owes nothing is settled.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import delinquency, schedules, selectors, signals
from ..models import BusinessDay, Instalment, Loan, LoanTransaction, RevisionKind, ScheduleRevision
from ..models.restructuring import MAX_EXTENSION_DAYS, MAX_PLAN_TERM
from ..money import is_whole_fen
from ..pricing import APR_CAP_PERCENT
from .repayments import accrue_penalty
from .write_offs import days_past_due

ZERO = Decimal("0.00")
Kind = LoanTransaction.Kind
# What a revision records of each instalment, and may change on it and on the loan.
SNAPSHOT_FIELDS = ["number", "due_date", "status", "paid_on", "penalty_accrued_through"] + [
    f"{c}_{s}" for c in ("principal", "interest", "fee", "penalty") for s in ("due", "paid")
]
UPDATE_FIELDS = [f for f in SNAPSHOT_FIELDS if f != "number"]
LOAN_FIELDS = (
    "daily_rate method accrual_stopped_on status settled_on last_prepayment_date "
    "prepayment_interest_base days_past_due bucket write_off_candidate"
).split()
TERM_FIELDS = [*LOAN_FIELDS, "outstanding_principal"]


def waive_penalty(
    *, loan: Loan, amount: Decimal, by, reason: str, as_of: date | None = None
) -> ScheduleRevision:
    return revise_schedule(loan=loan, by=by, reason=reason, as_of=as_of, penalty_waiver=amount)


def stop_accrual(*, loan: Loan, by, reason: str, as_of: date | None = None) -> ScheduleRevision:
    return revise_schedule(loan=loan, by=by, reason=reason, as_of=as_of, stop_accrual=True)


def restructure_loan(
    *,
    loan: Loan,
    term: int,
    by,
    reason: str,
    as_of: date | None = None,
    daily_rate: Decimal | None = None,
) -> ScheduleRevision:
    return revise_schedule(
        loan=loan, by=by, reason=reason, as_of=as_of, new_term=term, daily_rate=daily_rate
    )


def extend_due_dates(
    *, loan: Loan, days: int, by, reason: str, as_of: date | None = None
) -> ScheduleRevision:
    return revise_schedule(loan=loan, by=by, reason=reason, as_of=as_of, extension_days=days)


def revise_schedule(
    *,
    loan: Loan,
    by,
    reason: str,
    as_of: date | None = None,
    penalty_waiver: Decimal | None = None,
    stop_accrual: bool = False,
    new_term: int | None = None,
    daily_rate: Decimal | None = None,
    extension_days: int | None = None,
) -> ScheduleRevision:
    """Apply the given operations to `loan` as of `as_of` (default today) under one revision.
    Raises ValidationError, naming the field, when an operation cannot be applied."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the schedule is revised.")})
    check_terms(
        extension_days=extension_days,
        new_term=new_term,
        penalty_waiver=penalty_waiver,
        stop_accrual=stop_accrual,
    )
    as_of = as_of or timezone.localdate()
    with transaction.atomic():
        loan = Loan.objects.select_for_update().get(pk=loan.pk)
        _check_loan(loan=loan, as_of=as_of)
        instalments = list(loan.instalments.select_for_update().order_by("number"))
        revision = ScheduleRevision.objects.create(
            loan=loan,
            as_of=as_of,
            by=by,
            reason=reason[:300],
            old_instalments=_snapshot(instalments),
            old_terms=_terms(loan),
            apr_percent=loan.apr_percent,
        )
        accrue_penalty(loan=loan, instalments=instalments, through=as_of)
        rows: list[LoanTransaction] = []
        if penalty_waiver is not None:
            revision.kinds.append(RevisionKind.PENALTY_WAIVER.value)
            revision.penalty_waived = _waive(
                loan=loan, instalments=instalments, amount=penalty_waiver, on=as_of, rows=rows
            )
        if stop_accrual:
            revision.kinds.append(RevisionKind.STOP_ACCRUAL.value)
            revision.interest_waived = _stop(
                loan=loan, instalments=instalments, on=as_of, rows=rows
            )
            revision.apr_percent = ZERO
        if new_term is not None:
            revision.kinds.append(RevisionKind.RESTRUCTURE.value)
            revision.new_term = new_term
            revision.apr_percent = _restructure(
                loan=loan,
                instalments=instalments,
                term=new_term,
                daily_rate=loan.daily_rate if daily_rate is None else daily_rate,
                on=as_of,
                rows=rows,
            )
        if extension_days is not None:
            revision.kinds.append(RevisionKind.EXTENSION.value)
            revision.extension_days = extension_days
            _extend(loan=loan, instalments=instalments, days=extension_days, on=as_of)
        settled = _refresh(loan=loan, instalments=instalments, on=as_of)
        Instalment.objects.bulk_update([i for i in instalments if i.pk], UPDATE_FIELDS)
        Instalment.objects.bulk_create([i for i in instalments if not i.pk])
        LoanTransaction.objects.bulk_create(rows)
        loan.save(update_fields=LOAN_FIELDS)
        revision.new_instalments = _snapshot(instalments)
        revision.new_terms = _terms(loan)
        revision.save()
        if settled:
            transaction.on_commit(lambda: signals.loan_settled.send(sender=Loan, loan=loan))
    return revision


def check_terms(
    *,
    extension_days: int | None = None,
    new_term: int | None = None,
    penalty_waiver: Decimal | None = None,
    stop_accrual: bool = False,
) -> None:
    """The limits of each operation, before any loan is read (a proposal checks them too)."""
    errors = {}
    if extension_days is None and new_term is None and penalty_waiver is None and not stop_accrual:
        errors["__all__"] = _(
            "Choose at least one: an extension, a new plan, a penalty waiver, or stopping "
            "interest and penalty."
        )
    if extension_days is not None and not 1 <= extension_days <= MAX_EXTENSION_DAYS:
        errors["extension_days"] = _("An extension moves the due dates by 1 to %(max)d days.") % {
            "max": MAX_EXTENSION_DAYS
        }
    if new_term is not None and not 1 <= new_term <= MAX_PLAN_TERM:
        errors["new_term"] = _("A new plan has 1 to %(max)d monthly instalments.") % {
            "max": MAX_PLAN_TERM
        }
    if penalty_waiver is not None and (penalty_waiver <= 0 or not is_whole_fen(penalty_waiver)):
        errors["penalty_waiver"] = _("The penalty to waive must be positive and in whole fen.")
    if errors:
        raise ValidationError(errors)


def penalty_owed(*, loan: Loan) -> Decimal:
    """Penalty charged on the loan's open instalments and not yet paid (the most a waiver may
    forgive until more accrues)."""
    return sum((i.penalty_outstanding for i in loan.instalments.open()), ZERO)


def _check_loan(*, loan: Loan, as_of: date) -> None:
    if loan.status != Loan.Status.ACTIVE:
        raise ValidationError(
            _("This loan is %(status)s: only an active loan's schedule can be revised.")
            % {"status": loan.get_status_display()}
        )
    last_day = BusinessDay.objects.order_by("-business_date").values_list(
        "business_date", flat=True
    )
    earliest = max(filter(None, [loan.drawdown_date, last_day.first()]))
    if not earliest <= as_of <= timezone.localdate():
        raise ValidationError(
            _("A schedule is revised as of a date from %(earliest)s up to today.")
            % {"earliest": earliest.isoformat()}
        )


def _open(instalments: list[Instalment]) -> list[Instalment]:
    return [i for i in instalments if i.status in Instalment.OPEN_STATUSES]


def _waive(*, loan, instalments, amount: Decimal, on: date, rows: list) -> Decimal:
    owed = sum((i.penalty_outstanding for i in _open(instalments)), ZERO)
    if amount > owed:
        raise ValidationError(
            {
                "penalty_waiver": _(
                    "¥%(amount)s is more than the penalty owed on this loan (¥%(owed)s)."
                )
                % {"amount": f"{amount:.2f}", "owed": f"{owed:.2f}"}
            }
        )
    left = amount
    for inst in _open(instalments):
        part = min(left, inst.penalty_outstanding)
        if part:
            inst.penalty_due -= part
            rows.append(_row(loan, inst, on, penalty=part, kind=Kind.WAIVER))
            left -= part
    return amount


def _stop(*, loan, instalments, on: date, rows: list) -> Decimal:
    if loan.accrual_stopped_on:
        raise ValidationError(
            {
                "stop_accrual": _("Interest and penalty on this loan stopped on %(date)s.")
                % {"date": loan.accrual_stopped_on.isoformat()}
            }
        )
    waived = ZERO
    for inst in _open(instalments):
        if inst.due_date > on and inst.interest_outstanding:
            part = inst.interest_outstanding
            inst.interest_due -= part
            rows.append(_row(loan, inst, on, interest=part, kind=Kind.WAIVER))
            waived += part
    loan.accrual_stopped_on = on
    loan.daily_rate = Decimal("0")
    # Nothing accrues from here, and nothing carried by an earlier revision is owed any more.
    _carry(loan=loan, instalments=instalments, on=on, interest=ZERO)
    return waived


def _restructure(*, loan, instalments, term: int, daily_rate: Decimal, on: date, rows) -> Decimal:
    """Re-schedule the open instalments over `term` months (see the module docstring) and
    return the new plan's APR."""
    if daily_rate < 0 or daily_rate > loan.daily_rate:
        raise ValidationError(
            {"new_term": _("A new plan may not charge more than the loan's own daily rate.")}
        )
    open_ = _open(instalments)
    principal = sum((i.principal_outstanding for i in open_), ZERO)
    if not principal:
        raise ValidationError({"new_term": _("No principal is left to spread over a new plan.")})
    method = schedules.RepaymentMethod(loan.method)
    if method is schedules.RepaymentMethod.INTEREST_FIRST and (
        term > schedules.INTEREST_FIRST_MAX_TERM
    ):
        method = schedules.RepaymentMethod.EQUAL_INSTALMENT
    # The plan starts after any bill already paid ahead; what accrued up to then is carried.
    period = selectors.current_period(loan=loan, instalments=instalments, on=on)
    start = period.as_of
    try:
        plan = schedules.reamortise(
            principal=principal,
            remaining_due_dates=schedules.due_dates(start, term),
            daily_rate=daily_rate,
            method=method,
            value_date=start,
            first_number=open_[0].number,
        )
    except ValueError as exc:
        raise ValidationError({"new_term": str(exc)}) from None
    apr = schedules.apr_percent(principal_received=principal, payments=[p.payment for p in plan])
    if apr > APR_CAP_PERCENT:
        raise ValidationError(
            {
                "new_term": _("The new plan's APR would be %(apr)s%%, above the %(cap)s%% cap.")
                % {"apr": apr, "cap": APR_CAP_PERCENT}
            }
        )
    # Interest and fees already due, and the interest accrued in the running period, are
    # owed with the first plan instalment; the later scheduled interest is re-computed.
    due = [i for i in open_ if i.due_date <= start]
    interest = sum((i.interest_outstanding for i in due), ZERO) + period.interest
    fee = sum((i.fee_outstanding for i in due), ZERO)
    last_number = instalments[-1].number
    plan_rows = []
    for index, part in enumerate(plan):
        if index < len(open_):
            inst = open_[index]
        else:
            last_number += 1
            inst = Instalment(loan=loan, number=last_number, principal_due=ZERO, interest_due=ZERO)
            instalments.append(inst)
        inst.due_date = part.due_date
        inst.principal_due = inst.principal_paid + part.principal
        inst.interest_due = inst.interest_paid + part.interest
        inst.fee_due = inst.fee_paid
        plan_rows.append(inst)
    first, last = plan_rows[0], plan_rows[-1]
    first.interest_due += interest
    first.fee_due += fee
    # A plan shorter than the open instalments: those left over owe nothing (dated after the
    # plan, as a prepayment leaves them); penalty charged on them moves to the last one.
    left_over = open_[len(plan) :]
    later = schedules.due_dates(start, len(plan) + len(left_over))[len(plan) :]
    for inst, due_date in zip(left_over, later, strict=True):
        moved = inst.penalty_outstanding
        if moved:
            inst.penalty_due -= moved
            last.penalty_due += moved
            rows.append(_row(loan, inst, on, penalty=-moved, kind=Kind.RESCHEDULE))
            rows.append(_row(loan, last, on, penalty=moved, kind=Kind.RESCHEDULE))
        inst.principal_due, inst.interest_due = inst.principal_paid, inst.interest_paid
        inst.fee_due = inst.fee_paid
        inst.due_date = due_date
    loan.daily_rate, loan.method = daily_rate, method.value
    _carry(loan=loan, instalments=instalments, on=start, interest=interest)
    return apr


def _extend(*, loan, instalments, days: int, on: date) -> None:
    """Every due date still to come or not yet paid moves `days` later; those are the
    schedule's tail, so the order of the due dates stays as it was. The interest already due
    on the instalments that move past `on` is owed with the first of them."""
    period = selectors.current_period(loan=loan, instalments=instalments, on=on)
    shift = timedelta(days=days)
    moving = [i for i in _open(instalments) if i.due_date <= period.as_of < i.due_date + shift]
    for inst in instalments:
        if inst.status in Instalment.OPEN_STATUSES or inst.due_date > on:
            inst.due_date += shift
    if not moving:
        return  # the running period and its interest stay as they were
    first = moving[0]
    for inst in moving[1:]:
        first.interest_due += inst.interest_outstanding
        inst.interest_due = inst.interest_paid
    # The running period's interest accrued so far moves there too, out of the scheduled
    # interest of the instalment it belongs to.
    running = period.future[0] if period.future else None
    accrued = min(period.interest, running.interest_outstanding) if running else ZERO
    if accrued:
        running.interest_due -= accrued
        first.interest_due += accrued
    carried = first.interest_outstanding + period.interest - accrued
    _carry(loan=loan, instalments=instalments, on=period.as_of, interest=carried)


def _carry(*, loan, instalments, on: date, interest: Decimal) -> None:
    """Re-base the running period at `on`: interest accrues (at the loan's rate) from there,
    and `interest`, owed up to `on` and carried on the first instalment due after it, counts
    as accrued, so a settlement or prepayment before that instalment's date still pays it
    (`selectors.current_period` reads the loan's last_prepayment_date and
    prepayment_interest_base for exactly this)."""
    later = [i for i in _open(instalments) if i.due_date > on]
    loan.last_prepayment_date = on
    loan.prepayment_interest_base = (later[0].interest_paid if later else ZERO) + interest


def _refresh(*, loan: Loan, instalments, on: date) -> bool:
    """Statuses by the revised due dates, the loan's days past due and bucket; a loan that
    owes nothing is settled. Returns whether it was."""
    for inst in instalments:
        if inst.pk and inst.status not in Instalment.OPEN_STATUSES:
            continue
        if not inst.total_outstanding:
            inst.status, inst.paid_on = Instalment.Status.PAID, inst.paid_on or on
        elif inst.due_date > on:
            inst.status, inst.paid_on = Instalment.Status.PENDING, None
        elif inst.due_date == on:
            inst.status, inst.paid_on = Instalment.Status.DUE, None
        else:
            inst.status, inst.paid_on = Instalment.Status.OVERDUE, None
    dpd = days_past_due(loan=loan, instalments=instalments, on=on)
    loan.days_past_due, loan.bucket = dpd, delinquency.bucket_for(dpd)
    loan.write_off_candidate = delinquency.is_write_off_candidate(dpd)
    if any(i.status in Instalment.OPEN_STATUSES for i in instalments):
        return False
    loan.status, loan.settled_on = Loan.Status.SETTLED, on
    return True


def _row(loan, inst, on: date, *, kind: str, penalty=ZERO, interest=ZERO) -> LoanTransaction:
    return LoanTransaction(
        loan=loan, instalment=inst, kind=kind, value_date=on, penalty=penalty, interest=interest
    )


def _snapshot(instalments) -> list[dict]:
    return [{f: _json(getattr(i, f)) for f in SNAPSHOT_FIELDS} for i in instalments]


def _terms(loan: Loan) -> dict:
    return {f: _json(getattr(loan, f)) for f in TERM_FIELDS}


def _json(value):
    if isinstance(value, Decimal | date):
        return str(value)
    return value
