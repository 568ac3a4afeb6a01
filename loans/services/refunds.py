"""退款 (refunds): money a borrower paid beyond everything owed, sent back to their bank card
through the payment gateway (DESIGN §4, "Reversal, refunds, write-off").

A loan's **to refund** balance is what its standing repayments brought beyond everything owed
(`Repayment.unapplied` of posted ones) less the refunds paid out. What may still be asked for
(`refundable_amount`) also leaves out refunds waiting for approval or on their way: a refund
holds its amount from the moment it is requested, so two requests can never pay the same money
twice.

A refund at or below the refund approval threshold (`loans.approvals.threshold`, seeded from
`settings.REFUND_APPROVAL_THRESHOLD`, editable in the admin) is sent when it is requested; one
above waits until a second person approves it through `loans.approvals` (maker-checker: never
the requester), which then runs `carry_out_approved_refund`. Sending is
a gateway request made after commit, with the refund's unique reference as the idempotency key.
The result comes back only through the signed refund webhook
(`webhooks.handle_refund_notification` → `record_refund_result`), which pays each refund once:
its REFUND ledger row is unique to it.

Every function that changes a loan's refunds locks the loan first, like postings and
reversals do, so a reversal and a refund of the same money cannot pass each other.
"""

import logging
import secrets
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import DecimalField, Exists, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import approvals, signals
from ..audit import record_event
from ..fields import in_fen
from ..gateway import get_gateway
from ..models import (
    ApprovalThreshold,
    BankCard,
    GatewayNotification,
    Loan,
    LoanTransaction,
    Refund,
    Repayment,
)
from ..money import MAX_AMOUNT, is_whole_fen

logger = logging.getLogger("loans.refunds")

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=16, decimal_places=2)


class UnknownRefund(Exception):
    """A gateway result names a reference that is no refund of ours."""


class RefundAlreadyCompleted(Exception):
    """A gateway result for a refund that already has one (a re-delivery, or a contradiction)."""


# --- Balances ------------------------------------------------------------------------------


def _received_beyond_owed(loan_id: int) -> Decimal:
    total = Repayment.objects.filter(loan_id=loan_id, status=Repayment.Status.POSTED).aggregate(
        t=Sum("unapplied")
    )["t"]
    return Decimal(total or 0).quantize(Decimal("0.01"))


def _refunds_total(loan_id: int, statuses: list[str]) -> Decimal:
    total = Refund.objects.filter(loan_id=loan_id, status__in=statuses).aggregate(t=Sum("amount"))[
        "t"
    ]
    return Decimal(total or 0).quantize(Decimal("0.01"))


def to_refund(*, loan: Loan) -> Decimal:
    """What the loan holds for the borrower: received beyond everything owed, less refunds
    paid."""
    return _received_beyond_owed(loan.pk) - _refunds_total(loan.pk, [Refund.Status.PAID])


def refundable_amount(*, loan: Loan) -> Decimal:
    """What a new refund may ask for: `to_refund` less refunds waiting or on their way."""
    return max(_received_beyond_owed(loan.pk) - _refunds_total(loan.pk, Refund.HOLDING), ZERO)


def loans_with_money_to_refund() -> QuerySet[Loan]:
    """Loans a refund may be requested for, with their `refundable` amount, largest first."""

    def total(queryset, field):
        sums = queryset.order_by().values("loan").annotate(t=Sum(field)).values("t")
        return Coalesce(Subquery(sums, output_field=MONEY), Value(ZERO), output_field=MONEY)

    received = Repayment.objects.filter(
        loan=OuterRef("pk"), status=Repayment.Status.POSTED, unapplied__gt=0
    )
    holding = Refund.objects.filter(loan=OuterRef("pk"), status__in=Refund.HOLDING)
    return (
        Loan.objects.filter(Exists(received))
        .annotate(refundable=in_fen(total(received, "unapplied") - total(holding, "amount")))
        .filter(refundable__gt=0)
        .order_by("-refundable", "pk")
    )


def check_reversal(*, loan: Loan, repayment: Repayment) -> None:
    """Reversing a payment takes its excess back out of "to refund". Refuse it while part of
    that excess is held by a refund: paid back already (a reversal cannot take that money back
    from the borrower), or waiting or on its way (reject it first). Called by
    `reverse_repayment` with the loan locked."""
    if not repayment.unapplied:
        return
    available = _received_beyond_owed(loan.pk) - _refunds_total(loan.pk, Refund.HOLDING)
    if available >= repayment.unapplied:
        return
    held = Refund.objects.filter(loan=loan, status__in=Refund.HOLDING).order_by("id")
    raise ValidationError(
        _(
            "¥%(held)s of the ¥%(excess)s this payment brought beyond what was owed has been "
            "refunded or is being refunded to the borrower (%(refunds)s). Reject a refund that "
            "is still waiting for approval first; money already paid back cannot be taken "
            "back by a reversal."
        )
        % {
            "held": f"{repayment.unapplied - max(available, ZERO):.2f}",
            "excess": f"{repayment.unapplied:.2f}",
            "refunds": ", ".join(f"{r.reference} {r.get_status_display()}" for r in held),
        }
    )


# --- Requesting, approving, sending -----------------------------------------------------------


def approval_threshold() -> Decimal:
    """Refunds above this (yuan) need a second person's approval."""
    return approvals.threshold(ApprovalThreshold.Kind.REFUND)


def new_reference() -> str:
    """A refund reference, also the gateway's idempotency key: unguessable and unique."""
    return f"RF-{secrets.token_hex(10).upper()}"


def request_refund(
    *,
    loan: Loan,
    amount: Decimal,
    actor,
    reason: str = "",
    reference: str | None = None,
) -> Refund:
    """Ask for `amount` of the loan's "to refund" to go back to the borrower's card.

    Requesting again with the same `reference` (a form posted twice) returns the first refund
    and changes nothing. At or below the approval threshold the refund is sent at once;
    above it, it waits for someone other than `actor` to approve it. Raises ValidationError.
    """
    reference = (reference or "").strip() or new_reference()
    existing = _existing(reference=reference, loan=loan)
    if existing:
        return existing
    try:
        with transaction.atomic():
            return _request(
                loan=loan, amount=amount, actor=actor, reason=reason, reference=reference
            )
    except IntegrityError:
        # The same form, posted twice at once: the first one made the refund.
        existing = _existing(reference=reference, loan=loan)
        if existing:
            return existing
        raise


def _existing(*, reference: str, loan: Loan) -> Refund | None:
    existing = Refund.objects.filter(reference=reference).first()
    if existing and existing.loan_id != loan.pk:
        raise ValidationError({"reference": _("This reference belongs to another loan's refund.")})
    return existing


def _request(*, loan, amount, actor, reason, reference) -> Refund:
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    existing = _existing(reference=reference, loan=loan)
    if existing:  # made while we waited for the lock
        return existing
    errors = {}
    if actor is None:
        errors["__all__"] = _("A refund is requested by a named member of staff.")
    if not isinstance(amount, Decimal) or not is_whole_fen(amount) or not 0 < amount <= MAX_AMOUNT:
        errors["amount"] = _("The amount must be positive and in whole fen.")
    else:
        available = refundable_amount(loan=loan)
        if amount > available:
            errors["amount"] = _(
                "¥%(amount)s is more than this loan has to refund: ¥%(available)s."
            ) % {"amount": f"{amount:.2f}", "available": f"{available:.2f}"}
    if len(reference) > Refund._meta.get_field("reference").max_length:
        errors["reference"] = _("The reference is too long.")
    if _refund_card(loan) is None:
        errors.setdefault(
            "__all__", _("The borrower has no bound, verified bank card to refund to.")
        )
    if errors:
        raise ValidationError(errors)
    needs_approval = approvals.needs_approval(ApprovalThreshold.Kind.REFUND, amount)
    refund = Refund.objects.create(
        loan=loan,
        reference=reference,
        amount=amount,
        reason=(reason or "").strip()[:200],
        requested_by=actor,
        needs_approval=needs_approval,
        status=Refund.Status.PENDING_APPROVAL,
    )
    logger.info(
        "Refund %s of ¥%s requested for loan %s by %s%s",
        refund.reference,
        amount,
        loan.pk,
        actor,
        " (waits for approval)" if needs_approval else "",
    )
    record_event(
        actor=actor,
        action="refund.request",
        target=refund,
        summary=_("Refund of ¥%(amount)s requested") % {"amount": f"{amount:.2f}"},
        after={"amount": amount, "needs_approval": needs_approval},
    )
    if needs_approval:
        approvals.propose(
            kind="refund",
            actor=actor,
            amount=amount,
            reason=refund.reason,
            summary=_("Refund %(ref)s of ¥%(amount)s to the borrower of %(loan)s")
            % {"ref": refund.reference, "amount": f"{amount:.2f}", "loan": loan},
            target=refund,
        )
    else:
        _send(refund)
    return refund


def approve_refund(*, refund: Refund, actor, note: str = "") -> Refund:
    """A second person lets a refund above the threshold go out, through its proposal
    (`loans.approvals.approve`, the one way to approve). Never the requester."""
    if actor is not None and actor.pk == refund.requested_by_id:
        raise ValidationError(_("A refund must be approved by someone other than its requester."))
    approvals.approve(approval=_proposal(refund, _("approved")), actor=actor, note=note)
    refund.refresh_from_db()
    return refund


def reject_refund(*, refund: Refund, actor, note: str) -> Refund:
    """Refuse (or withdraw) a refund waiting for approval, through its proposal: its amount is
    free again."""
    if not (note or "").strip():
        raise ValidationError({"note": _("Say why the refund is rejected.")})
    approvals.reject(approval=_proposal(refund, _("rejected")), actor=actor, note=note)
    refund.refresh_from_db()
    return refund


def _proposal(refund: Refund, verb: str):
    approval = approvals.open_for(refund)
    if approval is None:
        refund.refresh_from_db()
        raise ValidationError(
            _("This refund is %(status)s: only one waiting for approval can be %(verb)s.")
            % {"status": refund.get_status_display(), "verb": verb}
        )
    return approval


def carry_out_approved_refund(*, approval, target: Refund, actor, note: str = "") -> None:
    """Executor of an approved refund proposal (called by `loans.approvals.approve` only, in
    its transaction): the refund goes out."""
    refund = _locked(target)
    if refund.status != Refund.Status.PENDING_APPROVAL:
        raise ValidationError(
            _("This refund is %(status)s: only one waiting for approval can be approved.")
            % {"status": refund.get_status_display()}
        )
    if actor is None or actor.pk == refund.requested_by_id:
        raise ValidationError(_("A refund must be approved by someone other than its requester."))
    refund.decided_by, refund.decided_at = actor, timezone.now()
    refund.decision_note = (note or "").strip()[:200]
    _send(refund)
    record_event(actor=actor, action="refund.approve", target=refund, after={"status": "sent"})
    logger.info("Refund %s approved by %s", refund.reference, actor)


def carry_out_rejected_refund(*, approval, target: Refund, actor, note: str) -> None:
    """Executor of a rejected refund proposal: the refund is rejected, its amount free."""
    note = (note or "").strip()
    refund = _locked(target)
    if refund.status != Refund.Status.PENDING_APPROVAL:
        raise ValidationError(
            _("This refund is %(status)s: only one waiting for approval can be rejected.")
            % {"status": refund.get_status_display()}
        )
    refund.status = Refund.Status.REJECTED
    refund.decided_by, refund.decided_at = actor, timezone.now()
    refund.decision_note = note[:200]
    refund.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    record_event(actor=actor, action="refund.reject", target=refund, after={"status": "rejected"})
    logger.info("Refund %s rejected by %s: %s", refund.reference, actor, note)


@transaction.atomic
def resend_refund(*, refund: Refund, actor=None) -> Refund:
    """Ask the gateway again for a refund it has not answered (the request may never have
    reached it). The same reference goes with it, so the gateway pays at most once."""
    refund = _locked(refund)
    if refund.status != Refund.Status.SENT:
        raise ValidationError(_("Only a refund sent and not yet answered can be sent again."))
    logger.info("Refund %s sent again by %s", refund.reference, actor)
    _submit_after_commit(refund)
    return refund


def _locked(refund: Refund) -> Refund:
    # The loan first, then the refund: the order every refund and posting path takes.
    loan_id = Refund.objects.values_list("loan_id", flat=True).get(pk=refund.pk)
    Loan.objects.select_for_update().only("pk").get(pk=loan_id)
    return Refund.objects.select_for_update().select_related("loan").get(pk=refund.pk)


def _refund_card(loan: Loan) -> BankCard | None:
    return BankCard.objects.usable().filter(borrower_id=loan.borrower_id, is_default=True).first()


def _send(refund: Refund) -> None:
    card = _refund_card(refund.loan)
    if card is None:
        raise ValidationError(_("The borrower has no bound, verified bank card to refund to."))
    refund.bank_card = card
    refund.status = Refund.Status.SENT
    refund.sent_at = timezone.now()
    refund.save()
    _submit_after_commit(refund)


def _submit_after_commit(refund: Refund) -> None:
    # No network inside the transaction. A gateway that cannot be reached leaves the refund
    # "sent" (logged here), to be sent again with the same reference.
    transaction.on_commit(lambda: get_gateway().refund(refund=refund), robust=True)


# --- The gateway's answer --------------------------------------------------------------------


@transaction.atomic
def record_refund_result(
    *,
    reference: str,
    succeeded: bool,
    amount: Decimal | None,
    failure_reason: str,
    notification: GatewayNotification | None = None,
) -> Refund:
    """Apply the gateway's signed result for a refund, once.

    Paid: the refund gets its REFUND ledger row and leaves "to refund". Failed: its amount is
    free to refund again. Raises UnknownRefund, RefundAlreadyCompleted (a re-delivery: nothing
    changes) or ValidationError (a genuine result the ledger will not post: staff must look).
    """
    loan_id = Refund.objects.filter(reference=reference).values_list("loan_id", flat=True).first()
    if loan_id is None:
        raise UnknownRefund(reference)
    Loan.objects.select_for_update().only("pk").get(pk=loan_id)
    refund = Refund.objects.select_for_update().select_related("loan").get(reference=reference)
    outcome = Refund.Status.PAID if succeeded else Refund.Status.FAILED
    if refund.status != Refund.Status.SENT:
        detail = f"refund already {refund.status}; event says {outcome}"
        if refund.status != outcome:
            logger.error("Conflicting gateway result for %s: %s", reference, detail)
        raise RefundAlreadyCompleted(detail)
    if succeeded:
        if amount != refund.amount:
            raise ValidationError(f"paid {amount}, refund is for {refund.amount}")
        refund.ledger_entry = LoanTransaction.objects.create(
            loan=refund.loan,
            kind=LoanTransaction.Kind.REFUND,
            value_date=timezone.localdate(),
            amount=refund.amount,
            bank_card=refund.bank_card,
        )
        refund.status = Refund.Status.PAID
        logger.info("Refund %s of ¥%s paid", reference, refund.amount)
        transaction.on_commit(lambda: signals.refund_paid.send(sender=Refund, refund=refund))
    else:
        refund.status = Refund.Status.FAILED
        refund.failure_reason = (failure_reason or "")[:200]
        logger.warning("Refund %s failed: %s", reference, refund.failure_reason)
        transaction.on_commit(lambda: signals.refund_failed.send(sender=Refund, refund=refund))
    refund.completed_at = timezone.now()
    refund.notification = notification
    refund.save()
    return refund
