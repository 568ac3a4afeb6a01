"""授信 (credit assessment) and 授信额度 (credit lines)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .borrowers import MONEY, RATE, Borrower
from .claims import ClaimFields


class Decision(models.TextChoices):
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")


class CreditAssessment(ClaimFields):  # in a review queue: claimable
    """One run of the eligibility rules and scorecard, stored with everything needed to explain
    it and re-run it: the inputs, the scorecard version, each rule's result, score and grade.

    The automated result never changes; a staff override and a borrower's request for manual
    review are recorded beside it.
    """

    borrower = models.ForeignKey(
        Borrower, on_delete=models.PROTECT, related_name="assessments", verbose_name=_("borrower")
    )
    as_of = models.DateField(_("assessment date"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    scorecard_version = models.CharField(_("scorecard version"), max_length=20)
    inputs = models.JSONField(_("inputs"))
    rule_results = models.JSONField(_("rule results"))
    points = models.JSONField(_("points"), default=dict)
    reasons = models.JSONField(_("reason codes"), default=list)
    score = models.IntegerField(_("score"), null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=2, blank=True)
    decision = models.CharField(_("automated decision"), max_length=10, choices=Decision.choices)
    credit_limit = models.DecimalField(_("credit limit"), null=True, blank=True, **MONEY)
    daily_rate = models.DecimalField(_("daily rate"), null=True, blank=True, **RATE)

    override_decision = models.CharField(
        _("override decision"), max_length=10, choices=Decision.choices, blank=True
    )
    override_limit = models.DecimalField(_("override limit"), null=True, blank=True, **MONEY)
    override_daily_rate = models.DecimalField(
        _("override daily rate"), null=True, blank=True, **RATE
    )
    override_reason = models.TextField(_("override reason"), blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("overridden by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    overridden_at = models.DateTimeField(_("overridden at"), null=True, blank=True)

    review_requested_at = models.DateTimeField(
        _("manual review requested"), null=True, blank=True, db_index=True
    )
    review_request_note = models.TextField(_("borrower's request"), blank=True)

    class Meta:
        verbose_name = _("credit assessment")
        verbose_name_plural = _("credit assessments")
        ordering = ["-created_at", "-id"]
        get_latest_by = ["created_at", "id"]
        indexes = [
            models.Index(fields=["borrower", "-created_at"]),
            # The list: its order, its date drill-down and each filter in that order.
            models.Index(fields=["-created_at", "-id"], name="assessment_order"),
            models.Index(fields=["as_of"], name="assessment_as_of"),
            models.Index(fields=["decision", "-created_at"], name="assessment_decision"),
            models.Index(fields=["override_decision", "-created_at"], name="assessment_override"),
            models.Index(fields=["grade", "-created_at"], name="assessment_grade"),
            models.Index(fields=["scorecard_version", "-created_at"], name="assessment_version"),
            # The review queue, oldest first: only the few assessments waiting.
            models.Index(
                fields=["review_requested_at", "id"],
                name="assessment_review_queue",
                condition=models.Q(review_requested_at__isnull=False, overridden_at__isnull=True),
            ),
        ]
        permissions = [
            ("override_creditassessment", _("Can override an automated credit decision")),
            ("request_review_creditassessment", _("Can record a request for manual review")),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.as_of} {self.get_final_decision_display()}"

    @property
    def final_decision(self) -> str:
        return self.override_decision or self.decision

    def get_final_decision_display(self) -> str:
        return Decision(self.final_decision).label

    @property
    def final_limit(self) -> Decimal | None:
        return self.override_limit if self.override_decision else self.credit_limit

    @property
    def final_daily_rate(self) -> Decimal | None:
        return self.override_daily_rate if self.override_decision else self.daily_rate

    @property
    def review_pending(self) -> bool:
        return bool(self.review_requested_at) and not self.overridden_at


class CreditLine(models.Model):
    """A borrower's revolving credit line.

    可用额度 (available amount) = limit − outstanding principal − amounts reserved for approved
    draws waiting to be disbursed.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        FROZEN = "frozen", _("Frozen")
        CLOSED = "closed", _("Closed")

    borrower = models.OneToOneField(
        Borrower, on_delete=models.PROTECT, related_name="credit_line", verbose_name=_("borrower")
    )
    assessment = models.ForeignKey(
        CreditAssessment,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("set by assessment"),
    )
    limit = models.DecimalField(_("limit"), **MONEY)
    outstanding_principal = models.DecimalField(
        _("outstanding principal"), default=Decimal("0"), **MONEY
    )
    # Held for approved draws not yet disbursed, so two applications cannot overdraw the line.
    reserved_amount = models.DecimalField(_("reserved"), default=Decimal("0"), **MONEY)
    daily_rate = models.DecimalField(_("daily rate"), **RATE)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    status_reason = models.CharField(_("status reason"), max_length=200, blank=True)
    expires_on = models.DateField(_("expires on"), db_index=True)
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("credit line")
        verbose_name_plural = _("credit lines")
        ordering = ["-id"]
        permissions = [("freeze_creditline", _("Can freeze and unfreeze credit lines"))]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    limit__gte=0, outstanding_principal__gte=0, reserved_amount__gte=0
                ),
                name="creditline_amounts_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.borrower} ¥{self.limit}"

    @property
    def available_amount(self) -> Decimal:
        used = self.outstanding_principal + self.reserved_amount
        return max(self.limit - used, Decimal("0.00"))


class CreditLineEvent(models.Model):
    """Append-only history of a credit line: who changed what, when and why."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        REASSESSED = "reassessed", _("Re-assessed")
        FROZEN = "frozen", _("Frozen")
        UNFROZEN = "unfrozen", _("Unfrozen")
        CLOSED = "closed", _("Closed")

    credit_line = models.ForeignKey(
        CreditLine, on_delete=models.PROTECT, related_name="events", verbose_name=_("credit line")
    )
    kind = models.CharField(_("event"), max_length=12, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    old_limit = models.DecimalField(_("old limit"), null=True, blank=True, **MONEY)
    new_limit = models.DecimalField(_("new limit"), null=True, blank=True, **MONEY)
    old_daily_rate = models.DecimalField(_("old daily rate"), null=True, blank=True, **RATE)
    new_daily_rate = models.DecimalField(_("new daily rate"), null=True, blank=True, **RATE)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("credit line event")
        verbose_name_plural = _("credit line events")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {timezone.localtime(self.at):%Y-%m-%d %H:%M}"
