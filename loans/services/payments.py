"""自动扣款 (auto-debit): what to collect in each slot, and the charge itself.

A charge is an attempt row plus a request to the gateway sent after commit; its result arrives
later, only through the signed webhook (`webhooks.handle_gateway_notification`), which posts
the repayment once per gateway reference.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from ..gateway import get_gateway
from ..models import DebitAttempt, Instalment, Loan
from ..models.lending import outstanding_sum
from ..money import MAX_AMOUNT, is_whole_fen, to_fen
from .cards import default_card


@dataclass(frozen=True)
class AutoDebit:
    loan: Loan
    amount: Decimal


def auto_debits_due(*, slot: str, business_date: date) -> list[AutoDebit]:
    """What to collect in `slot` of `business_date`, by loan, oldest loan first.

    The two due-date slots collect from the loans with an instalment due that day, the next
    morning slot from those whose instalment was due the day before; each is charged
    everything still owed on its instalments due by then. Loans that owe nothing are left out.
    """
    due_date = (
        business_date - timedelta(days=1)
        if slot == DebitAttempt.Slot.NEXT_MORNING
        else business_date
    )
    rows = (
        Instalment.objects.open()
        .filter(
            loan__status=Loan.Status.ACTIVE,
            due_date__lte=due_date,
            loan__instalments__due_date=due_date,
        )
        .values("loan_id")
        .annotate(amount=Sum(outstanding_sum()))
        .order_by("loan_id")
    )
    # Filtered on the amount as read back, not in SQL: SQLite sums decimals as floats, and a
    # loan that owes nothing can sum to a hair above zero there.
    amounts = {row["loan_id"]: to_fen(Decimal(row["amount"])) for row in rows if row["amount"] > 0}
    loans = Loan.objects.in_bulk(list(amounts))
    return [AutoDebit(loan=loans[loan_id], amount=amount) for loan_id, amount in amounts.items()]


@transaction.atomic
def request_auto_debit(
    *, loan: Loan, business_date: date, slot: str, amount: Decimal
) -> DebitAttempt | None:
    """Charge the borrower's default card `amount` for this loan in this slot.

    At most one attempt per loan, business date and slot: if one exists it is returned and
    nothing is charged again. Returns None when there is nothing to charge: the borrower has no
    default card, or the loan is no longer active. The gateway is called after commit; the
    result comes back through the webhook.
    """
    if slot not in DebitAttempt.Slot.values:
        raise ValidationError({"slot": _("Unknown auto-debit slot.")})
    if not (isinstance(amount, Decimal) and is_whole_fen(amount) and 0 < amount <= MAX_AMOUNT):
        raise ValidationError({"amount": _("An auto-debit amount is a positive amount in fen.")})
    existing = DebitAttempt.objects.filter(
        loan=loan, business_date=business_date, slot=slot
    ).first()
    if existing is not None:
        return existing
    if loan.status != Loan.Status.ACTIVE:
        return None
    card = default_card(borrower=loan.borrower)
    if card is None:
        return None
    attempt = DebitAttempt(
        loan=loan,
        bank_card=card,
        amount=amount,
        slot=slot,
        business_date=business_date,
        gateway_ref=DebitAttempt.make_gateway_ref(
            loan_id=loan.pk, business_date=business_date, slot=slot
        ),
    )
    try:
        with transaction.atomic():
            attempt.save()
    except IntegrityError:
        # Another run created the attempt for this slot first: it is the one that charges.
        return DebitAttempt.objects.get(loan=loan, business_date=business_date, slot=slot)
    transaction.on_commit(lambda: get_gateway().charge(attempt=attempt))
    return attempt
