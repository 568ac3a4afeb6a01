"""退款 (refunds): money a borrower paid beyond everything owed, sent back to their bank card."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .borrowers import MONEY
from .ledger import LoanTransaction
from .lending import Loan
from .payments import BankCard, GatewayNotification


class Refund(models.Model):
    """One refund of a loan's "to refund" money (`Repayment.unapplied`).

    `reference` is the idempotency key sent to the gateway: asking it twice pays once. The
    money leaves the books only when the gateway's signed notification says it was paid; then
    the refund gets its one REFUND ledger row (`ledger_entry`, unique). A refund above
    `settings.REFUND_APPROVAL_THRESHOLD` waits for a second person's approval.
    """

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending", _("Waiting for approval")
        SENT = "sent", _("Sent to the gateway")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")
        REJECTED = "rejected", _("Rejected")

    # While in one of these the amount is spoken for: it cannot be refunded a second time.
    HOLDING = [Status.PENDING_APPROVAL, Status.SENT, Status.PAID]

    loan = models.ForeignKey(
        Loan, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("loan")
    )
    reference = models.CharField(_("reference"), max_length=64, unique=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=Status.choices,
        default=Status.PENDING_APPROVAL,
        db_index=True,
    )
    needs_approval = models.BooleanField(_("needs a second person's approval"), default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved or rejected by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("approved or rejected at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)
    bank_card = models.ForeignKey(
        BankCard,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
        verbose_name=_("paid to card"),
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    failure_reason = models.CharField(_("failure reason"), max_length=200, blank=True)
    notification = models.ForeignKey(
        GatewayNotification,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("gateway notification"),
    )
    ledger_entry = models.OneToOneField(
        LoanTransaction,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refund",
        verbose_name=_("ledger entry"),
    )

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-requested_at", "-id"]
        permissions = [
            ("request_refund", _("Can request refunds")),
            ("approve_refund", _("Can approve and reject refunds")),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive"),
        ]
        indexes = [models.Index(fields=["loan", "status"], name="refund_loan_status")]

    def __str__(self) -> str:
        return f"{self.reference} ¥{self.amount}"
