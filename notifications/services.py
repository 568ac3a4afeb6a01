"""Queueing and sending SMS. Every message is an outbox row first; sending claims rows so two
workers never send the same one."""

import secrets
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from loans.models import Borrower
from loans.models.borrowers import mobile_index

from .backends import get_backend
from .models import SmsMessage

# No 0/O or 1/I/L: people read these codes off a phone screen.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 5
MAX_ATTEMPTS = 5


def verification_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def compose(body: str, code: str) -> str:
    """Signature first, the verification code last (DESIGN §5)."""
    return f"{settings.SMS_SIGNATURE}{body}（短信核验码 {code}，可在官网 /verify/ 查验）"


def queue_sms(
    *,
    borrower: Borrower,
    template: str,
    body: str,
    purpose: str,
    dedupe_key: str,
    send_after: datetime | None = None,
) -> SmsMessage | None:
    """Put one message in the outbox; None when a message with this dedupe key exists."""
    code = verification_code()
    message = SmsMessage(
        borrower=borrower,
        phone=borrower.mobile,
        phone_index=mobile_index(borrower.mobile),
        template=template,
        text=compose(body, code),
        purpose=purpose,
        dedupe_key=dedupe_key,
        verification_code=code,
        send_after=send_after or timezone.now(),
    )
    with transaction.atomic():
        SmsMessage.objects.bulk_create([message], ignore_conflicts=True)
    # Ours only if the row carries our fresh code; otherwise the key was taken already.
    return SmsMessage.objects.filter(dedupe_key=dedupe_key, verification_code=code).first()


def send_messages(ids: Iterable[int]) -> int:
    """Claim the queued messages among `ids`, send them in one backend call, record results.
    Returns how many were sent."""
    with transaction.atomic():
        rows = SmsMessage.objects.filter(pk__in=list(ids), status=SmsMessage.Status.QUEUED)
        if connection.vendor == "postgresql":
            rows = rows.select_for_update(skip_locked=True)
        claimed = list(rows.select_related("borrower"))
        SmsMessage.objects.filter(pk__in=[m.pk for m in claimed]).update(
            status=SmsMessage.Status.SENDING, attempts=F("attempts") + 1
        )
    if not claimed:
        return 0
    results = get_backend().send(claimed)
    now = timezone.now()
    sent = 0
    for message, result in zip(claimed, results, strict=True):
        if result.ok:
            sent += 1
            SmsMessage.objects.filter(pk=message.pk).update(
                status=SmsMessage.Status.SENT, provider_id=result.provider_id, sent_at=now, error=""
            )
        else:
            retry = message.attempts + 1 < MAX_ATTEMPTS
            SmsMessage.objects.filter(pk=message.pk).update(
                status=SmsMessage.Status.QUEUED if retry else SmsMessage.Status.FAILED,
                error=result.error[:300],
            )
    return sent


def send_login_code(*, borrower: Borrower, code: str, request_id: str) -> SmsMessage | None:
    """An OTP goes out at once, whatever the hour: the borrower is waiting for it."""
    body = f"您的登录验证码为{code}，5分钟内有效。请勿将验证码告诉任何人。"
    message = queue_sms(
        borrower=borrower,
        template="login_code",
        body=body,
        purpose=SmsMessage.Purpose.TRANSACTIONAL,
        dedupe_key=f"login-code:{request_id}",
    )
    if message:
        transaction.on_commit(lambda: send_messages([message.pk]))
    return message
