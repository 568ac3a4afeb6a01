"""Portal login by one-time code: 6 digits, 5 minutes, at most 5 tries, at most one code a
minute and ten a day per phone (DESIGN §7).

Both steps answer the same way whether or not the phone belongs to a borrower, so the page
cannot be used to find out who borrows from us.
"""

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import kyc, signals
from ..models import Borrower, LoginCode
from ..models.borrowers import mobile_index

CODE_LIFETIME = timedelta(minutes=5)
MAX_TRIES = 5
MIN_INTERVAL = timedelta(minutes=1)
MAX_PER_DAY = 10


def _hash(code: str, index: str) -> str:
    key = settings.PII_BLIND_INDEX_KEY.encode()
    return hmac.new(key, f"login:{index}:{code}".encode(), hashlib.sha256).hexdigest()


def _clean_mobile(mobile: str) -> str:
    try:
        return kyc.normalize_mobile(mobile)
    except kyc.KycError as exc:
        from ..validators import kyc_message

        raise ValidationError({"mobile": kyc_message(exc.code)}) from exc


@transaction.atomic
def request_login_code(*, mobile: str, ip_address: str | None = None) -> None:
    mobile = _clean_mobile(mobile)
    index = mobile_index(mobile)
    now = timezone.now()
    recent = LoginCode.objects.select_for_update().filter(
        mobile_index=index, created_at__gte=now - timedelta(days=1)
    )
    if recent.filter(created_at__gte=now - MIN_INTERVAL).exists():
        raise ValidationError(_("A code was sent less than a minute ago. Please wait a moment."))
    if recent.count() >= MAX_PER_DAY:
        raise ValidationError(_("Too many codes today for this number. Please try tomorrow."))
    borrower = Borrower.objects.filter(mobile_index=index).first()
    code = f"{secrets.randbelow(1_000_000):06d}"
    LoginCode.objects.create(
        mobile_index=index,
        borrower=borrower,
        code_hash=_hash(code, index),
        expires_at=now + CODE_LIFETIME,
        ip_address=ip_address,
    )
    if borrower is not None:
        request_id = uuid.uuid4().hex
        transaction.on_commit(
            lambda: signals.login_code_requested.send(
                sender=LoginCode, borrower=borrower, code=code, request_id=request_id
            )
        )


def verify_login_code(*, mobile: str, code: str) -> Borrower:
    """The borrower whose latest code this is, or a refusal. A wrong try is counted (and
    committed) before refusing, so a rolled-back count cannot allow endless guessing."""
    mobile = _clean_mobile(mobile)
    index = mobile_index(mobile)
    borrower = None
    with transaction.atomic():
        latest = (
            LoginCode.objects.select_for_update()
            .filter(mobile_index=index, used_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        now = timezone.now()
        if latest and latest.expires_at >= now and latest.attempts < MAX_TRIES:
            latest.attempts += 1
            matches = hmac.compare_digest(latest.code_hash, _hash((code or "").strip(), index))
            if matches and latest.borrower_id:
                latest.used_at = now
                borrower = latest.borrower
            latest.save(update_fields=["attempts", "used_at"])
    if borrower is None:
        raise ValidationError({"code": _("The code is wrong or has expired. Ask for a new one.")})
    return borrower
