"""Repayments: posting (with penalty accrual, allocation and prepayment) and reversal."""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import allocation, penalty, schedules, selectors, signals
from ..audit import record_event
from ..fields import in_fen
from ..models import (
    BusinessDay,
    Channel,
    CreditLine,
    Instalment,
    Loan,
    LoanTransaction,
    Repayment,
    ScheduleRevision,
)
from ..money import is_whole_fen
from ..selectors import payoff_amount
from . import refunds

ZERO = Decimal("0.00")
# What a posting may change on an instalment and on the loan; the reversal restores these.
INSTALMENT_FIELDS = [
    "principal_due",
    "interest_due",
    "fee_due",
    "principal_paid",
    "interest_paid",
    "fee_paid",
    "penalty_paid",
    "status",
    "paid_on",
]
# A reversal also re-charges penalty for the days after the payment (see _recharge_penalty).
REVERSAL_FIELDS = [*INSTALMENT_FIELDS, "penalty_due", "penalty_accrued_through"]
LOAN_FIELDS = [
    "outstanding_principal",
    "status",
    "settled_on",
    "last_prepayment_date",
    "prepayment_interest_base",
]


def post_repayment(
    *,
    loan: Loan,
    amount: Decimal,
    channel: str,
    external_id: str,
    value_date: date,
    actor=None,
) -> tuple[Repayment, bool]:
    """Post a payment exactly once per external transaction id. Returns the repayment and
    whether this call posted it: posting the same id again returns the first result, with
    False, and changes nothing.

    A payment typed in by staff (`actor` given) may not exceed what settles the loan on its
    value date by more than `settings.MANUAL_POSTING_MARGIN`: beyond that it is a typing
    mistake. Money the gateway reports received (no actor) is always booked, any excess as
    "to refund"."""
    external_id = (external_id or "").strip()
    existing = _existing(external_id=external_id, loan=loan)
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            repayment, posted = _post(
                loan=loan,
                amount=amount,
                channel=channel,
                external_id=external_id,
                value_date=value_date,
                actor=actor,
            )
            if posted and actor is not None:  # typed in by staff, not reported by the bank
                record_event(
                    actor=actor,
                    action="payment.post",
                    target=repayment,
                    summary=f"{loan} ¥{amount} {channel} {external_id}",
                    after={"amount": amount, "channel": channel, "value_date": value_date},
                )
            return repayment, posted
    except IntegrityError:
        # Another worker posted the same id between our check and our insert.
        existing = _existing(external_id=external_id, loan=loan)
        if existing:
            return existing, False
        raise


def _existing(*, external_id: str, loan: Loan) -> Repayment | None:
    existing = Repayment.objects.filter(external_id=external_id).first()
    if existing and existing.loan_id != loan.pk:
        raise ValidationError(
            {"external_id": _("This transaction id was already used for another loan.")}
        )
    return existing


def _post(*, loan, amount, channel, external_id, value_date, actor) -> tuple[Repayment, bool]:
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    existing = _existing(external_id=external_id, loan=loan)
    if existing:  # posted while we waited for the lock
        return existing, False
    _check_posting(
        loan=loan, amount=amount, channel=channel, external_id=external_id, value_date=value_date
    )
    if loan.status == Loan.Status.WRITTEN_OFF:
        recovery = _post_recovery(
            loan=loan,
            amount=amount,
            channel=channel,
            external_id=external_id,
            value_date=value_date,
            actor=actor,
        )
        return recovery, True
    if actor is not None:
        _check_typed_amount(loan=loan, amount=amount, value_date=value_date)
    instalments = list(loan.instalments.select_for_update().order_by("number"))
    accrue_penalty(loan=loan, instalments=instalments, through=value_date)
    before = _snapshot(loan, instalments)

    repayment = Repayment(
        loan=loan,
        external_id=external_id,
        channel=channel,
        amount=amount,
        value_date=value_date,
        posted_by=actor,
        before=before,
    )
    # A payment that settles the loan pays interest only to its date; one that does not pays
    # an open bill in full first, and only the rest is a prepayment (DESIGN §4, 出账).
    settles = amount >= selectors.settlement_amount(
        loan=loan, instalments=instalments, on=value_date
    )
    bill = (
        None if settles else selectors.open_bill(loan=loan, instalments=instalments, on=value_date)
    )
    due = [
        i
        for i in instalments
        if i.status in Instalment.OPEN_STATUSES and (i.due_date <= value_date or i is bill)
    ]
    allocations, surplus = allocation.allocate(
        amount,
        [
            allocation.Balance(
                key=i.pk,
                penalty=i.penalty_outstanding,
                interest=i.interest_outstanding,
                fee=i.fee_outstanding,
                principal=i.principal_outstanding,
            )
            for i in due
        ],
    )
    by_id = {i.pk: i for i in instalments}
    lines: dict[int, dict[str, Decimal]] = {}
    for a in allocations:
        inst = by_id[a.key]
        inst.penalty_paid += a.penalty
        inst.interest_paid += a.interest
        inst.fee_paid += a.fee
        inst.principal_paid += a.principal
        lines[inst.pk] = {
            "penalty": a.penalty,
            "interest": a.interest,
            "fee": a.fee,
            "principal": a.principal,
        }
    if surplus:
        surplus, repayment.prepaid_principal = _prepay(
            loan=loan, instalments=instalments, amount=surplus, on=value_date, lines=lines
        )
    repayment.unapplied = surplus

    principal_paid = ZERO
    for inst in instalments:
        _refresh_status(inst, on=value_date)
    for parts in lines.values():
        principal_paid += parts["principal"]
        repayment.penalty += parts["penalty"]
        repayment.interest += parts["interest"]
        repayment.fee += parts["fee"]
    repayment.principal = principal_paid
    loan.outstanding_principal -= principal_paid
    if not any(i.status in Instalment.OPEN_STATUSES for i in instalments):
        loan.status, loan.settled_on = Loan.Status.SETTLED, value_date
        repayment.settled_loan = True
    repayment.save()
    Instalment.objects.bulk_update(instalments, INSTALMENT_FIELDS)
    loan.save(update_fields=LOAN_FIELDS)
    LoanTransaction.objects.bulk_create(
        LoanTransaction(
            loan=loan,
            instalment_id=key,
            kind=LoanTransaction.Kind.REPAYMENT,
            value_date=value_date,
            repayment=repayment,
            **parts,
        )
        for key, parts in lines.items()
    )
    CreditLine.objects.filter(pk=loan.credit_line_id).update(
        outstanding_principal=in_fen(F("outstanding_principal") - principal_paid)
    )
    transaction.on_commit(
        lambda: signals.repayment_posted.send(sender=Repayment, repayment=repayment)
    )
    if repayment.settled_loan:
        transaction.on_commit(lambda: signals.loan_settled.send(sender=Loan, loan=loan))
    return repayment, True


def _check_posting(*, loan, amount, channel, external_id, value_date) -> None:
    errors = {}
    if not external_id:
        errors["external_id"] = _("A payment needs the transaction id of its channel.")
    if channel not in Channel.values:
        errors["channel"] = _("Unknown payment channel.")
    if amount is None or amount <= 0 or not is_whole_fen(amount):
        errors["amount"] = _("The amount must be positive and in whole fen.")
    if value_date < loan.drawdown_date:
        errors["value_date"] = _("A payment cannot be dated before the loan was drawn.")
    elif value_date > timezone.localdate():
        errors["value_date"] = _("A payment cannot be dated in the future.")
    # A written-off loan still takes money: it is booked as a recovery (_post_recovery).
    if loan.status not in (Loan.Status.ACTIVE, Loan.Status.WRITTEN_OFF):
        errors["__all__"] = _("This loan is %(status)s; it takes no more payments.") % {
            "status": loan.get_status_display()
        }
    last = loan.repayments.filter(status=Repayment.Status.POSTED).order_by("-value_date").first()
    if last and value_date < last.value_date:
        errors["value_date"] = _(
            "A payment dated %(date)s was already posted; post this one with that date or later."
        ) % {"date": last.value_date}
    if errors:
        raise ValidationError(errors)


def _check_typed_amount(*, loan, amount, value_date) -> None:
    owed = payoff_amount(loan=loan, on=value_date)
    margin = settings.MANUAL_POSTING_MARGIN
    if amount > owed + margin:
        raise ValidationError(
            {
                "amount": _(
                    "¥%(amount)s is more than this loan owes: ¥%(owed)s settles it on "
                    "%(date)s, and a payment entered by staff may exceed that by at most "
                    "¥%(margin)s."
                )
                % {
                    "amount": f"{amount:.2f}",
                    "owed": f"{owed:.2f}",
                    "date": value_date,
                    "margin": f"{margin:.2f}",
                }
            }
        )


def unrecovered_amount(*, loan: Loan) -> Decimal:
    """What a written-off loan still owes: everything written off less the recoveries that
    stand (a reversed recovery's mirror row takes it back out)."""
    totals = LoanTransaction.objects.filter(loan=loan).aggregate(
        written_off=Sum(
            F("principal") + F("interest") + F("penalty") + F("fee"),
            filter=Q(kind=LoanTransaction.Kind.WRITE_OFF),
        ),
        recovered=Sum(
            "amount",
            filter=Q(kind__in=[LoanTransaction.Kind.RECOVERY, LoanTransaction.Kind.REVERSAL]),
        ),
    )
    written_off = Decimal(totals["written_off"] or 0)
    return max(written_off - Decimal(totals["recovered"] or 0), ZERO).quantize(Decimal("0.01"))


def _post_recovery(*, loan, amount, channel, external_id, value_date, actor) -> Repayment:
    """Money received on a written-off loan (DESIGN §4): a recovery, booked whole on one
    RECOVERY ledger row. Nothing is allocated and nothing accrues: the instalments were closed
    by the write-off. Money beyond what is still unrecovered is to refund."""
    unrecovered = unrecovered_amount(loan=loan)
    margin = settings.MANUAL_POSTING_MARGIN
    if actor is not None and amount > unrecovered + margin:
        raise ValidationError(
            {
                "amount": _(
                    "¥%(amount)s is more than this written-off loan still owes (¥%(owed)s), "
                    "and a payment entered by staff may exceed that by at most ¥%(margin)s."
                )
                % {
                    "amount": f"{amount:.2f}",
                    "owed": f"{unrecovered:.2f}",
                    "margin": f"{margin:.2f}",
                }
            }
        )
    recovered = min(amount, unrecovered)
    repayment = Repayment.objects.create(
        loan=loan,
        external_id=external_id,
        channel=channel,
        amount=amount,
        value_date=value_date,
        posted_by=actor,
        recovery=True,
        unapplied=amount - recovered,
    )
    if recovered:
        LoanTransaction.objects.create(
            loan=loan,
            kind=LoanTransaction.Kind.RECOVERY,
            value_date=value_date,
            repayment=repayment,
            amount=recovered,
        )
    transaction.on_commit(
        lambda: signals.repayment_posted.send(sender=Repayment, repayment=repayment)
    )
    return repayment


def accrue_penalty(*, loan: Loan, instalments: list[Instalment], through: date) -> Decimal:
    """Charge penalty interest on one loan's overdue instalments for every day not yet charged
    up to `through` (the end-of-day run does the same for all loans in one statement)."""
    total = ZERO
    rows, charged = [], []
    for inst in instalments:
        if inst.status not in Instalment.OPEN_STATUSES or not inst.principal_outstanding:
            continue
        days = penalty.accrual_days(
            due_date=inst.due_date,
            accrued_through=inst.penalty_accrued_through,
            through=through,
            grace_days=loan.grace_days,
            stopped_on=loan.accrual_stopped_on,
        )
        if not days:
            continue
        charge = penalty.penalty_for_days(
            overdue_principal=inst.principal_outstanding,
            daily_rate=loan.daily_rate,
            multiplier=loan.penalty_multiplier,
            days=days,
        )
        inst.penalty_due += charge
        inst.penalty_accrued_through = through
        charged.append(inst)
        total += charge
        if charge:  # as end of day: a day charged at 0.00 moves the date but writes no row
            rows.append(
                LoanTransaction(
                    loan=loan,
                    instalment=inst,
                    kind=LoanTransaction.Kind.PENALTY_ACCRUAL,
                    value_date=through,
                    penalty=charge,
                )
            )
    if charged:
        Instalment.objects.bulk_update(charged, ["penalty_due", "penalty_accrued_through"])
        LoanTransaction.objects.bulk_create(rows)
    return total


def _prepay(
    *, loan, instalments, amount: Decimal, on: date, lines: dict
) -> tuple[Decimal, Decimal]:
    """提前还款 (prepayment) of what is left after everything due: accrued interest first, then
    principal; the remaining instalments are re-computed, or the loan is settled. Returns what
    could not be applied (more than the whole loan) and the principal prepaid."""
    period = selectors.current_period(loan=loan, instalments=instalments, on=on)
    future, as_of = period.future, period.as_of  # after a bill paid ahead: its due date
    if not future:
        return amount, ZERO
    amount = _pay_moved_penalty(future=future, amount=amount, lines=lines)
    if not amount:
        return ZERO, ZERO
    current = future[0]
    outstanding = sum((i.principal_outstanding for i in future), ZERO)
    interest_owed = period.interest
    part = lines.setdefault(
        current.pk, {"penalty": ZERO, "interest": ZERO, "fee": ZERO, "principal": ZERO}
    )
    if amount <= interest_owed:
        # Only part of the interest accrued so far: an early payment of this instalment's
        # interest; the schedule stays as it is.
        paid = min(amount, current.interest_outstanding)
        current.interest_paid += paid
        part["interest"] += paid
        return amount - paid, ZERO

    current.interest_paid += interest_owed
    part["interest"] += interest_owed
    to_principal = min(amount - interest_owed, outstanding)
    if to_principal == outstanding:  # 结清 (settlement): interest only up to today
        for inst in future:
            part = lines.setdefault(
                inst.pk, {"penalty": ZERO, "interest": ZERO, "fee": ZERO, "principal": ZERO}
            )
            part["principal"] += inst.principal_outstanding
            inst.principal_paid = inst.principal_due
            inst.interest_due = inst.interest_paid
            inst.fee_due = inst.fee_paid
            inst.status = Instalment.Status.SETTLED
            inst.paid_on = on
        return amount - interest_owed - to_principal, to_principal

    current.principal_paid += to_principal
    part["principal"] += to_principal
    recomputed = schedules.reamortise(
        principal=outstanding - to_principal,
        remaining_due_dates=[i.due_date for i in future],
        daily_rate=loan.daily_rate,
        method=schedules.RepaymentMethod(loan.method),
        value_date=as_of,
        first_number=current.number,
    )
    for inst, new in zip(future, recomputed, strict=False):
        inst.principal_due = inst.principal_paid + new.principal
        inst.interest_due = inst.interest_paid + new.interest
    for inst in future[len(recomputed) :]:
        # Too little principal left to reach these: they owe nothing and are paid at once.
        inst.principal_due, inst.interest_due = inst.principal_paid, inst.interest_paid
        inst.fee_due = inst.fee_paid
    loan.last_prepayment_date = as_of
    loan.prepayment_interest_base = current.interest_paid
    return ZERO, to_principal


def _pay_moved_penalty(*, future: list[Instalment], amount: Decimal, lines: dict) -> Decimal:
    """Penalty charged on an instalment that a schedule revision (a hardship plan) moved to a
    later date is still owed: it is paid before anything is prepaid. Returns what is left."""
    for inst in future:
        paid = min(amount, inst.penalty_outstanding)
        if paid:
            inst.penalty_paid += paid
            part = lines.setdefault(
                inst.pk, {"penalty": ZERO, "interest": ZERO, "fee": ZERO, "principal": ZERO}
            )
            part["penalty"] += paid
            amount -= paid
    return amount


def _refresh_status(inst: Instalment, *, on: date) -> None:
    if inst.status == Instalment.Status.SETTLED:
        return
    if not inst.total_outstanding:  # nothing owed (re-computed to zero included): paid
        inst.status = Instalment.Status.PAID
        inst.paid_on = inst.paid_on or on
    elif inst.due_date > on:
        inst.status = Instalment.Status.PENDING
    elif inst.due_date == on:
        inst.status = Instalment.Status.DUE
    else:
        inst.status = Instalment.Status.OVERDUE
        inst.paid_on = None


@transaction.atomic
def reverse_repayment(*, repayment: Repayment, reason: str, actor=None) -> Repayment:
    """Undo a posting exactly (a bounced payment): instalments and loan go back to how they
    were, the line is drawn again, and the ledger gets the mirror image of every row.

    Postings are undone newest first: reversing an older one while a newer one stands would
    leave the newer one allocated against balances that never existed.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the payment is reversed.")})
    loan = Loan.objects.select_for_update().get(pk=repayment.loan_id)
    repayment = Repayment.objects.select_for_update().get(pk=repayment.pk)
    if repayment.status != Repayment.Status.POSTED:
        raise ValidationError(_("This payment was already reversed."))
    newer = loan.repayments.filter(status=Repayment.Status.POSTED, id__gt=repayment.pk)
    if newer.exists():
        raise ValidationError(
            _("Later payments stand on this one: reverse %(ids)s first.")
            % {"ids": ", ".join(newer.values_list("external_id", flat=True))}
        )
    refunds.check_reversal(loan=loan, repayment=repayment)
    if ScheduleRevision.objects.filter(loan=loan, created_at__gt=repayment.posted_at).exists():
        raise ValidationError(
            _(
                "This loan's schedule was revised (a hardship plan) after this payment was "
                "posted: the revision took over the balances it left, so it can no longer be "
                "reversed."
            )
        )
    record_event(
        actor=actor,
        action="payment.reverse",
        target=repayment,
        summary=f"{loan} ¥{repayment.amount}: {reason}"[:300],
        before={"status": repayment.status},
        after={"status": Repayment.Status.REVERSED, "reason": reason},
    )
    if loan.status == Loan.Status.WRITTEN_OFF:
        return _reverse_recovery(loan=loan, repayment=repayment, reason=reason, actor=actor)
    instalments = {i.pk: i for i in loan.instalments.select_for_update()}
    today = timezone.localdate()
    for key, fields in repayment.before["instalments"].items():
        inst = instalments[int(key)]
        for field, value in fields.items():
            setattr(inst, field, _load(field, value))
        _refresh_status(inst, on=today)
    for field, value in repayment.before["loan"].items():
        setattr(loan, field, _load(field, value))
    _recharge_penalty(loan=loan, instalments=instalments.values(), repayment=repayment)
    Instalment.objects.bulk_update(instalments.values(), REVERSAL_FIELDS)
    loan.save(update_fields=LOAN_FIELDS)
    LoanTransaction.objects.bulk_create(
        LoanTransaction(
            loan=loan,
            instalment_id=t.instalment_id,
            kind=LoanTransaction.Kind.REVERSAL,
            value_date=today,
            repayment=repayment,
            principal=-t.principal,
            interest=-t.interest,
            penalty=-t.penalty,
            fee=-t.fee,
        )
        for t in repayment.transactions.filter(kind=LoanTransaction.Kind.REPAYMENT)
    )
    CreditLine.objects.filter(pk=loan.credit_line_id).update(
        outstanding_principal=in_fen(F("outstanding_principal") + repayment.principal)
    )
    return _mark_reversed(repayment=repayment, reason=reason, actor=actor)


def _reverse_recovery(*, loan: Loan, repayment: Repayment, reason: str, actor) -> Repayment:
    """A recovery bounced: its RECOVERY row gets its mirror. A payment posted before the
    write-off stays: the write-off closed the books on the balances it left."""
    if not repayment.recovery:
        raise ValidationError(
            _(
                "This loan was written off after this payment was posted: the write-off took "
                "over the balances it left, so it can no longer be reversed."
            )
        )
    LoanTransaction.objects.bulk_create(
        LoanTransaction(
            loan=loan,
            kind=LoanTransaction.Kind.REVERSAL,
            value_date=timezone.localdate(),
            repayment=repayment,
            amount=-t.amount,
        )
        for t in repayment.transactions.filter(kind=LoanTransaction.Kind.RECOVERY)
    )
    return _mark_reversed(repayment=repayment, reason=reason, actor=actor)


def _mark_reversed(*, repayment: Repayment, reason: str, actor) -> Repayment:
    repayment.status = Repayment.Status.REVERSED
    repayment.reversed_at, repayment.reversed_by = timezone.now(), actor
    repayment.reversal_reason = reason[:200]
    repayment.save()
    transaction.on_commit(
        lambda: signals.repayment_reversed.send(sender=Repayment, repayment=repayment)
    )
    return repayment


def _recharge_penalty(*, loan: Loan, instalments, repayment: Repayment) -> None:
    """As if the payment had never been received: every day after its value date that has
    been charged since (by end of day, on the principal the payment had reduced) is charged
    again on the restored principal; the difference is one penalty row per instalment.

    Later postings are reversed first, so the restored principal stood unchanged on each of
    those days."""
    after = repayment.value_date
    through = max(
        [after, *(i.penalty_accrued_through for i in instalments if i.penalty_accrued_through)],
        default=after,
    )
    last_day = BusinessDay.objects.order_by("-business_date").values_list(
        "business_date", flat=True
    )
    if (last := last_day.first()) and last > through:
        through = last
    charged = dict(
        LoanTransaction.objects.filter(
            loan=loan, kind=LoanTransaction.Kind.PENALTY_ACCRUAL, value_date__gt=after
        )
        .values("instalment_id")
        .annotate(total=Sum("penalty"))
        .values_list("instalment_id", "total")
    )
    rows = []
    for inst in instalments:
        days = 0
        if inst.status in Instalment.OPEN_STATUSES and loan.status == Loan.Status.ACTIVE:
            days = penalty.days_charged_between(
                due_date=inst.due_date,
                after=after,
                through=through,
                grace_days=loan.grace_days,
                stopped_on=loan.accrual_stopped_on,
            )
        owed = penalty.penalty_for_days(
            overdue_principal=inst.principal_outstanding,
            daily_rate=loan.daily_rate,
            multiplier=loan.penalty_multiplier,
            days=days,
        )
        difference = owed - charged.get(inst.pk, ZERO)
        if days:
            inst.penalty_accrued_through = through
        if difference:
            inst.penalty_due += difference
            rows.append(
                LoanTransaction(
                    loan=loan,
                    instalment=inst,
                    kind=LoanTransaction.Kind.PENALTY_ACCRUAL,
                    value_date=through,
                    repayment=repayment,
                    penalty=difference,
                )
            )
    LoanTransaction.objects.bulk_create(rows)


def _snapshot(loan: Loan, instalments: list[Instalment]) -> dict:
    return {
        "loan": {f: _dump(getattr(loan, f)) for f in LOAN_FIELDS},
        "instalments": {
            str(i.pk): {f: _dump(getattr(i, f)) for f in INSTALMENT_FIELDS} for i in instalments
        },
    }


def _dump(value):
    if isinstance(value, Decimal | date):
        return str(value)
    return value


def _load(field: str, value):
    if value is None or field == "status":
        return value
    if field in ("paid_on", "settled_on", "last_prepayment_date"):
        return date.fromisoformat(value)
    return Decimal(value)
