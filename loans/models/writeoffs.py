"""核销 (write-off) of a loan long past due: proposed by one person, approved by another."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .borrowers import MONEY
from .lending import ZERO, Loan


class WriteOff(models.Model):
    """A proposal to write a loan off and, once approved, what was written off.

    Approval moves everything the loan still owed to WRITE_OFF ledger rows; the amounts here
    are their totals. At most one proposal per loan is open or approved at a time.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved (written off)")
        REJECTED = "rejected", _("Rejected")

    loan = models.ForeignKey(
        Loan, on_delete=models.PROTECT, related_name="write_offs", verbose_name=_("loan")
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=Status.choices,
        default=Status.PROPOSED,
        db_index=True,
    )
    reason = models.CharField(_("reason"), max_length=300)
    days_past_due = models.PositiveIntegerField(_("days past due when proposed"))
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("proposed at"), auto_now_add=True, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved or rejected by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("approved or rejected at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)
    written_off_on = models.DateField(_("written off on"), null=True, blank=True)
    principal = models.DecimalField(_("principal written off"), default=ZERO, **MONEY)
    interest = models.DecimalField(_("interest written off"), default=ZERO, **MONEY)
    penalty = models.DecimalField(_("penalty written off"), default=ZERO, **MONEY)
    fee = models.DecimalField(_("fees written off"), default=ZERO, **MONEY)

    class Meta:
        verbose_name = _("write-off")
        verbose_name_plural = _("write-offs")
        ordering = ["-proposed_at", "-id"]
        permissions = [
            ("propose_writeoff", _("Can propose write-offs")),
            ("approve_writeoff", _("Can approve and reject write-offs")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["loan"],
                condition=models.Q(status__in=["proposed", "approved"]),
                name="writeoff_one_open_per_loan",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan} {self.get_status_display()}"

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.penalty + self.fee
