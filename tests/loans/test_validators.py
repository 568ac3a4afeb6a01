"""Django validators and messages for KYC codes and assessment reasons."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import translation
from stdnum.cn import ric

from loans import kyc, scoring
from loans.reasons import REASON_MESSAGES, RULE_LABELS, reason_message
from loans.validators import (
    KYC_MESSAGES,
    kyc_message,
    validate_mainland_mobile,
    validate_resident_id,
    validate_resident_id_number,
)

# 2026-06-14 17:00 UTC is already 2026-06-15 01:00 in Asia/Shanghai.
SHANGHAI_JUNE_15 = datetime(2026, 6, 14, 17, 0, tzinfo=UTC)


def make_id(region: str = "110101", birth: date | str = date(1991, 1, 1), seq: str = "123") -> str:
    digits = birth if isinstance(birth, str) else birth.strftime("%Y%m%d")
    body = region + digits + seq
    return body + ric.calc_check_digit(body + "0")


def validation_error(validator, value) -> ValidationError:
    with pytest.raises(ValidationError) as exc_info:
        validator(value)
    return exc_info.value


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("36042619910101007", "id_length"),
        ("3604261991A1010071", "id_format"),
        ("360426199101010072", "id_checksum"),
        (make_id(birth="19900230"), "id_birth_date"),
        (make_id(region="999999"), "id_region"),
        (make_id(birth=date(2026, 6, 16)), "id_birth_future"),
        (make_id(birth=date(2008, 6, 16)), "id_under_18"),
        (make_id(birth=date(1965, 6, 15)), "id_over_60"),
    ],
)
def test_validate_resident_id_raises_with_code_and_message(value, code):
    with time_machine.travel(SHANGHAI_JUNE_15, tick=False):
        error = validation_error(validate_resident_id, value)

    assert error.code == code
    assert error.message is KYC_MESSAGES[code]
    assert str(error.messages[0]).strip()


def test_validate_resident_id_uses_the_shanghai_date():
    turns_18_on_june_15 = make_id(birth=date(2008, 6, 15))
    with time_machine.travel(SHANGHAI_JUNE_15, tick=False):
        assert validate_resident_id(turns_18_on_june_15) is None
    with time_machine.travel(datetime(2026, 6, 14, 15, 0, tzinfo=UTC), tick=False):  # 23:00
        assert validation_error(validate_resident_id, turns_18_on_june_15).code == "id_under_18"


def test_validate_resident_id_number_does_not_check_the_age():
    child = make_id(birth=date(2015, 3, 1))
    with time_machine.travel(SHANGHAI_JUNE_15, tick=False):
        assert validate_resident_id_number(child) is None
        assert validation_error(validate_resident_id, child).code == "id_under_18"
        assert validation_error(validate_resident_id_number, child + "1").code == "id_length"


def test_age_messages_name_the_band_that_the_checks_enforce():
    """The KYC check, the eligibility rule and every message about age share one band."""
    today = date(2026, 6, 15)
    youngest = date(today.year - kyc.MIN_AGE, 6, 15)  # turns MIN_AGE today
    oldest = date(today.year - kyc.MAX_AGE - 1, 6, 16)  # turns MAX_AGE + 1 tomorrow
    too_young, too_old = youngest + timedelta(days=1), oldest - timedelta(days=1)
    for birth in (youngest, oldest):
        kyc.parse_resident_id(make_id(birth=birth), today=today)
    codes = []
    for birth in (too_young, too_old):
        with pytest.raises(kyc.KycError) as refused:
            kyc.parse_resident_id(make_id(birth=birth), today=today)
        codes.append(refused.value.code)
    assert codes == [kyc.ID_UNDER_18, kyc.ID_OVER_60]

    def age_rule_passes(birth: date) -> bool:
        facts = scoring.ApplicantFacts(
            as_of=today,
            birth_date=birth,
            mainland_resident=True,
            identity_complete=True,
            id_expiry_date=None,
            civil_capacity=scoring.FULL_CAPACITY,
            monthly_income=Decimal("8000"),
            monthly_debt_payments=Decimal("0"),
            data_consent=True,
            credit_query_consent=True,
            account_activity_score=60,
            credit_report=None,
        )
        return scoring.AGE not in scoring.assess(facts).reasons

    assert [age_rule_passes(b) for b in (youngest, oldest, too_young, too_old)] == [
        True,
        True,
        False,
        False,
    ]
    with translation.override("en"):
        assert str(kyc.MIN_AGE) in kyc_message(kyc.ID_UNDER_18)
        assert str(kyc.MAX_AGE) in kyc_message(kyc.ID_OVER_60)
        band = reason_message(scoring.AGE)
        assert f"{kyc.MIN_AGE} to {kyc.MAX_AGE}" in band and "%" not in band


def test_english_message_for_an_age_rejection():
    with time_machine.travel(SHANGHAI_JUNE_15, tick=False), translation.override("en"):
        error = validation_error(validate_resident_id, make_id(birth=date(2010, 1, 1)))
        assert error.messages == ["You must be at least 18 years old."]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("abc", "mobile_format"),
        ("+852 9123 4567", "mobile_not_mainland"),
        ("010 1234 5678", "mobile_invalid"),
        ("12345678901", "mobile_invalid"),
    ],
)
def test_validate_mainland_mobile_raises_with_code_and_message(value, code):
    error = validation_error(validate_mainland_mobile, value)

    assert error.code == code
    assert error.message is KYC_MESSAGES[code]
    assert str(error.messages[0]).strip()


@pytest.mark.parametrize("value", ["13812345678", "+86 138-1234-5678", "8613812345678"])
def test_validate_mainland_mobile_accepts_mobiles(value):
    assert validate_mainland_mobile(value) is None


def test_every_kyc_error_code_has_a_message():
    assert set(KYC_MESSAGES) == set(kyc.KYC_ERROR_CODES)
    for code in kyc.KYC_ERROR_CODES:
        assert kyc_message(code).strip()


def test_kyc_message_in_english_and_for_an_unknown_code():
    with translation.override("en"):
        assert kyc_message("id_checksum") == (
            "This ID number's check digit is wrong; please check it was typed correctly."
        )
        assert kyc_message("no_such_code") == "Enter a valid value."


def test_kyc_messages_are_lazy_so_they_follow_the_active_language():
    assert not isinstance(KYC_MESSAGES["id_length"], str)


# --- Assessment reasons --------------------------------------------------------------------


def test_every_reason_code_has_a_message_and_a_label():
    assert set(REASON_MESSAGES) == set(scoring.REASON_CODES)
    assert set(RULE_LABELS) == set(scoring.REASON_CODES)
    assert "low_score" in REASON_MESSAGES
    for code in scoring.REASON_CODES:
        assert reason_message(code).strip()
        assert str(RULE_LABELS[code]).strip()


def test_reason_message_in_english():
    with translation.override("en"):
        assert reason_message("id_unexpired") == (
            "Your ID card has expired. Please update it and apply again."
        )
        assert reason_message("no_such_code") == "We cannot offer you a credit line at this time."


def test_reason_messages_cover_what_a_real_assessment_returns():
    applicant = scoring.ApplicantFacts(
        as_of=date(2026, 6, 15),
        birth_date=date(1990, 1, 1),
        mainland_resident=False,
        identity_complete=True,
        id_expiry_date=date(2020, 1, 1),
        civil_capacity="full",
        monthly_income=Decimal("1000"),
        monthly_debt_payments=Decimal("0"),
        data_consent=True,
        credit_query_consent=True,
        account_activity_score=50,
        credit_report=None,
    )
    reasons = scoring.assess(applicant).reasons

    assert "id_unexpired" in reasons
    assert all(code in REASON_MESSAGES for code in reasons)
