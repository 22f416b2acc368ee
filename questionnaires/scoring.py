"""Scoring of the trial's patient-reported outcomes: pure functions, standard library only.

Nothing here knows about Django, forms or storage, so the arithmetic that decides the primary
outcome (ODI at 4 weeks) can be tested against published reference cases in isolation and reused
unchanged by views, exports and analyses.

Every score is computed with ``Decimal`` under an explicit context, never with floats and never
with whatever decimal context the caller happens to have set: a score that differs in the last
digit between a page and an export would be a data-quality query in a trial.

Inputs are validated strictly (a ``bool`` is not an answer, a float is not a level) and invalid
input raises ``ValueError``; a missing answer is ``None`` and is never replaced by a default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from types import MappingProxyType
from typing import TypeGuard

__all__ = [
    "EQ5D_DIMENSIONS",
    "ODI_BANDS",
    "ODI_SECTION_COUNT",
    "VALUE_SETS",
    "ScoringOptions",
    "ValueSet",
    "eq5d3l_index",
    "eq5d3l_profile",
    "is_strict_int",
    "odi_band",
    "odi_score",
    "odi_section_value",
    "vas_value",
]

# Generous precision: the only inexact quotient (an ODI sum over 5, 10, ... 50) is a repeating
# decimal, so 28 significant digits can never manufacture a false .x5 tie before rounding.
_CONTEXT = Context(prec=28, rounding=ROUND_HALF_UP)
_ONE_DECIMAL = Decimal("0.1")
_THREE_DECIMALS = Decimal("0.001")


def is_strict_int(value: object) -> TypeGuard[int]:
    """True for real integers only: ``True`` is an ``int`` to Python but not an answer to us."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class ScoringOptions:
    """The trial's scoring settings, gathered so that callers pass one object built from settings.

    The defaults are the protocol's; the coordinator may change them in settings, and the
    service layer builds this object from there rather than the scorers reading settings.
    """

    odi_max_missing: int = 1
    eq5d_value_set: str = "DK"


# --------------------------------------------------------------------------------------------
# Oswestry Disability Index (ODI) v2.1a
# Fairbank JCT, Pynsent PB. The Oswestry Disability Index. Spine 2000;25(22):2940-52.
# --------------------------------------------------------------------------------------------

ODI_SECTION_COUNT = 10
_ODI_SECTION_MAX = 5

# Upper limit (inclusive) of each band, in order. The published bands are written as integer
# ranges (0-20, 21-40, ...), which leaves gaps such as (20, 21) once a missing section makes
# scores non-integer (10 / 45 x 100 = 22.2). Reading each cut-off as the inclusive upper limit
# of its band ("above 20 is more than minimal") closes the gaps without moving any integer
# score: 20 is minimal, 20.5 is moderate. With the ODI formula a score in a gap cannot in fact
# occur (the next score above a limit 20k is 20k + 20/answered, at least 2 more), but the rule
# is stated so that the function is total over 0-100.
ODI_BANDS: tuple[tuple[Decimal, str], ...] = (
    (Decimal(20), "minimal"),
    (Decimal(40), "moderate"),
    (Decimal(60), "severe"),
    (Decimal(80), "crippled"),
    (Decimal(100), "bed_bound"),
)


def odi_section_value(ticked: Iterable[int]) -> int | None:
    """Value of one ODI section from the statements the patient ticked.

    The ODI instructions say that when two statements are ticked, the higher one counts; taking
    the maximum of any number of ticks applies that rule uniformly. Nothing ticked is a missing
    section (``None``), which the score then handles by its missing-section rule.
    """
    values = list(ticked)
    for value in values:
        if not is_strict_int(value) or not 0 <= value <= _ODI_SECTION_MAX:
            raise ValueError(f"ODI statement must be an integer 0-5, got {value!r}")
    return max(values) if values else None


def odi_score(sections: Sequence[int | None], *, max_missing: int = 1) -> Decimal | None:
    """ODI score in percent, 0-100, to one decimal place; ``None`` when too much is missing.

    Score = sum of answered sections / (5 x number answered) x 100 (Fairbank & Pynsent 2000),
    so a skipped section (often sex life) scales the denominator instead of counting as 0.
    The trial's default allows one missing section; ``max_missing`` is passed by the caller from
    settings so that the rule is not buried here. With every section missing there is nothing to
    score whatever ``max_missing`` says.

    Rounded half up to one decimal, the precision the ODI is reported with.
    """
    if isinstance(sections, str | bytes) or len(sections) != ODI_SECTION_COUNT:
        raise ValueError(f"ODI needs exactly {ODI_SECTION_COUNT} sections")
    if not is_strict_int(max_missing) or max_missing < 0:
        raise ValueError(f"max_missing must be a non-negative integer, got {max_missing!r}")
    answered = []
    for number, value in enumerate(sections, start=1):
        if value is None:
            continue
        if not is_strict_int(value) or not 0 <= value <= _ODI_SECTION_MAX:
            raise ValueError(f"ODI section {number} must be an integer 0-5 or None, got {value!r}")
        answered.append(value)
    missing = ODI_SECTION_COUNT - len(answered)
    if missing > max_missing or not answered:
        return None
    raw = _CONTEXT.divide(Decimal(sum(answered) * 100), Decimal(_ODI_SECTION_MAX * len(answered)))
    return raw.quantize(_ONE_DECIMAL, rounding=ROUND_HALF_UP, context=_CONTEXT)


def odi_band(score: Decimal | int) -> str:
    """Disability band code of an ODI score (see ``ODI_BANDS`` for how gaps are closed)."""
    if not is_strict_int(score) and not isinstance(score, Decimal):
        raise ValueError(f"ODI score must be a Decimal or int, got {score!r}")
    value = Decimal(score)
    if not value.is_finite() or not 0 <= value <= 100:
        raise ValueError(f"ODI score must be between 0 and 100, got {score!r}")
    return next(code for upper, code in ODI_BANDS if value <= upper)


# --------------------------------------------------------------------------------------------
# Visual analogue scale (VAS), 0-100
# --------------------------------------------------------------------------------------------


def vas_value(value: int | None) -> int | None:
    """A validated VAS answer, 0 (no pain) to 100 (worst imaginable).

    ``None`` stays ``None``: an untouched slider is a missing answer, and defaulting it to the
    midpoint (50) would invent data.
    """
    if value is None:
        return None
    if not is_strict_int(value) or not 0 <= value <= 100:
        raise ValueError(f"VAS must be an integer 0-100 or None, got {value!r}")
    return value


# --------------------------------------------------------------------------------------------
# EQ-5D-3L
# --------------------------------------------------------------------------------------------

# The order of the dimensions in a profile such as "21232".
EQ5D_DIMENSIONS: tuple[str, ...] = ("MO", "SC", "UA", "PD", "AD")


@dataclass(frozen=True)
class ValueSet:
    """One country's EQ-5D-3L tariff: the weights that turn a health profile into an index.

    ``decrements`` maps each dimension to its (level 2, level 3) decrement; level 1 is 0.
    ``n3`` is subtracted once when any dimension is at level 3, in value sets that have it.
    """

    code: str
    source: str
    constant: Decimal
    decrements: Mapping[str, tuple[Decimal, Decimal]]
    n3: Decimal | None = None

    def __post_init__(self) -> None:
        if tuple(self.decrements) != EQ5D_DIMENSIONS:
            raise ValueError(f"value set {self.code} must give decrements for {EQ5D_DIMENSIONS}")
        # A read-only copy, so that no caller can alter a module-level tariff by accident.
        object.__setattr__(self, "decrements", MappingProxyType(dict(self.decrements)))


VALUE_SETS: Mapping[str, ValueSet] = MappingProxyType(
    {
        "DK": ValueSet(
            code="DK",
            source=(
                "Wittrup-Jensen KU, Lauridsen J, Gudex C, Pedersen KM. Generation of a Danish "
                "TTO value set for EQ-5D health states. Scand J Public Health 2009;37(5):459-66"
            ),
            constant=Decimal("0.114"),
            decrements={
                "MO": (Decimal("0.053"), Decimal("0.411")),
                "SC": (Decimal("0.063"), Decimal("0.192")),
                "UA": (Decimal("0.048"), Decimal("0.144")),
                "PD": (Decimal("0.062"), Decimal("0.396")),
                "AD": (Decimal("0.068"), Decimal("0.367")),
            },
            n3=None,
        ),
        "UK": ValueSet(
            code="UK",
            source=(
                "Dolan P. Modeling valuations for EuroQol health states. "
                "Med Care 1997;35(11):1095-108"
            ),
            constant=Decimal("0.081"),
            decrements={
                "MO": (Decimal("0.069"), Decimal("0.314")),
                "SC": (Decimal("0.104"), Decimal("0.214")),
                "UA": (Decimal("0.036"), Decimal("0.094")),
                "PD": (Decimal("0.123"), Decimal("0.386")),
                "AD": (Decimal("0.071"), Decimal("0.236")),
            },
            n3=Decimal("0.269"),
        ),
    }
)


def _eq5d_levels(profile: str | Sequence[int]) -> tuple[int, ...]:
    """The five levels of a profile given as "21232" or as five ints; ValueError otherwise."""
    if isinstance(profile, str):
        # Compare against "123" rather than str.isdigit(), which accepts other scripts' digits.
        if len(profile) != len(EQ5D_DIMENSIONS) or any(ch not in "123" for ch in profile):
            raise ValueError(f"EQ-5D-3L profile must be five digits 1-3, got {profile!r}")
        return tuple(int(ch) for ch in profile)
    if isinstance(profile, bytes | bytearray) or not isinstance(profile, Sequence):
        raise ValueError(f"EQ-5D-3L profile must be a string or five integers, got {profile!r}")
    levels = tuple(level for level in profile if is_strict_int(level) and 1 <= level <= 3)
    if len(profile) != len(EQ5D_DIMENSIONS) or len(levels) != len(profile):
        raise ValueError(f"EQ-5D-3L profile must be five integers 1-3, got {profile!r}")
    return levels


def eq5d3l_index(profile: str | Sequence[int], value_set: str = "DK") -> Decimal:
    """EQ-5D-3L index value of a health profile, to three decimals.

    Index = 1 - constant - the decrement of each dimension's level - N3 (if any dimension is at
    level 3 and the value set has an N3 term). The constant applies to every state except 11111,
    which is full health and exactly 1.000. Denmark (Wittrup-Jensen 2009) is the trial's default.

    All coefficients have three decimals, so the sum is exact; the quantize only fixes the
    exponent so that every index prints with three places.
    """
    levels = _eq5d_levels(profile)
    try:
        tariff = VALUE_SETS[value_set]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown EQ-5D-3L value set {value_set!r}; known: {', '.join(VALUE_SETS)}"
        ) from None
    index = Decimal(1)
    if any(level > 1 for level in levels):
        index = _CONTEXT.subtract(index, tariff.constant)
        for dimension, level in zip(EQ5D_DIMENSIONS, levels, strict=True):
            if level > 1:
                index = _CONTEXT.subtract(index, tariff.decrements[dimension][level - 2])
        if tariff.n3 is not None and 3 in levels:
            index = _CONTEXT.subtract(index, tariff.n3)
    return index.quantize(_THREE_DECIMALS, rounding=ROUND_HALF_UP, context=_CONTEXT)


def eq5d3l_profile(dimensions: Mapping[str, int | None] | Sequence[int | None]) -> str | None:
    """The five-digit profile ("21232") from the dimension levels; ``None`` if any is missing.

    Accepts a mapping keyed by dimension code (``MO``, ``SC``, ``UA``, ``PD``, ``AD``), where an
    absent key is a missing answer, or a sequence of five levels in that order. Unknown keys are
    an error rather than ignored, so a misspelt dimension cannot pass as a missing answer.
    """
    if isinstance(dimensions, Mapping):
        unknown = set(dimensions) - set(EQ5D_DIMENSIONS)
        if unknown:
            raise ValueError(f"unknown EQ-5D-3L dimension(s): {sorted(map(str, unknown))}")
        levels = [dimensions.get(dimension) for dimension in EQ5D_DIMENSIONS]
    elif isinstance(dimensions, str | bytes | bytearray) or not isinstance(dimensions, Sequence):
        raise ValueError(f"EQ-5D-3L dimensions must be a mapping or a sequence, got {dimensions!r}")
    else:
        if len(dimensions) != len(EQ5D_DIMENSIONS):
            raise ValueError(f"EQ-5D-3L needs {len(EQ5D_DIMENSIONS)} dimensions")
        levels = list(dimensions)
    for dimension, level in zip(EQ5D_DIMENSIONS, levels, strict=True):
        if level is not None and (not is_strict_int(level) or not 1 <= level <= 3):
            raise ValueError(f"EQ-5D-3L {dimension} must be an integer 1-3 or None, got {level!r}")
    if any(level is None for level in levels):
        return None
    return "".join(str(level) for level in levels)
