"""The contact log (every attempt, allowed or blocked), banned phrases and contact restrictions.

The log is append-only: no admin page edits or deletes it, and on PostgreSQL a trigger refuses
UPDATE and DELETE on its table (superusers included). A call's outcome is recorded later as a
row of its own (`CallOutcome`), so nothing already logged ever changes.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loans.models import Borrower
from notifications.models import SmsMessage

from .cases import CollectionCase


class Channel(models.TextChoices):
    CALL = "call", _("Phone call")
    SMS = "sms", _("SMS from a collector")
    AUTO_SMS = "auto_sms", _("Automated overdue SMS")
    VISIT = "visit", _("Home visit")


class ContactAttempt(models.Model):
    """One row per attempt to reach a borrower, whether the guard allowed it or not."""

    Channel = Channel

    borrower = models.ForeignKey(
        Borrower, on_delete=models.PROTECT, related_name="+", verbose_name=_("borrower")
    )
    # Empty for an automated SMS about a loan with no open case.
    case = models.ForeignKey(
        CollectionCase,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contacts",
        verbose_name=_("case"),
    )
    # Empty for the automated SMS.
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("when"), db_index=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    allowed = models.BooleanField(_("allowed"))
    # The guard rule that blocked it (debt_collection.guard), empty when allowed.
    blocked_rule = models.CharField(_("blocked by rule"), max_length=32, blank=True)
    # A call the guard allowed showed the borrower's own mobile to the collector once.
    mobile_revealed = models.BooleanField(_("mobile shown"), default=False)
    template_code = models.CharField(_("SMS template"), max_length=40, blank=True)
    sms = models.ForeignKey(
        SmsMessage,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("SMS"),
    )

    class Meta:
        verbose_name = _("contact attempt")
        verbose_name_plural = _("contact log")
        ordering = ["-at", "-id"]
        default_permissions = ("view",)  # no add, change or delete through any screen
        indexes = [
            # The guard's counts: one borrower's attempts today and in the last 7 days.
            models.Index(fields=["borrower", "at"], name="contact_by_borrower"),
            models.Index(fields=["case", "at"], name="contact_by_case"),
            # The contact log: its order, and its filters in that order.
            models.Index(fields=["-at", "-id"], name="contact_log_order"),
            models.Index(fields=["channel", "-at"], name="contact_log_channel"),
            models.Index(fields=["allowed", "-at"], name="contact_log_allowed"),
            models.Index(fields=["blocked_rule", "-at"], name="contact_log_rule"),
        ]

    def __str__(self) -> str:
        verdict = _("allowed") if self.allowed else self.blocked_rule
        at = timezone.localtime(self.at)
        return f"{self.get_channel_display()} {at:%Y-%m-%d %H:%M} ({verdict})"


class CallOutcome(models.Model):
    """What came of an allowed call, recorded by the collector afterwards (append-only too)."""

    class Outcome(models.TextChoices):
        NO_ANSWER = "no_answer", _("No answer")
        BUSY = "busy", _("Busy")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        RIGHT_PARTY = "right_party", _("Right-party contact")
        PROMISE = "promise", _("Promise to pay")
        REFUSED = "refused", _("Refused to pay")
        DISPUTE = "dispute", _("Dispute raised")
        PAID = "paid", _("Says already paid")

    # Someone answered: these count towards the connected-call cap.
    CONNECTED = [
        Outcome.WRONG_NUMBER,
        Outcome.RIGHT_PARTY,
        Outcome.PROMISE,
        Outcome.REFUSED,
        Outcome.DISPUTE,
        Outcome.PAID,
    ]
    # The borrower themself was reached (right-party contact rate).
    RIGHT_PARTY = [
        Outcome.RIGHT_PARTY,
        Outcome.PROMISE,
        Outcome.REFUSED,
        Outcome.DISPUTE,
        Outcome.PAID,
    ]

    attempt = models.OneToOneField(
        ContactAttempt,
        on_delete=models.PROTECT,
        related_name="outcome",
        verbose_name=_("call"),
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    note = models.TextField(_("note"), blank=True)
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )

    class Meta:
        verbose_name = _("call outcome")
        verbose_name_plural = _("call outcomes")
        default_permissions = ("view",)

    def __str__(self) -> str:
        return self.get_outcome_display()

    @property
    def connected(self) -> bool:
        return self.outcome in self.CONNECTED


class BannedPhrase(models.Model):
    """Words that never reach a borrower in free text (threats, insults, impersonation,
    contacting family or employer, 爆通讯录 "blasting the contact list"). Compliance edits it."""

    class Category(models.TextChoices):
        THREAT = "threat", _("Threat or violence")
        INSULT = "insult", _("Insult")
        IMPERSONATION = "impersonation", _("Impersonating courts, police or lawyers")
        THIRD_PARTY = "third_party", _("Contacting family, employer or friends")
        OTHER = "other", _("Other")

    phrase = models.CharField(_("phrase"), max_length=100, unique=True)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("banned phrase")
        verbose_name_plural = _("banned phrases")
        ordering = ["category", "phrase"]

    def __str__(self) -> str:
        return self.phrase


class ContactRestriction(models.Model):
    """The borrower asked for written contact only (or no contact on one channel): told to a
    member of staff, who records it, or asked for by the borrower in the portal (no staff)."""

    class Scope(models.TextChoices):
        CALLS = "calls", _("No calls")
        SMS = "sms", _("No collection SMS")
        WRITTEN_ONLY = "written_only", _("Written contact only (no calls, SMS or visits)")

    borrower = models.ForeignKey(
        Borrower,
        on_delete=models.PROTECT,
        related_name="contact_restrictions",
        verbose_name=_("borrower"),
    )
    scope = models.CharField(_("scope"), max_length=16, choices=Scope.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    since = models.DateTimeField(_("since"), auto_now_add=True)
    lifted_at = models.DateTimeField(_("lifted"), null=True, blank=True)
    # Empty when the borrower asked in the portal themself (`by_borrower`).
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    by_borrower = models.BooleanField(_("asked for by the borrower in the portal"), default=False)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lifted by"),
    )

    class Meta:
        verbose_name = _("contact restriction")
        verbose_name_plural = _("contact restrictions")
        ordering = ["-since"]
        constraints = [
            # Someone asked for it: a named member of staff, or the borrower themself.
            models.CheckConstraint(
                condition=models.Q(recorded_by__isnull=False) | models.Q(by_borrower=True),
                name="restriction_has_a_source",
            )
        ]
        indexes = [
            models.Index(
                fields=["borrower"],
                name="restriction_in_force",
                condition=models.Q(lifted_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return self.get_scope_display()
