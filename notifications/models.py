"""短信 (SMS): editable templates, the reminder cadence, and the outbox every message passes
through before it is sent."""

from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.template import Context, Template, TemplateSyntaxError
from django.utils.translation import gettext_lazy as _

from loans.fields import EncryptedTextField
from loans.models import Borrower


class Purpose(models.TextChoices):
    TRANSACTIONAL = "transactional", _("Transactional")
    COLLECTION = "collection", _("Collection")
    MARKETING = "marketing", _("Marketing")


class SmsStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class SmsMessage(models.Model):
    Purpose = Purpose  # so callers can say SmsMessage.Purpose.COLLECTION
    Status = SmsStatus

    # Empty only for the code that proves a new applicant's mobile: no borrower exists yet.
    borrower = models.ForeignKey(
        Borrower,
        on_delete=models.PROTECT,
        related_name="sms_messages",
        verbose_name=_("borrower"),
        null=True,
        blank=True,
    )
    phone = EncryptedTextField(_("phone"))
    # Keyed hash of the phone: the verification page finds messages without decrypting.
    phone_index = models.CharField(max_length=64, db_index=True, editable=False)
    template = models.CharField(_("template"), max_length=40)
    text = models.TextField(_("text"))
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    # Makes each message exactly-once: a re-run, a retry or a second cluster never sends twice.
    dedupe_key = models.CharField(_("dedupe key"), max_length=120, unique=True)
    verification_code = models.CharField(_("verification code"), max_length=8)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    provider_id = models.CharField(_("provider message id"), max_length=80, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    send_after = models.DateTimeField(_("not before"))
    # Reminders, overdue and collection messages wait out the night; OTP codes and
    # confirmations of what the borrower has just done do not.
    obeys_quiet_hours = models.BooleanField(_("waits for daytime"), default=True)
    # A login or card-binding code is a secret: the row keeps the text with the code masked
    # and the code itself only goes into the provider request, once, from memory.
    secret_masked = models.BooleanField(
        _("code masked"), default=False, db_default=False, editable=False
    )
    # When a dispatcher handed the queued row to a task, or a sender claimed it (sending):
    # a claim older than its expiry belongs to a process that died (services.py).
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS outbox")
        ordering = ["-id"]
        # Run now (/admin/jobs/): queue the day's reminders, or a dispatch, outside the schedule.
        permissions = [
            ("run_reminders", _("Can run the SMS reminders now")),
            ("run_dispatch", _("Can run the SMS dispatch now")),
        ]
        indexes = [
            models.Index(
                fields=["send_after"],
                name="sms_waiting_to_send",
                condition=models.Q(status=SmsStatus.QUEUED),
            ),
            # Rows a dead process left in sending, found by the age of their claim.
            models.Index(
                fields=["claimed_at"],
                name="sms_in_doubt",
                condition=models.Q(status=SmsStatus.SENDING),
            ),
            models.Index(fields=["phone_index", "verification_code"], name="sms_verification"),
            models.Index(fields=["borrower", "purpose", "created_at"], name="sms_borrower_purpose"),
            # The outbox's filters, each in its order (newest first).
            models.Index(fields=["status", "-id"], name="sms_status_order"),
            models.Index(fields=["purpose", "-id"], name="sms_purpose_order"),
            models.Index(fields=["template", "-id"], name="sms_template_order"),
            # Delivery receipts find their message by the provider's serial number.
            models.Index(
                fields=["provider_id"], name="sms_provider_id", condition=~models.Q(provider_id="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template} → {self.masked_phone}"

    @property
    def masked_phone(self) -> str:
        from loans.kyc import mask_mobile

        return mask_mobile(self.phone)


@lru_cache(maxsize=64)
def _compiled(body: str) -> Template:
    """Compiling costs several times rendering; a day's reminders use a handful of texts. Keyed
    by the text itself, so a staff edit is a new entry, never a stale one."""
    return Template(body)


class _RecordingContext(Context):
    """A template context that notes every name looked up and not found."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.missing: set[str] = set()

    def __getitem__(self, key):
        try:
            return super().__getitem__(key)
        except KeyError:
            self.missing.add(key)
            raise


class SmsTemplate(models.Model):
    """A message text in Django template syntax, Chinese with an English variant. The
    signature and the verification code are added around it when a message is made.

    `sample_context` is what the code sending it provides (set by the migration that made the
    template, read-only in the admin), plus `common_context()`: a text may use those names
    and no others."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    body_zh = models.TextField(_("text (Chinese)"))
    body_en = models.TextField(_("text (English)"))
    # What the template may use, with sample values for the preview and the save-time check.
    sample_context = models.JSONField(_("sample data"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("SMS template")
        verbose_name_plural = _("SMS templates")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def common_context() -> dict:
        """What every template is rendered with, whatever sends it."""
        return {"service_phone": settings.SERVICE_PHONE}

    def render(self, context: dict, *, language: str = "zh-hans") -> str:
        return self._render(Context(context, autoescape=False), language=language)

    def _render(self, context: Context, *, language: str) -> str:
        body = self.body_en if language == "en" else self.body_zh
        return _compiled(body).render(context).strip()

    def clean(self) -> None:
        errors = {}
        provided = {**self.common_context(), **(self.sample_context or {})}
        for field, language in (("body_zh", "zh-hans"), ("body_en", "en")):
            context = _RecordingContext(provided, autoescape=False)
            try:
                text = self._render(context, language=language)
            except TemplateSyntaxError as exc:
                errors[field] = _("The template does not render: %(error)s") % {"error": exc}
                continue
            except Exception as exc:  # noqa: BLE001 - any rendering failure blocks the save
                errors[field] = _("The template does not render: %(error)s") % {"error": exc}
                continue
            if context.missing:
                # A misspelt name ({{ totl }}) would render as nothing in every message.
                errors[field] = _(
                    "This template cannot use %(names)s: the messages it sends provide only "
                    "%(provided)s."
                ) % {
                    "names": ", ".join(sorted(context.missing)),
                    "provided": ", ".join(sorted(provided)),
                }
            elif not text:
                errors[field] = _("The text renders empty with the sample data.")
            elif "http" in text.lower() or "www." in text.lower():
                errors[field] = _("Messages never contain links (scam texts do).")
        if errors:
            raise ValidationError(errors)


class CadenceStep(models.Model):
    """When reminders go out, in days from the due date (−3 = three days before). Overdue
    steps may repeat every N days after the last fixed step while the loan stays overdue."""

    class Kind(models.TextChoices):
        DUE = "due", _("Due reminder")
        OVERDUE = "overdue", _("Overdue notice")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    offset_days = models.SmallIntegerField(_("days from the due date"))
    repeat_every_days = models.PositiveSmallIntegerField(
        _("then repeat every (days)"),
        null=True,
        blank=True,
        help_text=_("Only for the last overdue step: keep reminding while overdue."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reminder step")
        verbose_name_plural = _("reminder cadence")
        ordering = ["kind", "offset_days"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "offset_days"], name="cadence_step_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} T{self.offset_days:+d}"

    def clean(self) -> None:
        if self.offset_days is None:
            return  # refused beside its field already
        if self.kind == self.Kind.DUE and self.offset_days > 0:
            raise ValidationError(
                {"offset_days": _("Due reminders go out on or before the due date.")}
            )
        if self.kind == self.Kind.OVERDUE and self.offset_days < 1:
            raise ValidationError(
                {"offset_days": _("Overdue notices start the day after the due date.")}
            )
        if self.repeat_every_days is not None and self.kind != self.Kind.OVERDUE:
            raise ValidationError({"repeat_every_days": _("Only overdue notices repeat.")})
