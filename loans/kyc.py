"""Identity checks for KYC (know your customer): resident ID numbers, mobiles and masking.

Plain Python with no Django imports, so forms, services and batch jobs share one set of rules
and tests can run without a database. Every rejection is a :class:`KycError` whose ``code`` is a
stable string; ``loans.validators`` turns codes into translated messages for people.

Age rule (the product's age band, :data:`MIN_AGE` to :data:`MAX_AGE`, defined here and used by
the scorecard's thresholds and the borrower-facing messages): an applicant is accepted from the
day they turn ``MIN_AGE`` until the day before they turn ``MAX_AGE + 1``, i.e. someone aged
exactly ``MAX_AGE`` (up to ``MAX_AGE`` years and 364 days) is allowed and someone who has
turned ``MAX_AGE + 1`` is not.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

import phonenumbers
from stdnum import numdb
from stdnum.cn import ric
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
)

# The product's age band, both ends inclusive in full years.
MIN_AGE = 18
MAX_AGE = 60

# Stable error codes (messages live in loans.validators).
ID_LENGTH = "id_length"
ID_FORMAT = "id_format"
ID_CHECKSUM = "id_checksum"
ID_BIRTH_DATE = "id_birth_date"
ID_REGION = "id_region"
ID_BIRTH_FUTURE = "id_birth_future"
ID_UNDER_18 = "id_under_18"
ID_OVER_60 = "id_over_60"
MOBILE_FORMAT = "mobile_format"
MOBILE_NOT_MAINLAND = "mobile_not_mainland"
MOBILE_INVALID = "mobile_invalid"

KYC_ERROR_CODES: tuple[str, ...] = (
    ID_LENGTH,
    ID_FORMAT,
    ID_CHECKSUM,
    ID_BIRTH_DATE,
    ID_REGION,
    ID_BIRTH_FUTURE,
    ID_UNDER_18,
    ID_OVER_60,
    MOBILE_FORMAT,
    MOBILE_NOT_MAINLAND,
    MOBILE_INVALID,
)

# Region-code prefixes that are not the mainland: Taiwan (71), Hong Kong (81), Macau (82) and
# 830000, used by the 港澳台居民居住证 (residence permits for Hong Kong, Macau and Taiwan
# residents, issued since 2018).
NON_MAINLAND_PREFIXES = ("71", "81", "82", "83")

# Codes valid for residence-permit numbers that python-stdnum's region table does not list.
_EXTRA_REGION_CODES = frozenset({"830000"})

_CN_COUNTRY_CODE = 86
_MOBILE_LENGTH = 11
_MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)
# Only what people actually type around a phone number. It also keeps out letters, which
# phonenumbers would otherwise read as a keypad "vanity" number (1-800-FLOWERS).
_MOBILE_CHARS = re.compile(r"[0-9+ ()\-]{1,30}")


class KycError(ValueError):
    """An identity value was rejected; ``code`` is one of :data:`KYC_ERROR_CODES`."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


@dataclass(frozen=True)
class ResidentId:
    """A checked 18-character 身份证号 (resident ID number) and what it tells us."""

    number: str
    birth_date: date
    sex: str  # "M" or "F"
    region_code: str
    mainland: bool


def age_on(birth_date: date, day: date) -> int:
    """Full years of age on ``day``.

    A 29 February birthday counts as reached on 1 March in common years: the later of the
    usual conventions, so nobody is treated as an adult a day early.
    """
    if day < birth_date:
        raise ValueError(f"{day} is before the birth date {birth_date}")
    had_birthday = (day.month, day.day) >= (birth_date.month, birth_date.day)
    return day.year - birth_date.year - (0 if had_birthday else 1)


def parse_resident_id(value: str, *, today: date, check_age: bool = True) -> ResidentId:
    """Validate a 身份证号 and derive birth date, sex and region.

    The number itself is checked by python-stdnum. With ``check_age`` the applicant must also
    be within the age band on ``today`` (see the module docstring for the exact boundary);
    leave it off where the number is stored rather than judged, since a stored number does not
    become invalid when its holder has a birthday.
    """
    number = _compact(value)
    try:
        ric.validate(number)
    except InvalidLength as exc:  # subclass of InvalidFormat, so it goes first
        raise KycError(ID_LENGTH, f"{len(number)} characters") from exc
    except InvalidFormat as exc:
        raise KycError(ID_FORMAT, "non-digit in the first 17 characters") from exc
    except InvalidChecksum as exc:
        raise KycError(ID_CHECKSUM) from exc
    except InvalidComponent:
        # stdnum raises the same exception for an impossible date and for a region code,
        # so tell them apart; the region check is deliberately more lenient (see below).
        _birth_date(number)
        if not _region_known(number[:6]):
            raise KycError(ID_REGION, number[:6]) from None

    birth_date = _birth_date(number)
    if birth_date > today:
        raise KycError(ID_BIRTH_FUTURE, birth_date.isoformat())
    if check_age:
        age = age_on(birth_date, today)
        if age < MIN_AGE:
            raise KycError(ID_UNDER_18, f"age {age}")
        if age > MAX_AGE:
            raise KycError(ID_OVER_60, f"age {age}")

    region_code = number[:6]
    return ResidentId(
        number=number,
        birth_date=birth_date,
        sex="M" if int(number[16]) % 2 else "F",
        region_code=region_code,
        mainland=not region_code.startswith(NON_MAINLAND_PREFIXES),
    )


def normalize_mobile(value: str) -> str:
    """Return the 11-digit national number of a mainland China mobile.

    Accepts the usual ways of writing one: spaces, dashes, ``+86`` or ``86`` in front,
    full-width digits from a Chinese keyboard.
    """
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not _MOBILE_CHARS.fullmatch(text):
        raise KycError(MOBILE_FORMAT, "unexpected characters")
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException as exc:
        raise KycError(MOBILE_FORMAT, str(exc)) from exc

    valid = phonenumbers.is_valid_number(parsed)
    national = str(parsed.national_number)
    if parsed.country_code != _CN_COUNTRY_CODE:
        raise KycError(MOBILE_NOT_MAINLAND if valid else MOBILE_FORMAT, f"+{parsed.country_code}")
    if valid and phonenumbers.number_type(parsed) in _MOBILE_TYPES:
        return national
    if not valid and len(national) != _MOBILE_LENGTH:
        raise KycError(MOBILE_FORMAT, f"{len(national)} digits")
    # Eleven digits that are no mobile range, or a valid landline (座机).
    raise KycError(MOBILE_INVALID, national)


def mask_id_number(number: str) -> str:
    """``360***********0071``: first 3 and last 4 characters, same length."""
    return _mask(number, keep_start=3, keep_end=4)


def mask_mobile(mobile: str) -> str:
    """``138****5678``: first 3 and last 4 digits."""
    return _mask(mobile, keep_start=3, keep_end=4)


def mask_name(name: str) -> str:
    """``张*`` / ``张**``: the first character, then one star per remaining character.

    A one-character name is fully starred, or masking would reveal it.
    """
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "*" * (len(name) - 1)


def _mask(value: str, *, keep_start: int, keep_end: int) -> str:
    """Star the middle; values too short to hide anything are starred completely."""
    value = (value or "").strip()
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    hidden = len(value) - keep_start - keep_end
    return value[:keep_start] + "*" * hidden + value[-keep_end:]


def _compact(value: str) -> str:
    """Drop all whitespace and uppercase the final x; full-width characters become ASCII."""
    text = unicodedata.normalize("NFKC", value or "")
    return "".join(text.split()).upper()


def _birth_date(number: str) -> date:
    try:
        return ric.get_birth_date(number)
    except InvalidComponent as exc:
        raise KycError(ID_BIRTH_DATE, number[6:14]) from exc


def _region_known(code: str) -> bool:
    """Whether stdnum's table knows the 6-digit code at all, in any year.

    stdnum also requires the county to have existed in the birth year. Real numbers break
    that: a number is assigned at first registration, which can be years after birth (a
    person born in 1990 may carry Tongzhou's 110112, created in 1997), and residence-permit
    holders born before 1997 carry 810000. A typo is already caught by the check digit, so the
    stricter test would only turn away genuine customers.
    """
    if code in _EXTRA_REGION_CODES:
        return True
    parts = numdb.get("cn/loc").info(code)
    return bool(parts) and "county" in parts[-1][1]
