"""Webhook signatures: hex HMAC-SHA256 over ``f"{timestamp}.".encode() + body``.

The timestamp (Unix seconds, sent in ``X-Timestamp``) is part of what is signed, so a captured
notification cannot be replayed later with a fresh timestamp; one older than the tolerance is
refused even when its signature is right.
"""

import hashlib
import hmac
import time

DEFAULT_TOLERANCE_SECONDS = 300


class VerificationError(Exception):
    """The notification cannot be trusted."""


class InvalidSignature(VerificationError):
    """Missing or wrong signature or timestamp header: not from the gateway."""


class StaleTimestamp(VerificationError):
    """Correctly signed, but the timestamp is outside the tolerance window (a replay)."""


def sign(body: bytes, timestamp: int, secret: str | bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify(
    body: bytes,
    timestamp: str | int,
    signature: str,
    secret: str | bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check a notification; return its timestamp. Raises InvalidSignature or StaleTimestamp.

    The signature is checked first, so "stale" always means "genuine but too old or too far in
    the future", never a guess.
    """
    try:
        ts = int(str(timestamp).strip())
    except ValueError:
        raise InvalidSignature("timestamp is not an integer") from None
    if not signature:
        raise InvalidSignature("no signature")
    expected = sign(body, ts, secret)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise InvalidSignature("signature does not match")
    # In whole seconds: a float cannot hold every integer a caller may sign.
    drift = int(time.time() if now is None else now) - ts
    if abs(drift) > tolerance:
        raise StaleTimestamp(f"timestamp {ts} is {drift} s from now")
    return ts
