"""Schedule revisions: a loan's schedule as it stood before a lending operation changed it
(extension 展期, new plan 分期, penalty waiver, 停息挂账), and as it stood after."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .borrowers import MONEY
from .lending import ZERO, Loan

MAX_EXTENSION_DAYS = 90  # 展期 (extension): every remaining due date moves at most this far
MAX_PLAN_TERM = 36  # 分期 (new plan): at most this many monthly instalments


class RevisionKind(models.TextChoices):
    PENALTY_WAIVER = "penalty_waiver", _("Penalty waived")
    STOP_ACCRUAL = "stop_accrual", _("Interest and penalty stopped (停息挂账)")
    RESTRUCTURE = "restructure", _("New plan (分期)")
    EXTENSION = "extension", _("Due dates extended (展期)")


class ScheduleRevision(models.Model):
    """Written before anything changes, in the same transaction: nothing of the old schedule
    is lost. `kinds` lists the operations in the order they were applied."""

    Kind = RevisionKind

    loan = models.ForeignKey(
        Loan,
        on_delete=models.PROTECT,
        related_name="schedule_revisions",
        verbose_name=_("loan"),
    )
    created_at = models.DateTimeField(_("revised at"), auto_now_add=True, db_index=True)
    as_of = models.DateField(_("as of"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    reason = models.CharField(_("reason"), max_length=300)
    kinds = models.JSONField(_("operations"), default=list)
    extension_days = models.PositiveSmallIntegerField(
        _("due dates moved by (days)"), null=True, blank=True
    )
    new_term = models.PositiveSmallIntegerField(_("new plan over (months)"), null=True, blank=True)
    penalty_waived = models.DecimalField(_("penalty waived"), default=ZERO, **MONEY)
    interest_waived = models.DecimalField(_("interest waived"), default=ZERO, **MONEY)
    apr_percent = models.DecimalField(
        _("APR of the revised schedule (%)"), max_digits=6, decimal_places=2
    )
    # Every instalment of the loan (number, due date, amounts due and paid, status) and the
    # loan's own terms (daily rate, method, accrual stop, days past due), before and after.
    old_instalments = models.JSONField(_("instalments before"), default=list)
    new_instalments = models.JSONField(_("instalments after"), default=list)
    old_terms = models.JSONField(_("loan terms before"), default=dict)
    new_terms = models.JSONField(_("loan terms after"), default=dict)

    class Meta:
        verbose_name = _("schedule revision")
        verbose_name_plural = _("schedule revisions")
        ordering = ["loan_id", "-created_at", "-id"]
        default_permissions = ("view",)  # written only by the lending services

    def __str__(self) -> str:
        return f"{self.loan} {self.as_of} {', '.join(self.kinds)}"
