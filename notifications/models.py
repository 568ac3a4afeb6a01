"""短信 (SMS): every message is a row in the outbox before it is sent."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from loans.fields import EncryptedTextField
from loans.models import Borrower


class SmsMessage(models.Model):
    class Purpose(models.TextChoices):
        TRANSACTIONAL = "transactional", _("Transactional")
        COLLECTION = "collection", _("Collection")
        MARKETING = "marketing", _("Marketing")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    borrower = models.ForeignKey(
        Borrower,
        on_delete=models.PROTECT,
        related_name="sms_messages",
        verbose_name=_("borrower"),
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
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS outbox")
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["send_after"],
                name="sms_waiting_to_send",
                condition=models.Q(status="queued"),
            ),
            models.Index(fields=["phone_index", "verification_code"], name="sms_verification"),
            models.Index(fields=["borrower", "purpose", "created_at"], name="sms_borrower_purpose"),
        ]

    def __str__(self) -> str:
        return f"{self.template} → {self.masked_phone}"

    @property
    def masked_phone(self) -> str:
        from loans.kyc import mask_mobile

        return mask_mobile(self.phone)
