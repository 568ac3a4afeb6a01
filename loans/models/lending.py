"""借款 (loans): applications, contracts, loans and their instalments."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from .. import delinquency
from .borrowers import MONEY, RATE, Borrower
from .claims import ClaimFields
from .credit import CreditLine
from .products import METHOD_LABELS, LoanProduct

ZERO = Decimal("0.00")


class CancelReason(models.TextChoices):
    """Why a draw was cancelled before disbursement: stored as codes on the application, so the
    portal, the SMS and the back office each word them in their reader's language."""

    BORROWER_REQUEST = "borrower_request", _("Cancelled at the borrower's request")
    LINE_FROZEN = "line_frozen", _("Credit line frozen")
    LINE_EXPIRED = "line_expired", _("Credit line expired")
    LINE_CLOSED = "line_closed", _("Credit line closed")
    BORROWER_OVERDUE = "borrower_overdue", _("Another loan overdue beyond its grace days")
    NOT_ELIGIBLE = "not_eligible", _("No longer eligible")
    AMOUNT_UNAVAILABLE = "amount_unavailable", _("Amount no longer available on the line")


# What the borrower reads (portal page): the same codes, said to them.
CANCEL_REASON_MESSAGES = {
    CancelReason.BORROWER_REQUEST: _("You cancelled this draw."),
    CancelReason.LINE_FROZEN: _("Your credit line is frozen."),
    CancelReason.LINE_EXPIRED: _("Your credit line has expired."),
    CancelReason.LINE_CLOSED: _("Your credit line is closed."),
    CancelReason.BORROWER_OVERDUE: _(
        "You have a loan that is overdue. Please repay it; then you can borrow again."
    ),
    CancelReason.NOT_ELIGIBLE: _("Your latest credit assessment no longer allows this draw."),
    CancelReason.AMOUNT_UNAVAILABLE: _(
        "Your available credit is no longer enough for this amount."
    ),
}


class LoanApplication(ClaimFields):  # in a review queue: claimable
    class Status(models.TextChoices):
        PENDING_REVIEW = "pending_review", _("Waiting for review")
        APPROVED = "approved", _("Approved, waiting for signature")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")
        DISBURSED = "disbursed", _("Disbursed")

    # Still holding part of the credit line: waiting for review or for the signature.
    OPEN_STATUSES = [Status.PENDING_REVIEW, Status.APPROVED]

    borrower = models.ForeignKey(
        Borrower, on_delete=models.PROTECT, related_name="applications", verbose_name=_("borrower")
    )
    product = models.ForeignKey(LoanProduct, on_delete=models.PROTECT, verbose_name=_("product"))
    credit_line = models.ForeignKey(
        CreditLine, on_delete=models.PROTECT, related_name="+", verbose_name=_("credit line")
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    term = models.PositiveSmallIntegerField(_("term (months)"))
    method = models.CharField(_("repayment method"), max_length=20, choices=METHOD_LABELS)
    daily_rate = models.DecimalField(_("daily rate"), **RATE)
    apr_percent = models.DecimalField(_("APR %"), max_digits=6, decimal_places=2)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, db_index=True)
    # Why it went to review or was rejected (code) and what staff said.
    review_reason = models.CharField(_("why reviewed"), max_length=40, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)
    # Rejected automatically as no longer eligible: the codes of the rules the borrower failed
    # (loans.scoring; the words for them are in loans.reasons).
    reason_codes = models.JSONField(
        _("why not eligible"),
        default=list,
        db_default=models.Value([], output_field=models.JSONField()),  # set-based inserts
        blank=True,
    )
    # Cancelled: the CancelReason codes (a draw refused at signing or disbursement may fail
    # several checks at once).
    cancel_reasons = models.JSONField(
        _("why cancelled"),
        default=list,
        db_default=models.Value([], output_field=models.JSONField()),  # set-based inserts
        blank=True,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(_("applied at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("loan application")
        verbose_name_plural = _("loan applications")
        ordering = ["-created_at", "-id"]
        permissions = [("decide_loanapplication", _("Can approve and reject loan applications"))]
        indexes = [
            # The list's order (LoanApplicationAdmin.get_ordering): the review queue first,
            # oldest first, then the rest newest first. Without it every page sorts the table.
            models.Index(
                models.Case(
                    models.When(status="pending_review", then=models.Value(0)),
                    default=models.Value(1),
                    output_field=models.IntegerField(),
                ),
                models.Case(models.When(status="pending_review", then=models.F("created_at"))),
                models.F("created_at").desc(),
                models.F("id").desc(),
                name="application_queue_order",
            ),
            models.Index(fields=["status", "-created_at"], name="application_status"),
            models.Index(fields=["method", "-created_at"], name="application_method"),
            models.Index(fields=["product", "-created_at"], name="application_product"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} ¥{self.amount} × {self.term}"

    @property
    def cancel_reason_messages(self) -> list[str]:
        """The borrower-facing explanations of `cancel_reasons`, in the active language."""
        return [
            str(CANCEL_REASON_MESSAGES[code])
            for code in self.cancel_reasons or []
            if code in CANCEL_REASON_MESSAGES
        ]


class Contract(models.Model):
    """借款合同 (loan contract). Once signed it never changes: the signature covers the SHA-256
    of the exact text shown to the borrower."""

    class Status(models.TextChoices):
        AWAITING_SIGNATURE = "awaiting", _("Waiting for signature")
        SIGNED = "signed", _("Signed")
        VOID = "void", _("Void")

    application = models.OneToOneField(
        LoanApplication,
        on_delete=models.PROTECT,
        related_name="contract",
        verbose_name=_("application"),
    )
    number = models.CharField(_("contract number"), max_length=30, unique=True)
    template_version = models.CharField(_("template version"), max_length=20)
    body = models.TextField(_("text"))
    body_sha256 = models.CharField(_("SHA-256 of the text"), max_length=64)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=Status.choices,
        default=Status.AWAITING_SIGNATURE,
        db_index=True,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    signed_ip = models.GenericIPAddressField(_("signed from IP"), null=True, blank=True)
    signed_user_agent = models.CharField(_("signed with browser"), max_length=400, blank=True)

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "-id"], name="contract_status"),
            # The admin's search by number is case-insensitive (UPPER(number) = UPPER(term)).
            models.Index(Upper("number"), name="contract_number_upper"),
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs):
        """A signed contract's text and signature evidence never change; only its status may
        move on (void when the loan is cancelled before disbursement)."""
        if self.pk:
            stored = Contract.objects.filter(pk=self.pk, status=self.Status.SIGNED).first()
            frozen = [
                "body",
                "body_sha256",
                "number",
                "signed_at",
                "signed_ip",
                "signed_user_agent",
            ]
            if stored and any(getattr(stored, f) != getattr(self, f) for f in frozen):
                raise ValueError("A signed contract cannot be changed.")
        super().save(*args, **kwargs)


class Loan(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SETTLED = "settled", _("Settled")
        WRITTEN_OFF = "written_off", _("Written off")

    class Bucket(models.TextChoices):
        # The values are loans.delinquency's, where the bounds live.
        CURRENT = delinquency.CURRENT, _("Current")
        M1 = delinquency.M1, _("M1 (1–30 days)")
        M2 = delinquency.M2, _("M2 (31–60 days)")
        M3 = delinquency.M3, _("M3 (61–90 days)")
        M4_PLUS = delinquency.M4_PLUS, _("M4+ (over 90 days)")

    borrower = models.ForeignKey(
        Borrower, on_delete=models.PROTECT, related_name="loans", verbose_name=_("borrower")
    )
    application = models.OneToOneField(
        LoanApplication, on_delete=models.PROTECT, related_name="loan"
    )
    contract = models.OneToOneField(Contract, on_delete=models.PROTECT, related_name="loan")
    product = models.ForeignKey(LoanProduct, on_delete=models.PROTECT, verbose_name=_("product"))
    credit_line = models.ForeignKey(
        CreditLine, on_delete=models.PROTECT, related_name="loans", verbose_name=_("credit line")
    )
    principal = models.DecimalField(_("principal"), **MONEY)
    term = models.PositiveSmallIntegerField(_("term (months)"))
    method = models.CharField(_("repayment method"), max_length=20, choices=METHOD_LABELS)
    daily_rate = models.DecimalField(_("daily rate"), **RATE)
    apr_percent = models.DecimalField(_("APR %"), max_digits=6, decimal_places=2)
    # Copied from the product at signing: changing a product never changes a signed loan.
    penalty_multiplier = models.DecimalField(
        _("penalty multiplier"), max_digits=4, decimal_places=2
    )
    grace_days = models.PositiveSmallIntegerField(_("grace days"))
    bill_days = models.PositiveSmallIntegerField(
        _("bill opens (days before due)"), default=7, db_default=7
    )
    drawdown_date = models.DateField(_("drawdown date"), db_index=True)
    outstanding_principal = models.DecimalField(_("outstanding principal"), **MONEY)
    # Interest of the running period accrues from here: drawdown, the last due date or the
    # last partial prepayment, whichever is latest.
    last_prepayment_date = models.DateField(_("last prepayment"), null=True, blank=True)
    # Interest already paid on the running instalment when the last prepayment re-based it:
    # what was paid after that counts against the interest accrued since.
    prepayment_interest_base = models.DecimalField(
        _("interest paid at last prepayment"), default=ZERO, **MONEY
    )
    # Status and bucket are indexed by the list's (status|bucket, -id) indexes, DPD not at all:
    # end of day changes it daily on every overdue loan, and an index on it would make each of
    # those updates write to every index of the table (no heap-only update).
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE
    )
    settled_on = models.DateField(_("settled on"), null=True, blank=True)
    written_off_on = models.DateField(_("written off on"), null=True, blank=True)
    # 停息挂账 (a hardship plan): no penalty accrues for any day after this date, and the loan's
    # daily rate is then zero, so no interest either.
    accrual_stopped_on = models.DateField(
        _("interest and penalty stopped on"), null=True, blank=True
    )
    days_past_due = models.PositiveIntegerField(_("days past due"), default=0)
    bucket = models.CharField(
        _("bucket"), max_length=8, choices=Bucket.choices, default=Bucket.CURRENT
    )
    write_off_candidate = models.BooleanField(_("write-off candidate"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        ordering = ["-id"]
        permissions = [("post_repayment_loan", _("Can post and reverse repayments"))]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outstanding_principal__gte=0),
                name="loan_outstanding_non_negative",
            )
        ]
        indexes = [
            # Few loans are write-off candidates; staff filter for exactly those.
            models.Index(
                fields=["id"],
                name="loan_write_off_candidates",
                condition=models.Q(write_off_candidate=True),
            ),
            # The list's filters, each in the list's order (newest first).
            models.Index(fields=["status", "-id"], name="loan_status_order"),
            models.Index(fields=["bucket", "-id"], name="loan_bucket_order"),
            models.Index(fields=["method", "-id"], name="loan_method_order"),
        ]

    def __str__(self) -> str:
        return f"L{self.pk} ¥{self.principal}"


_COMPONENTS = ("principal", "interest", "penalty", "fee")


def outstanding_sum(prefix: str = "") -> models.Expression:
    """What an instalment still owes (all four components) as a query expression; ``prefix``
    reaches it across a relation, e.g. ``"instalments__"`` from a loan."""
    terms = [models.F(f"{prefix}{c}_due") - models.F(f"{prefix}{c}_paid") for c in _COMPONENTS]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


class InstalmentQuerySet(models.QuerySet):
    def open(self):
        """Not yet closed: not due yet, due, or overdue."""
        return self.filter(status__in=OPEN_INSTALMENT_STATUSES)

    def overdue(self):
        return self.filter(status=InstalmentStatus.OVERDUE)

    def with_outstanding(self, name: str = "outstanding"):
        return self.annotate(**{name: outstanding_sum()})


class InstalmentStatus(models.TextChoices):
    PENDING = "pending", _("Not yet due")
    DUE = "due", _("Due")
    OVERDUE = "overdue", _("Overdue")
    PAID = "paid", _("Paid")
    SETTLED = "settled", _("Settled early")
    # Closed by the loan's write-off: what it still owed moved to write-off ledger rows.
    WRITTEN_OFF = "written_off", _("Written off")


# Still owed or still to come; batch SQL builds its status lists from this too.
OPEN_INSTALMENT_STATUSES = [
    InstalmentStatus.PENDING,
    InstalmentStatus.DUE,
    InstalmentStatus.OVERDUE,
]


class Instalment(models.Model):
    """One monthly instalment: what is due and what has been paid, per component."""

    Status = InstalmentStatus
    OPEN_STATUSES = OPEN_INSTALMENT_STATUSES

    # Indexed by (loan, number), unique.
    loan = models.ForeignKey(
        Loan,
        on_delete=models.CASCADE,
        related_name="instalments",
        verbose_name=_("loan"),
        db_index=False,
    )
    number = models.PositiveSmallIntegerField(_("number"))
    due_date = models.DateField(_("due date"))
    principal_due = models.DecimalField(_("principal"), **MONEY)
    interest_due = models.DecimalField(_("interest"), **MONEY)
    fee_due = models.DecimalField(_("fee"), default=ZERO, **MONEY)
    penalty_due = models.DecimalField(_("penalty interest"), default=ZERO, **MONEY)
    principal_paid = models.DecimalField(_("principal paid"), default=ZERO, **MONEY)
    interest_paid = models.DecimalField(_("interest paid"), default=ZERO, **MONEY)
    fee_paid = models.DecimalField(_("fee paid"), default=ZERO, **MONEY)
    penalty_paid = models.DecimalField(_("penalty paid"), default=ZERO, **MONEY)
    penalty_accrued_through = models.DateField(_("penalty accrued through"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    paid_on = models.DateField(_("paid on"), null=True, blank=True)

    objects = InstalmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        ordering = ["loan_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "number"], name="instalment_unique_number"),
            models.CheckConstraint(
                condition=models.Q(
                    principal_paid__lte=models.F("principal_due"),
                    interest_paid__lte=models.F("interest_due"),
                    fee_paid__lte=models.F("fee_due"),
                    penalty_paid__lte=models.F("penalty_due"),
                ),
                name="instalment_paid_within_due",
            ),
        ]
        indexes = [
            # End of day reads only the unpaid instalments falling due, by status then date:
            # those still pending or due on a date are found without reading the overdue ones.
            models.Index(
                fields=["status", "due_date"],
                name="instalment_unpaid_due",
                condition=models.Q(status__in=OPEN_INSTALMENT_STATUSES),
            ),
            # Penalty accrual, days past due, cure and the day's figures read only the overdue
            # instalments: a few percent of the table.
            models.Index(
                fields=["loan", "due_date"],
                name="instalment_overdue",
                condition=models.Q(status=InstalmentStatus.OVERDUE),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan} #{self.number} {self.due_date}"

    @property
    def principal_outstanding(self) -> Decimal:
        return self.principal_due - self.principal_paid

    @property
    def interest_outstanding(self) -> Decimal:
        return self.interest_due - self.interest_paid

    @property
    def penalty_outstanding(self) -> Decimal:
        return self.penalty_due - self.penalty_paid

    @property
    def fee_outstanding(self) -> Decimal:
        return self.fee_due - self.fee_paid

    @property
    def total_outstanding(self) -> Decimal:
        return (
            self.principal_outstanding
            + self.interest_outstanding
            + self.penalty_outstanding
            + self.fee_outstanding
        )

    @property
    def total_due(self) -> Decimal:
        return self.principal_due + self.interest_due + self.penalty_due + self.fee_due

    @property
    def total_paid(self) -> Decimal:
        return self.principal_paid + self.interest_paid + self.penalty_paid + self.fee_paid
