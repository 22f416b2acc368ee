"""Danish CPR numbers: format, real dates, the century rule, sex, and no modulus-11 check."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from trial.cpr import cpr_birth_date, cpr_sex, fake_cpr, normalise_cpr, parse_cpr, validate_cpr


@pytest.mark.parametrize(
    "value",
    ["010190-1234", "0101901234", " 010190-1234 ", "010190 1234", "311299-0001"],
)
def test_it_accepts_the_usual_ways_of_writing_a_number(value):
    validate_cpr(value)


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("0101901234", "010190-1234"),
        (" 010190-1234\n", "010190-1234"),
        ("010190 1234", "010190-1234"),
        ("01 01 90 12 34", "010190-1234"),
    ],
)
def test_it_normalises_to_ddmmyy_dash_ssss(value, normalised):
    assert normalise_cpr(value) == normalised


@pytest.mark.parametrize(
    "value",
    [
        "",
        "010190",
        "010190-123",
        "010190-12345",
        "01019-01234",
        "0101901-234",
        "010190--1234",
        "010190_1234",
        "abcdef-ghij",
        "010190-12a4",
        "10190-1234",
    ],
)
def test_it_refuses_malformed_numbers(value):
    with pytest.raises(ValidationError) as info:
        validate_cpr(value)
    assert info.value.code == "format"


def test_it_refuses_none():
    with pytest.raises(ValidationError):
        validate_cpr(None)


@pytest.mark.parametrize(
    "value",
    [
        "٠١٠١٩٠-١٢٣٤",  # Arabic-Indic digits
        "０１０１９０-１２３４",  # full-width digits
    ],
    ids=["arabic-indic", "full-width"],
)
def test_it_refuses_digits_that_are_not_ascii(value):
    # A CPR number is ten ASCII digits; anything else would be stored as an unsearchable
    # look-alike of a real number.
    with pytest.raises(ValidationError):
        validate_cpr(value)


@pytest.mark.parametrize(
    "value",
    [
        "310290-1234",  # 31 February
        "300290-1234",  # 30 February
        "290201-4234",  # 29 February 2001 (not a leap year)
        "290200-1234",  # 29 February 1900 (not a leap year: divisible by 100)
        "310490-1234",  # 31 April
        "000190-1234",  # day 0
        "011390-1234",  # month 13
        "010090-1234",  # month 0
        "320190-1234",  # day 32
    ],
)
def test_it_refuses_impossible_dates(value):
    with pytest.raises(ValidationError) as info:
        validate_cpr(value)
    assert info.value.code == "date"


def test_it_accepts_29_february_in_a_leap_year():
    assert cpr_birth_date("290200-4234") == dt.date(2000, 2, 29)
    assert cpr_birth_date("290296-1234") == dt.date(1996, 2, 29)


@pytest.mark.parametrize(
    ("value", "born"),
    [
        # 7th digit 0-3: always the 1900s
        ("010100-0000", dt.date(1900, 1, 1)),
        ("150536-1234", dt.date(1936, 5, 15)),
        ("150557-2234", dt.date(1957, 5, 15)),
        ("311299-3999", dt.date(1999, 12, 31)),
        # 4 and 9: 2000s when YY <= 36, else 1900s
        ("010100-4000", dt.date(2000, 1, 1)),
        ("150536-4234", dt.date(2036, 5, 15)),
        ("150537-4234", dt.date(1937, 5, 15)),
        ("150536-9234", dt.date(2036, 5, 15)),
        ("150537-9234", dt.date(1937, 5, 15)),
        ("311299-9999", dt.date(1999, 12, 31)),
        # 5-8: 2000s when YY <= 57, else 1800s
        ("010100-5000", dt.date(2000, 1, 1)),
        ("150557-5234", dt.date(2057, 5, 15)),
        ("150558-5234", dt.date(1858, 5, 15)),
        ("150520-6234", dt.date(2020, 5, 15)),
        ("150599-7234", dt.date(1899, 5, 15)),
        ("150557-8234", dt.date(2057, 5, 15)),
        ("150558-8234", dt.date(1858, 5, 15)),
    ],
)
def test_it_takes_the_century_from_the_seventh_digit(value, born):
    assert cpr_birth_date(value) == born
    assert parse_cpr(value) == (value, born)


@pytest.mark.parametrize(
    ("value", "sex"),
    [
        ("010190-1231", "M"),
        ("010190-1233", "M"),
        ("010190-1239", "M"),
        ("010190-1230", "F"),
        ("010190-1234", "F"),
        ("010190-1238", "F"),
    ],
)
def test_it_reads_sex_from_the_last_digit(value, sex):
    assert cpr_sex(value) == sex


def _passes_modulus_11(value: str) -> bool:
    digits = [int(c) for c in value.replace("-", "")]
    return sum(d * w for d, w in zip(digits, [4, 3, 2, 7, 6, 5, 4, 3, 2, 1], strict=True)) % 11 == 0


def test_it_accepts_numbers_that_fail_modulus_11():
    # Since 2007 the CPR office issues numbers without the modulus-11 check.
    value = "010190-1234"
    assert not _passes_modulus_11(value)
    assert normalise_cpr(value) == value


def test_it_accepts_numbers_that_pass_modulus_11_too():
    value = "070761-4285"  # the classic textbook example that passes the check
    assert _passes_modulus_11(value)
    assert cpr_birth_date(value) == dt.date(1961, 7, 7)


def test_fake_numbers_refuse_births_outside_1900_to_2036():
    import random

    with pytest.raises(ValueError):
        fake_cpr(dt.date(1899, 12, 31), "F", random.Random(1))
    with pytest.raises(ValueError):
        fake_cpr(dt.date(2037, 1, 1), "M", random.Random(1))


@given(
    born=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2036, 12, 31)),
    sex=st.sampled_from(["F", "M"]),
    rng=st.randoms(use_true_random=False),
)
def test_fake_numbers_parse_back_to_their_birth_date_and_sex(born, sex, rng):
    value = fake_cpr(born, sex, rng)
    assert normalise_cpr(value) == value
    assert cpr_birth_date(value) == born
    assert cpr_sex(value) == sex
