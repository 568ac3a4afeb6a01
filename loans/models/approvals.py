"""Maker-checker (四眼原则): one record of every proposal that needs a second person, and the
amounts above which a proposal is needed. What each kind of proposal carries out lives with
the app that owns it (`loans.approvals` keeps the registry); this is only the record."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from .borrowers import MONEY
from .claims import ClaimFields


class Approval(ClaimFields):
    """A proposal (what, why, by whom) waiting for, or decided by, a second person.

    `kind` names an entry of the registry in `loans.approvals` (refund, write_off,
    manual_posting, hardship_plan, ...); `target` is the domain row it acts on, if any (a
    refund, a write-off proposal, a hardship plan), and `payload` what to carry out when there
    is no such row yet (a manual posting's figures). The proposer can never decide it."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Waiting for approval")
        APPROVED = "approved", _("Approved and carried out")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Approved, but could not be carried out")

    kind = models.CharField(_("kind"), max_length=30, db_index=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED
    )
    amount = models.DecimalField(_("amount"), null=True, blank=True, **MONEY)
    reason = models.TextField(_("why"), blank=True)
    summary = models.CharField(_("what"), max_length=300)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        null=True,  # None: the borrower asked (a hardship plan from the portal)
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("proposed at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)
    content_type = models.ForeignKey(
        ContentType,
        verbose_name=_("record type"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    object_id = models.CharField(_("record id"), max_length=64, blank=True)
    object_repr = models.CharField(_("record"), max_length=200, blank=True)
    payload = models.JSONField(_("what to carry out"), default=dict, blank=True)

    class Meta:
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")
        ordering = ["proposed_at", "id"]
        permissions = [
            ("approve_manual_posting", _("Can approve manual postings above the threshold")),
            ("release_claim", _("Can release another person's claim on a queue item")),
        ]
        indexes = [
            models.Index(fields=["status", "kind", "proposed_at"], name="approval_queue"),
            models.Index(fields=["content_type", "object_id"], name="approval_target"),
        ]
        constraints = [
            # At most one open proposal per domain row.
            models.UniqueConstraint(
                fields=["content_type", "object_id"],
                condition=models.Q(status="proposed") & ~models.Q(object_id=""),
                name="approval_one_open_per_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{_('Approval')} #{self.pk} {self.summary}"


class ApprovalThreshold(models.Model):
    """Above this amount (yuan) a proposal of this kind needs a second person. Kinds that
    always need one (write-offs, waivers, hardship plans) have no threshold."""

    class Kind(models.TextChoices):
        REFUND = "refund", _("Refund")
        MANUAL_POSTING = "manual_posting", _("Manual posting of a payment")

    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices, unique=True)
    amount = models.DecimalField(_("approval needed above (yuan)"), **MONEY)
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("approval threshold")
        verbose_name_plural = _("approval thresholds")
        ordering = ["kind"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="approval_threshold_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} > ¥{self.amount}"
