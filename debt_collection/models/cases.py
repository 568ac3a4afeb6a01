"""催收案件 (collection cases), the collectors who work them, and each case's timeline entries."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loans.models import Borrower, Loan
from loans.models.borrowers import MONEY

ZERO = Decimal("0.00")

# The buckets a collections queue can serve: every bucket but "current".
QUEUE_BUCKETS = [(value, label) for value, label in Loan.Bucket.choices if value != "current"]


class Collector(models.Model):
    """A member of staff who works a queue (one bucket). On leave: no new cases."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="collector",
        verbose_name=_("staff user"),
    )
    # Shown to the borrower in a visit notice and on /verify/: never the person's full name.
    staff_number = models.CharField(_("staff number"), max_length=16, unique=True)
    queue = models.CharField(_("queue (bucket)"), max_length=8, choices=QUEUE_BUCKETS)
    is_active = models.BooleanField(_("active"), default=True)
    on_leave = models.BooleanField(_("on leave"), default=False)

    class Meta:
        verbose_name = _("collector")
        verbose_name_plural = _("collectors")
        ordering = ["queue", "staff_number"]

    def __str__(self) -> str:
        return f"{self.staff_number} {self.user.get_username()}"


class CaseStatus(models.TextChoices):
    NEW = "new", _("New")
    IN_PROGRESS = "in_progress", _("In progress")
    PROMISE_TO_PAY = "promise", _("Promise to pay")
    BROKEN_PROMISE = "broken_promise", _("Broken promise")
    HARDSHIP_REQUESTED = "hardship_requested", _("Hardship plan requested")
    HARDSHIP_PLAN = "hardship_plan", _("On a hardship plan")
    PAUSED = "paused", _("Paused (complaint or dispute)")
    VISIT_SCHEDULED = "visit_scheduled", _("Home visit scheduled")
    ESCALATED = "escalated", _("Escalated")
    CLOSED = "closed", _("Closed")


class CloseReason(models.TextChoices):
    CURED = "cured", _("Cured (nothing overdue)")
    SETTLED = "settled", _("Settled or paid off")
    WRITTEN_OFF = "written_off", _("Written off")


class CaseQuerySet(models.QuerySet):
    def open(self):
        return self.exclude(status=CaseStatus.CLOSED)

    def for_collector(self, user):
        """The cases a collector may see: their own. Staff who supervise see every case."""
        return self.filter(assigned_to__user=user)


class CollectionCase(models.Model):
    """One overdue episode of one loan: opened by the case sync after end of day when the
    loan's DPD first exceeds its grace days, closed when it is cured, settled or written off.
    A loan that falls overdue again gets a new case."""

    Status = CaseStatus

    loan = models.ForeignKey(
        Loan, on_delete=models.PROTECT, related_name="collection_cases", verbose_name=_("loan")
    )
    borrower = models.ForeignKey(
        Borrower,
        on_delete=models.PROTECT,
        related_name="collection_cases",
        verbose_name=_("borrower"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.NEW
    )
    close_reason = models.CharField(
        _("closed because"), max_length=12, choices=CloseReason.choices, blank=True
    )
    # Copied from the loan by each sync, so a queue sorts and filters without joining loans.
    bucket = models.CharField(_("bucket"), max_length=8, choices=Loan.Bucket.choices)
    days_past_due = models.PositiveIntegerField(_("days past due"))
    overdue_principal = models.DecimalField(_("overdue principal"), default=ZERO, **MONEY)
    overdue_interest = models.DecimalField(_("overdue interest"), default=ZERO, **MONEY)
    overdue_penalty = models.DecimalField(_("overdue penalty"), default=ZERO, **MONEY)
    overdue_total = models.DecimalField(_("overdue amount"), default=ZERO, **MONEY)
    assigned_to = models.ForeignKey(
        Collector,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("collector"),
    )
    next_action_on = models.DateField(_("next action"), null=True, blank=True)
    opened_on = models.DateField(_("opened on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    # The last business date whose sync changed the case's bucket, DPD or amounts.
    updated_on = models.DateField(_("updated on"))

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("collection case")
        verbose_name_plural = _("collection cases")
        ordering = ["-opened_on", "-id"]
        permissions = [
            ("work_case", _("Can work own collection cases (contact, promise, note)")),
            ("supervise_case", _("Can see every case, reassign and approve")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["loan"],
                condition=~models.Q(status=CaseStatus.CLOSED),
                name="collection_case_one_open_per_loan",
            ),
            models.CheckConstraint(
                condition=models.Q(status=CaseStatus.CLOSED, closed_on__isnull=False)
                | (~models.Q(status=CaseStatus.CLOSED) & models.Q(closed_on__isnull=True)),
                name="collection_case_closed_has_date",
            ),
        ]
        indexes = [
            # A collector's queue: their open cases.
            models.Index(
                fields=["assigned_to", "status"],
                name="case_open_by_collector",
                condition=~models.Q(status=CaseStatus.CLOSED),
            ),
            models.Index(fields=["borrower", "status"], name="case_by_borrower"),
            # The list's status and bucket filters.
            models.Index(fields=["status", "bucket"], name="case_status_bucket"),
            models.Index(fields=["bucket", "status"], name="case_bucket_status"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.loan}"

    @property
    def is_open(self) -> bool:
        return self.status != CaseStatus.CLOSED


class CaseEvent(models.Model):
    """A timeline entry that no other record carries: opened, assigned, status changes,
    closed, internal notes. Contacts, promises, visits, complaints, plans, payments and SMS
    are read from their own tables when the timeline is shown."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Case opened")
        ASSIGNED = "assigned", _("Assigned")
        STATUS = "status", _("Status changed")
        CLOSED = "closed", _("Case closed")
        NOTE = "note", _("Internal note")
        ESCALATED = "escalated", _("Escalated")
        # The loan moved to another bucket; `text` says from which to which ("M1 → M2").
        BUCKET = "bucket", _("Bucket changed")

    case = models.ForeignKey(
        CollectionCase, on_delete=models.CASCADE, related_name="events", verbose_name=_("case")
    )
    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    # Empty for what the system did (the case sync, end of day).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    collector = models.ForeignKey(
        Collector,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("collector"),
    )
    text = models.TextField(_("text"), blank=True)
    # The case's status after this event, when the event set one.
    status = models.CharField(
        _("status after"), max_length=20, choices=CaseStatus.choices, blank=True
    )

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="case_event_timeline")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {timezone.localtime(self.at):%Y-%m-%d %H:%M}"
