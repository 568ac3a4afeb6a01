"""承诺还款 (promises to pay): how much has been paid towards each, and whether it was kept.

What counts towards a promise is every payment that stands (posted, not reversed) on the
case's loan with a value date from the day the promise was made up to its date, less what was
paid beyond everything owed (to refund). `paid` is recomputed from that rule, never added to,
so a repayment, its reversal and the end-of-day check always agree.

- After a repayment: the loan's open promises that it falls within are recomputed, and kept at
  once when they reach their amount.
- After a reversal: the promises it had counted towards are recomputed; one that had been
  kept on its strength opens again (or, past its date, is partly kept or broken).
- At end of day for business date D: every open promise dated before D is kept, partly kept
  (something paid) or broken (nothing); a broken one sends its case to "broken promise" at the
  top of its collector's queue (next action D).
"""

from datetime import date

from django.db import transaction
from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from loans.models import Repayment
from loans.models.borrowers import MONEY

from .models import CaseStatus, CollectionCase, PromiseToPay
from .models.cases import ZERO

Status = PromiseToPay.Status
# A case in one of these is being handled by another process (a complaint, a hardship plan):
# a promise's outcome does not change its status.
KEEPS_STATUS = [
    CaseStatus.PAUSED,
    CaseStatus.HARDSHIP_REQUESTED,
    CaseStatus.HARDSHIP_PLAN,
    CaseStatus.CLOSED,
]


def paid_towards() -> Coalesce:
    """Query expression for a promise row: what the payments in its window add up to."""
    payments = (
        Repayment.objects.filter(
            loan__collection_cases=OuterRef("case_id"),
            status=Repayment.Status.POSTED,
            value_date__gte=OuterRef("made_on"),
            value_date__lte=OuterRef("promised_on"),
        )
        .order_by()
        .values("loan_id")
        .annotate(total=Sum(F("amount") - F("unapplied")))
        .values("total")
    )
    money = DecimalField(**MONEY)
    return Coalesce(Subquery(payments, output_field=money), Value(ZERO), output_field=money)


def _cases(promises: QuerySet) -> QuerySet:
    return CollectionCase.objects.filter(id__in=promises.values("case_id")).exclude(
        status__in=KEEPS_STATUS
    )


@transaction.atomic
def evaluate_promises(*, business_date: date) -> dict:
    """Settle every open promise dated before `business_date`. Counts: {kept, partly_kept,
    broken}."""
    due = PromiseToPay.objects.filter(status=Status.OPEN, promised_on__lt=business_date)
    due.update(paid=paid_towards())
    kept = due.filter(paid__gte=F("amount"))
    broken = due.filter(paid=0)
    partly = due.filter(paid__gt=0, paid__lt=F("amount"))
    _cases(broken).update(status=CaseStatus.BROKEN_PROMISE, next_action_on=business_date)
    _cases(kept | partly).filter(status=CaseStatus.PROMISE_TO_PAY).update(
        status=CaseStatus.IN_PROGRESS, next_action_on=business_date
    )
    counts = {
        "kept": kept.update(status=Status.KEPT, resolved_on=business_date),
        "partly_kept": partly.update(status=Status.PARTLY_KEPT, resolved_on=business_date),
        "broken": broken.update(status=Status.BROKEN, resolved_on=business_date),
    }
    return counts


def _within(repayment: Repayment) -> QuerySet:
    """The promises on the repayment's loan whose window its value date falls in."""
    return PromiseToPay.objects.filter(
        case__loan_id=repayment.loan_id,
        made_on__lte=repayment.value_date,
        promised_on__gte=repayment.value_date,
    )


@transaction.atomic
def record_repayment(*, repayment: Repayment) -> int:
    """Count a posted repayment towards the open promises it falls within; those it completes
    are kept at once. Returns how many were kept."""
    promises = _within(repayment).filter(status=Status.OPEN)
    promises.update(paid=paid_towards())
    kept = promises.filter(paid__gte=F("amount"))
    _cases(kept).filter(status=CaseStatus.PROMISE_TO_PAY).update(status=CaseStatus.IN_PROGRESS)
    return kept.update(status=Status.KEPT, resolved_on=repayment.value_date)


@transaction.atomic
def record_reversal(*, repayment: Repayment, today: date | None = None) -> int:
    """Take a reversed repayment back out of the promises it counted towards. A promise it
    had completed opens again if its date has not passed; past it, it is partly kept or
    broken as the payments that stand say. Returns how many promises changed status."""
    today = today or timezone.localdate()
    promises = _within(repayment).exclude(status=Status.OPEN)
    promises.update(paid=paid_towards())
    short = Q(paid__lt=F("amount"))
    reopened = promises.filter(short, status=Status.KEPT, promised_on__gte=today)
    lapsed = promises.filter(short, promised_on__lt=today)
    broken = lapsed.filter(paid=0).exclude(status=Status.BROKEN)
    partly = lapsed.filter(paid__gt=0, status=Status.KEPT)
    _cases(reopened).filter(status=CaseStatus.IN_PROGRESS).update(status=CaseStatus.PROMISE_TO_PAY)
    _cases(broken).update(status=CaseStatus.BROKEN_PROMISE, next_action_on=today)
    changed = reopened.update(status=Status.OPEN, resolved_on=None)
    changed += broken.update(status=Status.BROKEN, resolved_on=today)
    changed += partly.update(status=Status.PARTLY_KEPT, resolved_on=today)
    # Open promises it had counted towards just count less.
    _within(repayment).filter(status=Status.OPEN).update(paid=paid_towards())
    return changed
