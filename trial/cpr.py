"""Danish CPR numbers: validation, birth date and sex, and fake numbers for demo data.

The format is DDMMYY-SSSS. The first six digits are the birth date; the seventh digit together
with the two-digit year gives the century. Since 2007 numbers no longer need to satisfy the
modulus-11 check (the CPR office ran out of them), so we deliberately do not apply it.
"""

from __future__ import annotations

import datetime as dt
import random
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_CPR_RE = re.compile(r"^([0-9]{2})([0-9]{2})([0-9]{2})-?([0-9]{4})$")


def _century(seventh: int, yy: int) -> int:
    """The century rule of the CPR office (cpr.dk, "Personnummeret i CPR")."""
    if seventh <= 3:
        return 1900
    if seventh in (4, 9):
        return 2000 if yy <= 36 else 1900
    # 5, 6, 7, 8
    return 2000 if yy <= 57 else 1800


def parse_cpr(value: str) -> tuple[str, dt.date]:
    """Return the normalised form DDMMYY-SSSS and the birth date, or raise ValidationError."""
    text = (value or "").strip().replace(" ", "")
    match = _CPR_RE.match(text)
    if not match:
        raise ValidationError(
            _("Enter a CPR number as DDMMYY-SSSS, for example 010190-1234."), code="format"
        )
    dd, mm, yy, serial = match.groups()
    year = _century(int(serial[0]), int(yy)) + int(yy)
    try:
        born = dt.date(year, int(mm), int(dd))
    except ValueError:
        raise ValidationError(
            _("The first six digits of a CPR number must be a real date (DDMMYY)."),
            code="date",
        ) from None
    return f"{dd}{mm}{yy}-{serial}", born


def validate_cpr(value: str) -> None:
    parse_cpr(value)


def normalise_cpr(value: str) -> str:
    return parse_cpr(value)[0]


def cpr_birth_date(value: str) -> dt.date:
    return parse_cpr(value)[1]


def age_on(born: dt.date, day: dt.date) -> int:
    """Age in whole years on ``day`` of someone born on ``born`` (the birthday counts)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def cpr_sex(value: str) -> str:
    """'M' when the last digit is odd, 'F' when even, as the CPR office assigns them."""
    normalised = normalise_cpr(value)
    return "M" if int(normalised[-1]) % 2 else "F"


def fake_cpr(born: dt.date, sex: str, rng: random.Random) -> str:
    """A syntactically valid CPR number for demo data, consistent with birth date and sex."""
    yy = born.year % 100
    if 1900 <= born.year <= 1999:
        seventh = rng.choice([0, 1, 2, 3])
    elif 2000 <= born.year <= 2036:
        seventh = rng.choice([4, 9])
    else:
        raise ValueError("Demo CPR numbers cover births 1900-2036.")
    middle = rng.randint(0, 99)
    last = rng.choice([1, 3, 5, 7, 9] if sex == "M" else [0, 2, 4, 6, 8])
    return f"{born:%d%m}{yy:02d}-{seventh}{middle:02d}{last}"
