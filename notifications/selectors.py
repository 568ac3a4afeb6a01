"""Reads for the public SMS check page (DESIGN §5 Verification)."""

import unicodedata

from loans.kyc import KycError, normalize_mobile
from loans.models.borrowers import mobile_index

from .models import SmsMessage
from .services import CODE_ALPHABET, CODE_LENGTH

# Only messages that actually left us can be genuine; a queued or failed one never reached
# anybody, so a text quoting its code did not come from us.
GENUINE_STATUSES = (SmsMessage.Status.SENT, SmsMessage.Status.DELIVERED)


def phone_index(phone: str) -> str | None:
    """The blind index of a typed mobile number, or None when it is no mainland mobile."""
    try:
        return mobile_index(normalize_mobile(phone))
    except KycError:
        return None


def clean_code(code: str) -> str:
    """What people type off a phone screen: full-width letters, lower case, stray spaces."""
    return unicodedata.normalize("NFKC", code or "").strip().upper()


def find_genuine_message(*, phone: str, code: str) -> SmsMessage | None:
    """The newest sent message to `phone` carrying verification `code`, or None.

    Every way of not matching (malformed phone, unknown phone, wrong code) gives the same
    None, so callers cannot tell them apart.
    """
    index = phone_index(phone)
    code = clean_code(code)
    if index is None or len(code) != CODE_LENGTH or not set(code) <= set(CODE_ALPHABET):
        return None
    return (
        SmsMessage.objects.filter(
            phone_index=index, verification_code=code, status__in=GENUINE_STATUSES
        )
        .order_by("-id")
        .first()
    )
