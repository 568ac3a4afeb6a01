"""承诺还款 (promises to pay) and 上门 (home visits)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from loans.models.borrowers import MONEY
from notifications.models import SmsMessage

from .cases import ZERO, CollectionCase, Collector

# A promise may be at most this many days ahead (DESIGN §6).
MAX_PROMISE_DAYS = 14
# A visit notice reaches the borrower at least this many days before the visit.
VISIT_NOTICE_DAYS = 3


class PromiseToPay(models.Model):
    """Kept when the payments received from the day it was made up to its date reach its
    amount; partly kept when some arrived; broken the day after its date otherwise."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        KEPT = "kept", _("Kept")
        PARTLY_KEPT = "partly_kept", _("Partly kept")
        BROKEN = "broken", _("Broken")

    case = models.ForeignKey(
        CollectionCase, on_delete=models.PROTECT, related_name="promises", verbose_name=_("case")
    )
    amount = models.DecimalField(_("amount promised"), **MONEY)
    promised_on = models.DateField(_("to pay by"))
    made_on = models.DateField(_("made on"))
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN
    )
    paid = models.DecimalField(_("paid towards it"), default=ZERO, **MONEY)
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)

    class Meta:
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        ordering = ["-made_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="promise_amount_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(promised_on__gte=models.F("made_on")),
                name="promise_not_in_the_past",
            ),
        ]
        indexes = [
            models.Index(
                fields=["promised_on"],
                name="promise_open",
                condition=models.Q(status="open"),
            )
        ]

    def __str__(self) -> str:
        return f"¥{self.amount} by {self.promised_on}"


class HomeVisit(models.Model):
    """Requested by a collector, approved by a supervisor who is not the requester, announced
    to the borrower by SMS at least VISIT_NOTICE_DAYS ahead, closed with a written report."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Waiting for approval")
        APPROVED = "approved", _("Approved, notice sent")
        REJECTED = "rejected", _("Rejected")
        DONE = "done", _("Done, report written")
        CANCELLED = "cancelled", _("Cancelled")

    case = models.ForeignKey(
        CollectionCase, on_delete=models.PROTECT, related_name="visits", verbose_name=_("case")
    )
    visit_date = models.DateField(_("visit date"))
    window_start = models.TimeField(_("from"))
    window_end = models.TimeField(_("until"))
    visitor = models.ForeignKey(
        Collector, on_delete=models.PROTECT, related_name="visits", verbose_name=_("visitor")
    )
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.REQUESTED
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
    notice = models.ForeignKey(
        SmsMessage,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("visit notice SMS"),
    )
    report = models.TextField(_("visit report"), blank=True)
    reported_at = models.DateTimeField(_("reported"), null=True, blank=True)

    class Meta:
        verbose_name = _("home visit")
        verbose_name_plural = _("home visits")
        ordering = ["-visit_date", "-id"]
        permissions = [("approve_homevisit", _("Can approve home visits"))]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(window_end__gt=models.F("window_start")),
                name="visit_window_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.visit_date} {self.window_start:%H:%M}–{self.window_end:%H:%M}"
