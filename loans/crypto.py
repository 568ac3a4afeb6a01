"""Encryption at rest and blind indexes for personal data (PIPL).

ID number, name and mobile are stored as Fernet tokens. `PII_ENCRYPTION_KEYS` lists keys newest
first: new tokens use the first, old tokens still decrypt with any, and `rotate_pii_keys`
re-encrypts every row with the newest. Lookups and uniqueness use an HMAC of the normalised value
(a "blind index"), so a mobile can be found without decrypting every row.
"""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=1)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("PII_ENCRYPTION_KEYS must list at least one Fernet key.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "PII_ENCRYPTION_KEYS holds a malformed key; make one with "
            "cryptography.fernet.Fernet.generate_key()."
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.PII_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored personal-data value cannot be decrypted with PII_ENCRYPTION_KEYS: "
            "was a key removed before `rotate_pii_keys` ran?"
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt a token with the newest key (no-op in meaning, new ciphertext)."""
    return fernet().rotate(token.encode()).decode()


def blind_index(value: str, *, purpose: str) -> str:
    """Keyed hash of a normalised value. `purpose` separates the ID and mobile spaces so the
    same digits in two fields never share an index value."""
    key = settings.PII_BLIND_INDEX_KEY.encode()
    message = f"{purpose}:{value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
