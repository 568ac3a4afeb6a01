"""One-time codes texted to a mobile: 6 digits, 5 minutes, at most 5 tries, at most one code a
minute and ten a day per phone, and a cap per IP address (DESIGN §7).

The same codes serve two purposes. Logging in: only a borrower's number is texted. Proving a
mobile before registering: every number is texted; the code proves the person holds the phone,
and if it turns out to be a borrower's they are simply signed in.

Every answer is the same whether or not the phone belongs to a borrower, and so is the work
done before answering: the text goes out after the response (`loans.after_response`), so not
even the time of the answer tells who borrows from us.
"""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import kyc, signals
from ..after_response import run_after_response
from ..models import Borrower, LoginCode
from ..models.borrowers import mobile_index
from ..ratelimit import RateLimited, within_limit
from ..validators import kyc_message

CODE_LIFETIME = timedelta(minutes=5)
MAX_TRIES = 5
MIN_INTERVAL = timedelta(minutes=1)
MAX_PER_DAY = 10
# How long a proven mobile may be used to register before it must be proven again.
MOBILE_PROOF_LIFETIME = timedelta(minutes=30)


@dataclass(frozen=True)
class ProvenMobile:
    """A mobile whose holder has just typed the code we texted to it."""

    mobile: str
    mobile_index: str
    borrower: Borrower | None  # whose number it is, if anyone's
    proven_at: datetime


def _hash(code: str, index: str) -> str:
    key = settings.PII_BLIND_INDEX_KEY.encode()
    return hmac.new(key, f"login:{index}:{code}".encode(), hashlib.sha256).hexdigest()


def _clean_mobile(mobile: str) -> str:
    try:
        return kyc.normalize_mobile(mobile)
    except kyc.KycError as exc:
        raise ValidationError({"mobile": kyc_message(exc.code)}) from exc


def _check_ip_limit(ip_address: str | None) -> None:
    # Per phone the code table limits sends; this stops one client texting many numbers.
    if ip_address and not within_limit(
        f"portal-codes:ip:{ip_address}", limit=settings.PORTAL_CODES_PER_IP_PER_HOUR, seconds=3600
    ):
        raise RateLimited(_("Too many codes requested from your network. Please try later."))


def request_login_code(*, mobile: str, ip_address: str | None = None) -> None:
    """Text a login code if the number is a borrower's; the caller answers the same either way."""
    _request_code(mobile=mobile, ip_address=ip_address, text_unregistered=False)


def request_registration_code(*, mobile: str, ip_address: str | None = None) -> None:
    """Text a code to prove the mobile before registering, whoever's number it is: a borrower's
    number gets their ordinary login code."""
    _request_code(mobile=mobile, ip_address=ip_address, text_unregistered=True)


@transaction.atomic
def _request_code(*, mobile: str, ip_address: str | None, text_unregistered: bool) -> None:
    mobile = _clean_mobile(mobile)
    _check_ip_limit(ip_address)
    index = mobile_index(mobile)
    now = timezone.now()
    recent = LoginCode.objects.select_for_update().filter(
        mobile_index=index, created_at__gte=now - timedelta(days=1)
    )
    if recent.filter(created_at__gte=now - MIN_INTERVAL).exists():
        raise ValidationError(_("A code was sent less than a minute ago. Please wait a moment."))
    if recent.count() >= MAX_PER_DAY:
        raise ValidationError(_("Too many codes today for this number. Please try tomorrow."))
    borrower_id = _borrower_id(index)
    code = f"{secrets.randbelow(1_000_000):06d}"
    LoginCode.objects.create(
        mobile_index=index,
        code_hash=_hash(code, index),
        expires_at=now + CODE_LIFETIME,
        ip_address=ip_address,
    )
    request_id = uuid.uuid4().hex
    if borrower_id is not None:

        def text():
            borrower = Borrower.objects.filter(pk=borrower_id).first()
            if borrower is not None:
                signals.login_code_requested.send(
                    sender=LoginCode, borrower=borrower, code=code, request_id=request_id
                )

    elif text_unregistered:

        def text():
            signals.registration_code_requested.send(
                sender=LoginCode, mobile=mobile, code=code, request_id=request_id
            )

    else:
        return
    transaction.on_commit(lambda: run_after_response(text))


def _borrower_id(index: str) -> int | None:
    # Only the id: loading (and decrypting) the borrower waits until after the answer.
    return Borrower.objects.filter(mobile_index=index).values_list("pk", flat=True).first()


def _use_code(*, index: str, code: str, login: bool) -> tuple[LoginCode | None, int | None]:
    """The latest code for this number if `code` is it (and it is still good), now used up,
    and the borrower whose number it is. A login needs such a borrower; it is looked up for
    every try, so the answer takes the same work for any number. A wrong try is counted (and
    committed) before refusing, so a rolled-back count cannot allow endless guessing."""
    with transaction.atomic():
        latest = (
            LoginCode.objects.select_for_update()
            .filter(mobile_index=index, used_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        borrower_id = _borrower_id(index)
        now = timezone.now()
        if latest is None or latest.expires_at < now or latest.attempts >= MAX_TRIES:
            return None, borrower_id
        latest.attempts += 1
        matches = hmac.compare_digest(latest.code_hash, _hash((code or "").strip(), index))
        matches = matches and (borrower_id is not None or not login)
        if matches:
            latest.used_at = now
        latest.save(update_fields=["attempts", "used_at"])
    return (latest if matches else None), borrower_id


def _wrong_code() -> ValidationError:
    return ValidationError({"code": _("The code is wrong or has expired. Ask for a new one.")})


def verify_login_code(*, mobile: str, code: str) -> Borrower:
    """The borrower whose latest code this is, or a refusal."""
    used, borrower_id = _use_code(index=mobile_index(_clean_mobile(mobile)), code=code, login=True)
    if used is None:
        raise _wrong_code()
    return Borrower.objects.get(pk=borrower_id)


def verify_registration_code(*, mobile: str, code: str) -> ProvenMobile:
    """Prove the mobile with the code texted by `request_registration_code`."""
    mobile = _clean_mobile(mobile)
    index = mobile_index(mobile)
    used, borrower_id = _use_code(index=index, code=code, login=False)
    if used is None:
        raise _wrong_code()
    borrower = Borrower.objects.get(pk=borrower_id) if borrower_id is not None else None
    return ProvenMobile(
        mobile=mobile, mobile_index=index, borrower=borrower, proven_at=used.used_at
    )
