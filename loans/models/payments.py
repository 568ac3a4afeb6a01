"""自动扣款 (auto-debit): bound bank cards, attempts to collect from them, and the log of every
call the payment gateway's webhook received."""

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .. import crypto
from ..fields import EncryptedTextField
from .borrowers import MONEY, Borrower
from .ledger import Repayment
from .lending import Loan


def card_number_index(digits: str) -> str:
    """Blind index of a card number (digits only): finds a card without decrypting any."""
    return crypto.blind_index(digits, purpose="bank_card")


class BankCardQuerySet(models.QuerySet):
    def usable(self):
        """Cards money may be paid to or charged from: still bound, and proved by the holder."""
        return self.filter(unbound_at__isnull=True, verified_at__isnull=False)


class BankCard(models.Model):
    """A card the borrower bound and proved (绑卡): disbursements are paid to it and auto-debit
    charges it, through the opaque token the gateway gave us for it.

    The full number is kept encrypted (refunds and disbursements name it to the gateway), with
    a blind index so one card is bound to one account at a time; screens show `masked` only.
    """

    borrower = models.ForeignKey(
        Borrower, on_delete=models.PROTECT, related_name="bank_cards", verbose_name=_("borrower")
    )
    bank_name = models.CharField(_("bank"), max_length=50)
    # Empty only on cards bound before numbers were kept (migration 0011).
    number = EncryptedTextField(_("card number"), blank=True)
    number_index = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    holder_name = EncryptedTextField(_("card holder"), blank=True)
    last4 = models.CharField(
        _("last 4 digits"),
        max_length=4,
        validators=[RegexValidator(r"^[0-9]{4}$", _("Exactly 4 digits."))],
    )
    gateway_token = models.CharField(_("gateway token"), max_length=128, unique=True)
    is_default = models.BooleanField(_("default card"), default=False)
    bound_at = models.DateTimeField(_("bound at"), auto_now_add=True)
    # When the holder proved the card (the code texted to their mobile, or the gateway's own
    # check). Nothing is paid to or charged from a card without it.
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    unbound_at = models.DateTimeField(_("unbound at"), null=True, blank=True)

    objects = BankCardQuerySet.as_manager()

    class Meta:
        verbose_name = _("bank card")
        verbose_name_plural = _("bank cards")
        ordering = ["-bound_at", "-id"]
        constraints = [
            # Auto-debit charges "the" default card: there is at most one per borrower.
            models.UniqueConstraint(
                fields=["borrower"],
                condition=models.Q(is_default=True, unbound_at__isnull=True),
                name="bankcard_one_default_per_borrower",
            ),
            # A card is bound to one account at a time.
            models.UniqueConstraint(
                fields=["number_index"],
                condition=models.Q(unbound_at__isnull=True) & ~models.Q(number_index=""),
                name="bankcard_number_bound_once",
            ),
            # The default card is where money is paid: it must have been proved.
            models.CheckConstraint(
                condition=models.Q(is_default=False) | models.Q(verified_at__isnull=False),
                name="bankcard_default_is_verified",
            ),
        ]

    def __str__(self) -> str:
        return self.masked

    def save(self, *args, **kwargs):
        # The index and the last 4 digits always follow the stored number.
        if self.number:
            self.number_index = card_number_index(self.number)
            self.last4 = self.number[-4:]
        super().save(*args, **kwargs)

    @property
    def masked(self) -> str:
        """``招商银行 ****1234``."""
        return f"{self.bank_name} ****{self.last4}"

    @property
    def is_bound(self) -> bool:
        return self.unbound_at is None

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class CardBinding(models.Model):
    """A card the borrower asked to bind, waiting for the 6-digit code texted to their mobile
    (like 微信's card binding; the sandbox texts the code itself). Only a keyed hash of the code
    is kept. The right code within its life and tries makes the BankCard; the number is then
    wiped from here."""

    borrower = models.ForeignKey(
        Borrower,
        on_delete=models.CASCADE,
        related_name="card_bindings",
        verbose_name=_("borrower"),
    )
    bank_name = models.CharField(_("bank"), max_length=50)
    number = EncryptedTextField(_("card number"), blank=True)
    number_index = models.CharField(max_length=64, editable=False, db_index=True)
    holder_name = EncryptedTextField(_("card holder"))
    last4 = models.CharField(_("last 4 digits"), max_length=4)
    make_default = models.BooleanField(_("make default"), default=True)
    code_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField(_("code expires at"))
    attempts = models.PositiveSmallIntegerField(_("tries"), default=0)
    # Set when the right code was typed, or when a newer code replaced this one.
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    card = models.OneToOneField(
        BankCard,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="binding",
        verbose_name=_("bank card"),
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("card binding")
        verbose_name_plural = _("card bindings")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["borrower", "-created_at"])]

    def __str__(self) -> str:
        return self.masked

    @property
    def masked(self) -> str:
        return f"{self.bank_name} ****{self.last4}"


class DebitAttempt(models.Model):
    """One try to collect from a card. A loan is charged at most once per business date and
    slot (the unique constraint), and `gateway_ref` is the idempotency key sent to the gateway.

    `business_date` is the date of the run that made the attempt: the due date for the two
    due-date slots, the day after it for `next_morning`. A successful collection is posted with
    that date as its value date.
    """

    class Slot(models.TextChoices):
        DUE_MORNING = "due_morning", _("Due date, early morning")
        DUE_EVENING = "due_evening", _("Due date, 17:00")
        NEXT_MORNING = "next_morning", _("Next morning")
        # Not a slot: the borrower paying from the portal (any number a day).
        PORTAL = "portal", _("Borrower, in the portal")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    loan = models.ForeignKey(
        Loan, on_delete=models.PROTECT, related_name="debit_attempts", verbose_name=_("loan")
    )
    bank_card = models.ForeignKey(
        BankCard,
        on_delete=models.PROTECT,
        related_name="debit_attempts",
        verbose_name=_("bank card"),
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    slot = models.CharField(_("slot"), max_length=12, choices=Slot.choices, db_index=True)
    business_date = models.DateField(_("business date"), db_index=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=Status.choices,
        default=Status.REQUESTED,
        db_index=True,
    )
    gateway_ref = models.CharField(_("gateway reference"), max_length=64, unique=True)
    failure_reason = models.CharField(_("failure reason"), max_length=200, blank=True)
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    repayment = models.ForeignKey(
        Repayment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="debit_attempts",
        verbose_name=_("repayment"),
    )

    class Meta:
        verbose_name = _("auto-debit attempt")
        verbose_name_plural = _("auto-debit attempts")
        ordering = ["-business_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["loan", "business_date", "slot"],
                condition=~models.Q(slot="portal"),
                name="debitattempt_once_per_slot",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="debitattempt_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.gateway_ref

    @staticmethod
    def make_gateway_ref(*, loan_id: int, business_date, slot: str) -> str:
        return f"DA-{loan_id}-{business_date:%Y%m%d}-{slot}"


class GatewayNotification(models.Model):
    """Every call the gateway webhook received, valid or not, with what was done with it.
    Append-only.

    `event_id` is the gateway's id of the event; it is stored only once the signature has been
    verified (a forged call cannot claim a real event's id) and is unique among accepted
    notifications, so each event takes effect once while its re-deliveries are still logged.
    """

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        DUPLICATE = "duplicate", _("Duplicate (no effect)")
        FORGED = "forged", _("Forged signature")
        STALE = "stale", _("Stale timestamp")
        MALFORMED = "malformed", _("Malformed")
        UNKNOWN_ATTEMPT = "unknown_attempt", _("Unknown attempt")
        REFUSED = "refused", _("Refused by the ledger")

    MAX_BODY_CHARS = 8000

    # NULL, not "": the call carried no event id we could trust (unsigned, forged, malformed).
    event_id = models.CharField(  # noqa: DJ001
        _("event id"), max_length=64, null=True, blank=True
    )
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    remote_ip = models.GenericIPAddressField(_("remote IP"), null=True, blank=True)
    body = models.TextField(_("raw body"), blank=True)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, db_index=True)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    debit_attempt = models.ForeignKey(
        DebitAttempt,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("auto-debit attempt"),
    )

    class Meta:
        verbose_name = _("gateway notification")
        verbose_name_plural = _("gateway notifications")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_id"],
                condition=models.Q(event_id__isnull=False, outcome="accepted"),
                name="gatewaynotification_event_once",
            ),
        ]
        indexes = [models.Index(fields=["event_id"], name="gatewaynotification_event")]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} {self.event_id or '—'}"
