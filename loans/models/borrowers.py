"""借款人 (borrowers), their consents, credit bureau report summaries and PII access log."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import crypto, kyc, scoring
from ..fields import EncryptedTextField

MONEY = {"max_digits": 14, "decimal_places": 2}
RATE = {"max_digits": 8, "decimal_places": 6}  # daily rates (日利率) such as 0.000500


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class CivilCapacity(models.TextChoices):
    """民事行为能力 (civil capacity): only a person with full capacity can sign a loan.

    Labels for the values the eligibility rules know (``scoring.CIVIL_CAPACITIES``)."""

    FULL = scoring.FULL_CAPACITY, _("Full")
    LIMITED = scoring.LIMITED_CAPACITY, _("Limited")
    NONE = scoring.NO_CAPACITY, _("None")


if tuple(CivilCapacity.values) != scoring.CIVIL_CAPACITIES:
    raise ImproperlyConfigured("CivilCapacity must label exactly scoring.CIVIL_CAPACITIES")


def id_number_index(id_number: str) -> str:
    return crypto.blind_index(id_number.strip().upper(), purpose="id")


def mobile_index(mobile: str) -> str:
    return crypto.blind_index(mobile.strip(), purpose="mobile")


# A masked address keeps about as much as a province and city (贵州省贵阳市): enough to tell
# which branch a visit belongs to, too little to find the door.
ADDRESS_KEPT_CHARS = 6


def mask_address(address: str) -> str:
    """``贵州省贵阳市****``: the first few characters, then a fixed run of stars (the length of
    the rest would say something about it)."""
    address = (address or "").strip()
    if not address:
        return ""
    if len(address) <= ADDRESS_KEPT_CHARS:
        return "****"
    return address[:ADDRESS_KEPT_CHARS] + "****"


class Language(models.TextChoices):
    """The borrower's language: their portal pages and their SMS use it."""

    CHINESE = "zh-hans", "中文"
    ENGLISH = "en", "English"


class Borrower(models.Model):
    name = EncryptedTextField(_("name"))
    id_number = EncryptedTextField(_("resident ID number"))
    id_number_index = models.CharField(max_length=64, unique=True, editable=False)
    mobile = EncryptedTextField(_("mobile"))
    mobile_index = models.CharField(max_length=64, unique=True, editable=False)
    # Where a home visit (上门) would go; empty until someone records it.
    # db_default: set-based inserts (benchmarks, batch loads) leave it empty, not NULL.
    address = EncryptedTextField(_("residential address"), blank=True, default="", db_default="")
    # Derived from the ID number on save, never typed.
    birth_date = models.DateField(_("birth date"), editable=False)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, editable=False)
    region_code = models.CharField(_("region code"), max_length=6, editable=False)
    mainland_resident = models.BooleanField(_("mainland resident"), editable=False)

    id_expiry_date = models.DateField(
        _("ID document expiry"), null=True, blank=True, help_text=_("Empty for a long-term ID.")
    )
    employer = models.CharField(_("employer"), max_length=200, blank=True)
    occupation = models.CharField(_("occupation"), max_length=100, blank=True)
    monthly_income = models.DecimalField(
        _("monthly income"), validators=[MinValueValidator(Decimal("0"))], **MONEY
    )
    monthly_debt_payments = models.DecimalField(
        _("monthly debt payments"),
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        **MONEY,
    )
    civil_capacity = models.CharField(
        _("civil capacity"),
        max_length=10,
        choices=CivilCapacity.choices,
        default=CivilCapacity.FULL,
    )
    account_activity_score = models.PositiveSmallIntegerField(
        _("account activity score"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text=_("0–100: how actively the WeChat/bank account is used."),
    )
    # The borrower's own choices in the portal. db_default: set-based inserts leave them at
    # the defaults.
    language = models.CharField(
        _("language"),
        max_length=7,
        choices=Language.choices,
        default=Language.CHINESE,
        db_default=Language.CHINESE,
    )
    auto_debit = models.BooleanField(
        _("auto-debit on"),
        default=True,
        db_default=True,
        help_text=_("Collect what is due from the default card on the due date."),
    )
    early_reminders = models.BooleanField(
        _("early due reminders"),
        default=True,
        db_default=True,
        help_text=_(
            "Text the T−3 and T−1 reminders. The due-date reminder and every message the law "
            "requires are always sent."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("borrower")
        verbose_name_plural = _("borrowers")
        ordering = ["-id"]
        permissions = [("reveal_pii", _("Can reveal full name, ID number and mobile"))]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(monthly_income__gte=0, monthly_debt_payments__gte=0),
                name="borrower_money_non_negative",
            )
        ]

    def __str__(self) -> str:
        return f"{self.masked_name} {self.masked_mobile}"

    def save(self, *args, **kwargs):
        self.derive_from_identity()
        super().save(*args, **kwargs)

    def derive_from_identity(self) -> None:
        """Keep blind indexes and ID-derived facts in step with the plaintext."""
        parsed = kyc.parse_resident_id(self.id_number, today=timezone.localdate(), check_age=False)
        self.id_number = parsed.number
        self.birth_date = parsed.birth_date
        self.sex = parsed.sex
        self.region_code = parsed.region_code
        self.mainland_resident = parsed.mainland
        self.id_number_index = id_number_index(parsed.number)
        self.mobile_index = mobile_index(self.mobile)

    @property
    def masked_name(self) -> str:
        return kyc.mask_name(self.name)

    @property
    def masked_id_number(self) -> str:
        return kyc.mask_id_number(self.id_number)

    @property
    def masked_mobile(self) -> str:
        return kyc.mask_mobile(self.mobile)

    @property
    def masked_address(self) -> str:
        return mask_address(self.address)


class Consent(models.Model):
    """A borrower's consent to a specific version of a text (PIPL Art. 14, credit bureau rules)."""

    class Kind(models.TextChoices):
        DATA_PROCESSING = "data_processing", _("Personal data processing")
        CREDIT_QUERY = "credit_query", _("Credit bureau query")

    borrower = models.ForeignKey(
        Borrower, on_delete=models.CASCADE, related_name="consents", verbose_name=_("borrower")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    text_version = models.CharField(_("text version"), max_length=20)
    consented_at = models.DateTimeField(_("consented at"))
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-consented_at"]
        indexes = [models.Index(fields=["borrower", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.text_version}"


class CreditReport(models.Model):
    """征信报告 (credit bureau report): the summary that the eligibility rules read."""

    borrower = models.ForeignKey(
        Borrower,
        on_delete=models.CASCADE,
        related_name="credit_reports",
        verbose_name=_("borrower"),
    )
    pulled_at = models.DateTimeField(_("pulled at"))
    source = models.CharField(_("source"), max_length=40, default="sandbox")
    current_overdue_accounts = models.PositiveSmallIntegerField(_("accounts overdue now"))
    worst_dpd_24m = models.PositiveIntegerField(_("worst days past due in 24 months"))
    inquiries_3m = models.PositiveSmallIntegerField(_("credit inquiries in 3 months"))

    class Meta:
        verbose_name = _("credit report")
        verbose_name_plural = _("credit reports")
        ordering = ["-pulled_at"]
        get_latest_by = "pulled_at"

    def __str__(self) -> str:
        return f"{self.source} {timezone.localtime(self.pulled_at):%Y-%m-%d}"


class PiiAccessLog(models.Model):
    """Every reveal of a full ID number, name or mobile. Append-only."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("staff user")
    )
    borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, verbose_name=_("borrower"))
    field = models.CharField(_("field"), max_length=20)
    reason = models.CharField(_("reason"), max_length=200)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data access log")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.user} → {self.field} #{self.borrower_id}"


class LoginCode(models.Model):
    """A one-time code (验证码) for a mobile: to log in, or to prove the mobile before
    registering. Only a keyed hash of the code is kept. No link to a borrower: whose number it
    is gets looked up when the code is used, so writing one is the same work for any number."""

    mobile_index = models.CharField(max_length=64, db_index=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("login code")
        verbose_name_plural = _("login codes")
        indexes = [models.Index(fields=["mobile_index", "-created_at"])]

    def __str__(self) -> str:
        return f"login code {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"


class RegistrationAttempt(models.Model):
    """Every application from the portal by someone who proved their mobile, and how it ended.

    The portal's answer to a refusal is the same whatever the reason (it must not tell anyone
    whether an ID number already belongs to a borrower); staff see the reason here. Only blind
    indexes are kept, never a name, ID number or mobile in clear. Staff see it read-only.
    """

    class Outcome(models.TextChoices):
        OK = "ok", _("Registered")
        ALREADY_REGISTERED = "already_registered", _("Mobile already registered: signed in")
        ID_TAKEN = "id_taken", _("ID number belongs to another borrower")
        IDENTITY_MISMATCH = "identity_mismatch", _("Name does not match the ID number")
        CHECK_UNAVAILABLE = "check_unavailable", _("Identity check unavailable")

    class IdentityResult(models.TextChoices):
        MATCH = "match", _("Match")
        NO_MATCH = "no_match", _("No match")
        NOT_CHECKED = "not_checked", _("Not checked")

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    identity_result = models.CharField(
        _("identity check"),
        max_length=12,
        choices=IdentityResult.choices,
        default=IdentityResult.NOT_CHECKED,
    )
    identity_source = models.CharField(_("identity check source"), max_length=40, blank=True)
    identity_reference = models.CharField(_("identity check reference"), max_length=80, blank=True)
    mobile_index = models.CharField(max_length=64, db_index=True, editable=False)
    id_number_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    # The new borrower (ok), or the borrower whose mobile or ID number it was.
    borrower = models.ForeignKey(
        Borrower,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="registration_attempts",
        verbose_name=_("borrower"),
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("registration attempt")
        verbose_name_plural = _("registration attempts")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} {timezone.localtime(self.at):%Y-%m-%d %H:%M}"
