"""Django validators and borrower-facing messages for the KYC checks in ``loans.kyc``.

``loans.kyc`` only knows stable error codes; this module gives each code a message
(``gettext_lazy``, English msgids translated in the locale catalogue) and wraps the checks as
validators that raise ``ValidationError`` with the same code, so forms, model fields and the API
agree on both the rule and its wording.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _

from loans import kyc


def lazy_interpolate(message: Promise, params: Mapping[str, object]) -> Promise:
    """``message % params``, still lazy: translated in the language active when it is shown,
    so a message can quote a constant instead of repeating its value in the msgid."""
    return lazy(lambda: str(message) % params, str)()


# The age band as messages quote it: ``%(min)s`` and ``%(max)s``.
AGE_BAND = {"min": kyc.MIN_AGE, "max": kyc.MAX_AGE}


KYC_MESSAGES: dict[str, Promise] = {
    kyc.ID_LENGTH: _("The ID number has the wrong length: it must be 18 characters."),
    kyc.ID_FORMAT: _(
        "The ID number may only contain digits, with an X allowed as the last character."
    ),
    kyc.ID_CHECKSUM: _(
        "This ID number's check digit is wrong; please check it was typed correctly."
    ),
    kyc.ID_BIRTH_DATE: _(
        "The date of birth in this ID number does not exist; please check it was typed correctly."
    ),
    kyc.ID_REGION: _(
        "The region code at the start of this ID number is not recognised; "
        "please check it was typed correctly."
    ),
    kyc.ID_BIRTH_FUTURE: _(
        "The date of birth in this ID number is in the future; please check it was typed correctly."
    ),
    kyc.ID_UNDER_18: lazy_interpolate(_("You must be at least %(min)s years old."), AGE_BAND),
    kyc.ID_OVER_60: lazy_interpolate(_("Applicants must be %(max)s or younger."), AGE_BAND),
    kyc.MOBILE_FORMAT: _("Enter an 11-digit mobile number, for example 138 1234 5678."),
    kyc.MOBILE_NOT_MAINLAND: _("Only mainland China mobile numbers (+86) can be used."),
    kyc.MOBILE_INVALID: _(
        "This is not a valid mainland China mobile number. Landline numbers cannot be used."
    ),
}

# Django's own msgid, so it is translated even before our catalogue is.
_FALLBACK_MESSAGE = _("Enter a valid value.")


def kyc_message(code: str) -> str:
    """The message for a KYC error code in the active language (a generic one if unknown)."""
    return str(KYC_MESSAGES.get(code, _FALLBACK_MESSAGE))


def validate_resident_id(value: str) -> None:
    """Full onboarding check of a 身份证号 (resident ID number), including the age band
    (``kyc.MIN_AGE`` to ``kyc.MAX_AGE``).

    For forms where a person applies. Do not put it on a model field: the age check would make
    an existing borrower's record fail validation on the day they pass ``kyc.MAX_AGE``.
    """
    _run(lambda: kyc.parse_resident_id(str(value), today=timezone.localdate()))


def validate_resident_id_number(value: str) -> None:
    """The number alone (length, format, check digit, birth date, region), without the age.

    For model fields and staff screens, where the stored number stays valid whatever the date.
    """
    _run(lambda: kyc.parse_resident_id(str(value), today=timezone.localdate(), check_age=False))


def validate_mainland_mobile(value: str) -> None:
    """A mainland China mobile in any common notation (see ``kyc.normalize_mobile``)."""
    _run(lambda: kyc.normalize_mobile(str(value)))


def _run(check: Callable[[], object]) -> None:
    """Run a KYC check, turning its KycError into Django's ValidationError (same code)."""
    try:
        check()
    except kyc.KycError as exc:
        raise ValidationError(KYC_MESSAGES.get(exc.code, _FALLBACK_MESSAGE), code=exc.code) from exc
