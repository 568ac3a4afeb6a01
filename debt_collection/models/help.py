"""投诉 / 异议 (complaints and disputes) and 协商还款 (hardship plans): ways out for borrowers."""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loans.models import Borrower, Loan, ScheduleRevision
from loans.models.borrowers import MONEY
from loans.models.restructuring import MAX_EXTENSION_DAYS, MAX_PLAN_TERM
from notifications.models import SmsMessage

from .cases import CollectionCase

# A complaint is answered in writing within this many days (its queue shows age against it).
COMPLAINT_TARGET_DAYS = 15
# A plan instalment this many days overdue ends the plan; normal collection resumes.
PLAN_LAPSE_DPD = 30


class ComplaintQuerySet(models.QuerySet):
    def open(self):
        return self.filter(resolved_at__isnull=True)

    def past_target(self, *, today: date | None = None):
        """Open complaints received more than COMPLAINT_TARGET_DAYS days before `today`."""
        today = today or timezone.localdate()
        first_day_in_time = today - timedelta(days=COMPLAINT_TARGET_DAYS)
        start = timezone.make_aware(datetime.combine(first_day_in_time, time.min))
        return self.open().filter(received_at__lt=start)


class Complaint(models.Model):
    """While open, every collection contact on the borrower's cases is paused."""

    class Category(models.TextChoices):
        CONDUCT = "conduct", _("Collection conduct")
        AMOUNT = "amount", _("Amount disputed")
        IDENTITY = "identity", _("Identity or fraud")
        OTHER = "other", _("Other")

    class Kind(models.TextChoices):
        COMPLAINT = "complaint", _("Complaint (投诉)")
        DISPUTE = "dispute", _("Dispute (异议)")

    class Source(models.TextChoices):
        PORTAL = "portal", _("Borrower portal")
        STAFF = "staff", _("Registered by staff")

    borrower = models.ForeignKey(
        Borrower, on_delete=models.PROTECT, related_name="complaints", verbose_name=_("borrower")
    )
    case = models.ForeignKey(
        CollectionCase,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
        verbose_name=_("case"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    category = models.CharField(_("category"), max_length=10, choices=Category.choices)
    description = models.TextField(_("what happened"))
    source = models.CharField(_("received through"), max_length=8, choices=Source.choices)
    received_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("registered by"),
    )
    acknowledgement = models.ForeignKey(
        SmsMessage,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acknowledgement SMS"),
    )
    resolution = models.TextField(_("written resolution"), blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )

    objects = ComplaintQuerySet.as_manager()

    class Meta:
        verbose_name = _("complaint or dispute")
        verbose_name_plural = _("complaints and disputes")
        ordering = ["-received_at"]
        permissions = [("resolve_complaint", _("Can resolve complaints and disputes"))]
        indexes = [
            models.Index(
                fields=["borrower"],
                name="complaint_open",
                condition=models.Q(resolved_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def reference(self) -> str:
        """受理编号 (reference number) the borrower is given in the acknowledgement SMS."""
        return f"TS{self.pk:08d}"

    @property
    def answer_due_on(self) -> date:
        """The last day of the written-answer target."""
        return timezone.localdate(self.received_at) + timedelta(days=COMPLAINT_TARGET_DAYS)

    @property
    def days_open(self) -> int:
        """Calendar days from receipt to the written answer, or to today while open."""
        end = timezone.localdate(self.resolved_at or timezone.now())
        return (end - timezone.localdate(self.received_at)).days

    @property
    def overdue_against_target(self) -> bool:
        """Answered, or still open, later than COMPLAINT_TARGET_DAYS after it was received."""
        return self.days_open > COMPLAINT_TARGET_DAYS


class HardshipPlan(models.Model):
    """One or more of: extension, new plan, penalty waiver, stop interest and penalty."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed, waiting for a supervisor")
        APPROVED = "approved", _("Approved, being kept")
        REJECTED = "rejected", _("Rejected")
        COMPLETED = "completed", _("Completed")
        LAPSED = "lapsed", _("Lapsed (plan instalment over 30 days overdue)")

    loan = models.ForeignKey(
        Loan, on_delete=models.PROTECT, related_name="hardship_plans", verbose_name=_("loan")
    )
    case = models.ForeignKey(
        CollectionCase,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hardship_plans",
        verbose_name=_("case"),
    )
    extension_days = models.PositiveSmallIntegerField(
        _("extend due dates by (days)"), null=True, blank=True
    )
    new_term = models.PositiveSmallIntegerField(_("new plan over (months)"), null=True, blank=True)
    penalty_waiver = models.DecimalField(_("penalty to waive"), null=True, blank=True, **MONEY)
    stop_interest = models.BooleanField(_("stop further interest and penalty"), default=False)
    reason = models.TextField(_("why the borrower cannot pay"), blank=True)
    proposed_by_borrower = models.BooleanField(_("proposed by the borrower"), default=False)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("proposed by"),
    )
    proposed_at = models.DateTimeField(_("proposed"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PROPOSED
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)
    # What the approval did to the loan's schedule (the old schedule stays on record there).
    revision = models.ForeignKey(
        ScheduleRevision,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("schedule revision"),
    )
    apr_percent = models.DecimalField(
        _("APR of the new plan (%)"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    ended_on = models.DateField(_("ended on"), null=True, blank=True)

    class Meta:
        verbose_name = _("hardship plan")
        verbose_name_plural = _("hardship plans")
        ordering = ["-proposed_at"]
        permissions = [("decide_hardshipplan", _("Can approve or reject hardship plans"))]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(extension_days__isnull=True)
                | models.Q(extension_days__gte=1, extension_days__lte=MAX_EXTENSION_DAYS),
                name="hardship_extension_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(new_term__isnull=True)
                | models.Q(new_term__gte=1, new_term__lte=MAX_PLAN_TERM),
                name="hardship_term_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(extension_days__isnull=False)
                | models.Q(new_term__isnull=False)
                | models.Q(penalty_waiver__isnull=False)
                | models.Q(stop_interest=True),
                name="hardship_offers_something",
            ),
            models.UniqueConstraint(
                fields=["loan"],
                condition=models.Q(status__in=["proposed", "approved"]),
                name="hardship_one_live_plan_per_loan",
            ),
        ]

    def __str__(self) -> str:
        return f"{_('Hardship plan')} #{self.pk}"
