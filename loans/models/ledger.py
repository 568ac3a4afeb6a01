"""Money movements: repayments and the append-only loan ledger."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from .borrowers import MONEY
from .lending import ZERO, Instalment, Loan


class Channel(models.TextChoices):
    BANK_CARD = "bank_card", _("Bank card")
    WECHAT_PAY = "wechat_pay", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")
    COUNTER = "counter", _("Counter")
    AUTO_DEBIT = "auto_debit", _("Auto-debit")


class Repayment(models.Model):
    """One payment received, posted once per external transaction id."""

    class Status(models.TextChoices):
        POSTED = "posted", _("Posted")
        REVERSED = "reversed", _("Reversed")

    loan = models.ForeignKey(
        Loan, on_delete=models.PROTECT, related_name="repayments", verbose_name=_("loan")
    )
    external_id = models.CharField(_("external transaction id"), max_length=64, unique=True)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    value_date = models.DateField(_("value date"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.POSTED
    )
    principal = models.DecimalField(_("to principal"), default=ZERO, **MONEY)
    interest = models.DecimalField(_("to interest"), default=ZERO, **MONEY)
    penalty = models.DecimalField(_("to penalty"), default=ZERO, **MONEY)
    fee = models.DecimalField(_("to fees"), default=ZERO, **MONEY)
    prepaid_principal = models.DecimalField(_("prepaid principal"), default=ZERO, **MONEY)
    unapplied = models.DecimalField(
        _("to refund"),
        default=ZERO,
        help_text=_("Received beyond everything owed; to be returned to the borrower."),
        **MONEY,
    )
    settled_loan = models.BooleanField(_("settled the loan"), default=False)
    # Received after the loan was written off: one RECOVERY ledger row, nothing allocated.
    recovery = models.BooleanField(_("recovery after write-off"), default=False, db_default=False)
    # The instalments and loan as they were before this posting, so a reversal is exact.
    before = models.JSONField(_("state before posting"), default=dict)
    posted_at = models.DateTimeField(_("posted at"), auto_now_add=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("posted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reversed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reversal_reason = models.CharField(_("reversal reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("repayment")
        verbose_name_plural = _("repayments")
        ordering = ["-posted_at", "-id"]
        indexes = [
            models.Index(fields=["loan", "-id"]),
            models.Index(fields=["value_date"], name="repayment_value_date"),
            # The list's order, and its filters in that order.
            models.Index(fields=["-posted_at", "-id"], name="repayment_order"),
            models.Index(fields=["status", "-posted_at"], name="repayment_status"),
            models.Index(fields=["channel", "-posted_at"], name="repayment_channel"),
            # The admin's search by transaction id is case-insensitive.
            models.Index(Upper("external_id"), name="repayment_external_id_upper"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} ¥{self.amount}"


class LoanTransaction(models.Model):
    """Append-only: every money movement with its split into principal, interest, penalty and
    fees. Instalment balances always equal what these rows say (`reconcile_loans`)."""

    class Kind(models.TextChoices):
        DISBURSEMENT = "disbursement", _("Disbursement")
        REPAYMENT = "repayment", _("Repayment")
        PENALTY_ACCRUAL = "penalty", _("Penalty accrual")
        # Penalty or interest forgiven (a hardship plan); the row says which and how much.
        WAIVER = "waiver", _("Waiver")
        REVERSAL = "reversal", _("Reversal")
        WRITE_OFF = "write_off", _("Write-off")
        # Money paid out to the borrower from what they paid beyond everything owed (to refund).
        REFUND = "refund", _("Refund")
        # Money received on a written-off loan: booked as a whole, not allocated to instalments.
        RECOVERY = "recovery", _("Recovery")
        # A schedule revision moving penalty already charged from one instalment to another of
        # the same loan (a new plan with fewer instalments): a loan's rows add up to nothing.
        RESCHEDULE = "reschedule", _("Schedule revision")

    # Indexed by (loan, kind).
    loan = models.ForeignKey(
        Loan,
        on_delete=models.PROTECT,
        related_name="transactions",
        verbose_name=_("loan"),
        db_index=False,
    )
    instalment = models.ForeignKey(
        Instalment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transactions",
        verbose_name=_("instalment"),
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    value_date = models.DateField(_("value date"))
    principal = models.DecimalField(_("principal"), default=ZERO, **MONEY)
    interest = models.DecimalField(_("interest"), default=ZERO, **MONEY)
    penalty = models.DecimalField(_("penalty"), default=ZERO, **MONEY)
    fee = models.DecimalField(_("fee"), default=ZERO, **MONEY)
    # Refunds and recoveries move money that belongs to no instalment component. The database
    # default keeps set-based inserts (end of day) that do not name it working.
    amount = models.DecimalField(
        _("other amount"),
        default=ZERO,
        db_default=ZERO,
        help_text=_("A refund paid out or a recovery received: money owed on no instalment."),
        **MONEY,
    )
    repayment = models.ForeignKey(
        Repayment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transactions",
        verbose_name=_("repayment"),
    )
    # A disbursement: the verified card the money was paid to.
    bank_card = models.ForeignKey(
        "loans.BankCard",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="loan_transactions",
        verbose_name=_("bank card"),
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("loan transaction")
        verbose_name_plural = _("loan transactions")
        ordering = ["loan_id", "id"]
        indexes = [
            models.Index(fields=["loan", "kind"]),
            models.Index(fields=["kind", "value_date"], name="loantransaction_kind_day"),
            # The list's kind filter in the list's order (by loan).
            models.Index(fields=["kind", "loan", "id"], name="loantransaction_kind_order"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value_date}"
