"""自动扣款 (auto-debit): what to collect in each slot, and the charge itself; and the
borrower's own payments from the portal (主动还款, paying by card), which are charged the same way.

A charge is an attempt row plus a request to the gateway sent after commit; its result arrives
later, only through the signed webhook (`webhooks.handle_gateway_notification`), which posts
the repayment once per gateway reference.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import selectors
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
    everything still owed on its instalments due by then. Loans that owe nothing are left out,
    and so are those of borrowers who turned auto-debit off (they repay themselves).
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
            loan__borrower__auto_debit=True,
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
    # Another run created the attempt for this slot first: it is the one that charges.
    return _save_and_charge(
        attempt,
        made_first=lambda: DebitAttempt.objects.get(
            loan=loan, business_date=business_date, slot=slot
        ),
    )


def _save_and_charge(attempt: DebitAttempt, *, made_first) -> DebitAttempt:
    """Save `attempt` and ask the gateway to charge it after commit; when the same attempt
    was saved a moment ago (the unique constraint), `made_first()` is it, and nothing more is
    charged."""
    try:
        with transaction.atomic():
            attempt.save()
    except IntegrityError:
        return made_first()
    transaction.on_commit(lambda: get_gateway().charge(attempt=attempt))
    return attempt


# --- The borrower paying from the portal ---------------------------------------------------

# The form's one-time token (secrets.token_hex(16)): the same form posted twice is one charge.
PORTAL_TOKEN = re.compile(r"[0-9a-f]{32}")
# A charge still waiting for its result this recently blocks another: the figures the borrower
# sees do not count it yet, so paying again would pay twice.
PENDING_WINDOW = timedelta(minutes=15)


class NoPaymentCard(ValidationError):
    """The borrower has no verified default card to charge. Nothing was changed."""

    def __init__(self):
        super().__init__(
            _("Bind and verify a bank card first: the payment is taken from it."),
            code="no_card",
        )


def portal_gateway_ref(*, loan_id: int, token: str) -> str | None:
    """The reference a form with this token charges under, or None for a token no form of
    ours carries."""
    if not (isinstance(token, str) and PORTAL_TOKEN.fullmatch(token)):
        return None
    return f"PP-{loan_id}-{token}"


def submitted_portal_payment(*, loan: Loan, token: str) -> DebitAttempt | None:
    """The attempt a form with this token already made for this loan, if any: a second submit
    is shown the first one's result, even once that payment has settled the loan."""
    ref = portal_gateway_ref(loan_id=loan.pk, token=token)
    if ref is None:
        return None
    return DebitAttempt.objects.filter(gateway_ref=ref, slot=DebitAttempt.Slot.PORTAL).first()


@transaction.atomic
def request_portal_payment(*, loan: Loan, amount: Decimal, token: str, on: date) -> DebitAttempt:
    """Charge the borrower's default card `amount` for their active loan, on their request.

    `token` identifies the form the borrower submitted: the same token again (a double click,
    a refresh) returns the first attempt unchanged and charges nothing more. The amount is
    whole fen, positive, and at most what settles the loan on `on`. Raises NoPaymentCard
    without a verified default card, ValidationError for anything else refused. The gateway is
    called after commit; the result comes back through the webhook and is posted with `on` as
    its value date.
    """
    gateway_ref = portal_gateway_ref(loan_id=loan.pk, token=token)
    if gateway_ref is None:
        raise ValidationError(
            {"token": _("This payment form is no longer valid. Please start again.")}
        )
    # The lock makes a concurrent second submit wait here, then find the first one's attempt.
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    existing = DebitAttempt.objects.filter(gateway_ref=gateway_ref).first()
    if existing is not None:
        return existing
    if loan.status != Loan.Status.ACTIVE:
        raise ValidationError(
            _("This loan is %(status)s; it takes no more payments.")
            % {"status": loan.get_status_display()}
        )
    _check_portal_amount(loan=loan, amount=amount, on=on)
    pending = DebitAttempt.objects.filter(
        loan=loan,
        status=DebitAttempt.Status.REQUESTED,
        requested_at__gte=timezone.now() - PENDING_WINDOW,
    )
    if pending.exists():
        raise ValidationError(
            _(
                "A payment for this loan is still being processed. Please wait for its result "
                "before paying again."
            )
        )
    card = default_card(borrower=loan.borrower)
    if card is None:
        raise NoPaymentCard()
    attempt = DebitAttempt(
        loan=loan,
        bank_card=card,
        amount=amount,
        slot=DebitAttempt.Slot.PORTAL,
        business_date=on,
        gateway_ref=gateway_ref,
    )
    # The same form, submitted again in a race that passed the lock: that one charges.
    return _save_and_charge(
        attempt, made_first=lambda: DebitAttempt.objects.get(gateway_ref=gateway_ref)
    )


def _check_portal_amount(*, loan: Loan, amount: Decimal, on: date) -> None:
    if not (isinstance(amount, Decimal) and is_whole_fen(amount) and 0 < amount <= MAX_AMOUNT):
        raise ValidationError(
            {"amount": _("Enter an amount above ¥0 with at most 2 decimal places.")}
        )
    settle = selectors.repayment_figures(loan=loan, on=on).settle
    if amount > settle:
        raise ValidationError(
            {
                "amount": _(
                    "¥%(amount)s is more than this loan owes: ¥%(settle)s settles it today."
                )
                % {"amount": f"{amount:.2f}", "settle": f"{settle:.2f}"}
            }
        )
