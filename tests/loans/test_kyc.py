"""Resident ID numbers, mainland mobiles and masking (loans.kyc)."""

from datetime import date

import pytest
from stdnum.cn import ric
from stdnum.exceptions import InvalidComponent

from loans.kyc import (
    KycError,
    ResidentId,
    age_on,
    mask_id_number,
    mask_mobile,
    mask_name,
    normalize_mobile,
    parse_resident_id,
)

TODAY = date(2026, 6, 15)


def make_id(region: str = "110101", birth: date | str = date(1991, 1, 1), seq: str = "123") -> str:
    """A well-formed 18-character ID with the correct check digit.

    ``birth`` may be a raw YYYYMMDD string to build numbers with impossible dates.
    """
    digits = birth if isinstance(birth, str) else birth.strftime("%Y%m%d")
    body = region + digits + seq
    return body + ric.calc_check_digit(body + "0")  # the function ignores the last character


def with_wrong_check_digit(number: str) -> str:
    wrong = "0" if number[-1] != "0" else "1"
    return number[:-1] + wrong


def error_code(value: str, **kwargs) -> str:
    with pytest.raises(KycError) as exc_info:
        parse_resident_id(value, today=kwargs.pop("today", TODAY), **kwargs)
    return exc_info.value.code


# --- Resident ID: valid numbers and what they tell us ------------------------------------


def test_known_valid_number_derives_birth_sex_and_region():
    assert parse_resident_id("360426199101010071", today=TODAY) == ResidentId(
        number="360426199101010071",
        birth_date=date(1991, 1, 1),
        sex="M",
        region_code="360426",
        mainland=True,
    )


@pytest.mark.parametrize(("seq", "sex"), [("123", "M"), ("124", "F"), ("001", "M"), ("990", "F")])
def test_sex_comes_from_the_17th_digit(seq, sex):
    assert parse_resident_id(make_id(seq=seq), today=TODAY).sex == sex


def test_spaces_are_removed_and_a_trailing_lowercase_x_is_accepted():
    seq = next(f"{n:03d}" for n in range(1000) if make_id(seq=f"{n:03d}").endswith("X"))
    number = make_id(seq=seq)
    typed = f" {number[:6]} {number[6:14]} {number[14:].lower()} "

    parsed = parse_resident_id(typed, today=TODAY)

    assert parsed.number == number
    assert parsed.number.endswith("X")


def test_full_width_digits_from_a_chinese_keyboard_are_accepted():
    number = make_id()
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number)
    assert parse_resident_id(full_width, today=TODAY).number == number


# --- Resident ID: rejections ---------------------------------------------------------------


def test_wrong_check_digit():
    assert error_code(with_wrong_check_digit(make_id())) == "id_checksum"
    assert error_code("360426199101010072") == "id_checksum"


@pytest.mark.parametrize(
    "value",
    ["36042619910101007", "3604261991010100711", "360426910101007", "", "   "],
    ids=["17", "19", "old-15-digit", "empty", "blank"],
)
def test_wrong_length(value):
    assert error_code(value) == "id_length"


@pytest.mark.parametrize(
    "value", ["3604261991A1010071", "360426-99101010071", "X60426199101010071"]
)
def test_non_digit_in_the_first_17_characters(value):
    assert error_code(value) == "id_format"


@pytest.mark.parametrize("digits", ["19900230", "19910229", "19901301", "19900000"])
def test_impossible_birth_date(digits):
    assert error_code(make_id(birth=digits)) == "id_birth_date"


def test_unknown_region():
    assert error_code(make_id(region="999999")) == "id_region"


def test_birth_date_after_today_is_rejected_even_without_the_age_check():
    number = make_id(birth=date(2026, 6, 16))
    assert error_code(number) == "id_birth_future"
    assert error_code(number, check_age=False) == "id_birth_future"


def test_region_code_created_after_the_birth_year_is_accepted():
    # Tongzhou (110112) became a district in 1997; numbers are assigned at registration, so a
    # person born in 1990 can carry it. stdnum alone would reject the number.
    number = make_id(region="110112", birth=date(1990, 1, 1))
    with pytest.raises(InvalidComponent):
        ric.validate(number)

    assert parse_resident_id(number, today=TODAY).region_code == "110112"


# --- Resident ID: age band 18-60 -----------------------------------------------------------


def test_exactly_18_today_is_accepted():
    assert parse_resident_id(make_id(birth=date(2008, 6, 15)), today=TODAY).birth_date == date(
        2008, 6, 15
    )


def test_17_years_364_days_is_under_18():
    assert error_code(make_id(birth=date(2008, 6, 16))) == "id_under_18"


def test_under_18_is_accepted_when_the_age_is_not_checked():
    number = make_id(birth=date(2015, 1, 1))
    assert parse_resident_id(number, today=TODAY, check_age=False).birth_date == date(2015, 1, 1)


def test_exactly_60_is_accepted():
    parse_resident_id(make_id(birth=date(1966, 6, 15)), today=TODAY)


def test_60_years_364_days_is_still_accepted():
    parse_resident_id(make_id(birth=date(1965, 6, 16)), today=TODAY)


def test_61st_birthday_is_over_60():
    assert error_code(make_id(birth=date(1965, 6, 15))) == "id_over_60"


def test_feb_29_birthday_turns_18_on_1_march_in_a_common_year():
    number = make_id(birth=date(2008, 2, 29))
    assert error_code(number, today=date(2026, 2, 28)) == "id_under_18"
    assert parse_resident_id(number, today=date(2026, 3, 1)).birth_date == date(2008, 2, 29)


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        (date(2000, 1, 1), date(2000, 1, 1), 0),
        (date(2000, 6, 15), date(2018, 6, 14), 17),
        (date(2000, 6, 15), date(2018, 6, 15), 18),
        (date(2000, 2, 29), date(2001, 2, 28), 0),
        (date(2000, 2, 29), date(2001, 3, 1), 1),
        (date(2000, 2, 29), date(2004, 2, 28), 3),
        (date(2000, 2, 29), date(2004, 2, 29), 4),
        (date(1965, 12, 31), date(2026, 12, 30), 60),
        (date(1965, 12, 31), date(2026, 12, 31), 61),
    ],
)
def test_age_on_counts_full_years(birth, day, age):
    assert age_on(birth, day) == age


def test_age_on_a_day_before_birth_is_an_error():
    with pytest.raises(ValueError, match="before the birth date"):
        age_on(date(2000, 1, 2), date(2000, 1, 1))


# --- Resident ID: mainland or not ----------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "mainland"),
    [
        ("810000", False),  # Hong Kong residence permit; holder born before 1997
        ("820000", False),  # Macau
        ("830000", False),  # Taiwan residents' residence permit (not in stdnum's table)
        ("710000", False),  # Taiwan
        ("440305", True),  # Shenzhen Nanshan
        ("110101", True),  # Beijing Dongcheng
    ],
)
def test_hong_kong_macau_and_taiwan_regions_are_not_mainland(region, mainland):
    parsed = parse_resident_id(make_id(region=region, birth=date(1990, 5, 20)), today=TODAY)
    assert parsed.mainland is mainland
    assert parsed.region_code == region


# --- Mobiles -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138-1234-5678",
        "+8613812345678",
        "8613812345678",
        "0086 138 1234 5678",
        "(+86) 138 1234 5678",
        " 13812345678 ",
        "１３８１２３４５６７８",  # full-width digits
    ],
)
def test_mobile_formats_normalise_to_11_digits(value):
    assert normalize_mobile(value) == "13812345678"


@pytest.mark.parametrize("value", ["19912345678", "17012345678", "16612345678", "15012345678"])
def test_other_mainland_mobile_ranges(value):
    assert normalize_mobile(value) == value


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("12345678901", "mobile_invalid"),  # 11 digits, no such mobile range
        ("010 1234 5678", "mobile_invalid"),  # Beijing landline
        ("0755-1234 5678", "mobile_invalid"),  # Shenzhen landline
        ("+852 9123 4567", "mobile_not_mainland"),  # Hong Kong mobile
        ("+1 650 253 0000", "mobile_not_mainland"),  # USA
        ("+44 7911 123456", "mobile_not_mainland"),  # UK mobile
        ("", "mobile_format"),
        ("   ", "mobile_format"),
        ("abc", "mobile_format"),
        ("1381234567", "mobile_format"),  # 10 digits
        ("138123456789", "mobile_format"),  # 12 digits
        ("1-800-FLOWERS", "mobile_format"),  # letters would be read as a keypad number
        ("138 1234 5678 ext 9", "mobile_format"),
        ("+999 1234", "mobile_format"),
    ],
)
def test_mobile_rejections(value, code):
    with pytest.raises(KycError) as exc_info:
        normalize_mobile(value)
    assert exc_info.value.code == code


def test_kyc_error_is_a_value_error_with_its_code():
    error = KycError("id_length", "17 characters")
    assert isinstance(error, ValueError)
    assert error.code == "id_length"
    assert str(error) == "id_length: 17 characters"


# --- Masking -------------------------------------------------------------------------------


def test_mask_id_number():
    assert mask_id_number("360426199101010071") == "360***********0071"
    assert mask_id_number("36042619910101007X") == "360***********007X"
    assert len(mask_id_number("360426199101010071")) == 18


def test_mask_mobile():
    assert mask_mobile("13812345678") == "138****5678"


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三", "张*"), ("张三丰", "张**"), ("欧阳娜娜", "欧***"), ("张", "*"), ("", "")],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize("mask", [mask_id_number, mask_mobile, mask_name])
def test_masking_empty_input_gives_empty_string(mask):
    assert mask("") == ""


def test_values_too_short_to_mask_partially_are_fully_starred():
    assert mask_mobile("1234567") == "*******"
    assert mask_id_number("12345") == "*****"
