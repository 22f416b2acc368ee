"""Scoring against reference cases worked by hand from the published formulas and tariffs.

ODI: Fairbank JCT, Pynsent PB. The Oswestry Disability Index. Spine 2000;25(22):2940-52.
  Score = sum of answered sections / (5 x sections answered) x 100; a missing section shrinks
  the denominator. The trial scores nothing when more than one section is missing (a setting).
EQ-5D-3L, UK: Dolan P. Modeling valuations for EuroQol health states.
  Med Care 1997;35(11):1095-108.
EQ-5D-3L, Denmark: Wittrup-Jensen KU, Lauridsen J, Gudex C, Pedersen KM. Generation of a
  Danish TTO value set for EQ-5D health states. Scand J Public Health 2009;37(5):459-66.
  Index = 1 - constant (any state but 11111) - each dimension's decrement - N3 (UK only).

Only values derivable by hand from those coefficients are asserted; each comment shows the sum.
"""

import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from questionnaires.scoring import (
    EQ5D_DIMENSIONS,
    VALUE_SETS,
    ScoringOptions,
    eq5d3l_index,
    eq5d3l_profile,
    odi_band,
    odi_score,
    odi_section_value,
    vas_value,
)

# ---------------------------------------------------------------------------------------------
# ODI
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        # Nothing at all: 0 / (5 x 10) x 100 = 0.
        ([0] * 10, "0.0"),
        # Every section at its worst: 50 / 50 x 100 = 100.
        ([5] * 10, "100.0"),
        # Sum 18 over ten answered: 18 / 50 x 100 = 36.0.
        ([2, 2, 2, 2, 2, 2, 2, 2, 1, 1], "36.0"),
        # One section (sex life) missing, sum 18 over nine answered: 18 / 45 x 100 = 40.0;
        # counting the gap as 0 instead would wrongly give 36.0.
        ([2, 2, 2, 2, 2, 2, 2, None, 2, 2], "40.0"),
        # One missing, sum 10 over nine: 10 / 45 x 100 = 22.22... -> 22.2.
        ([None, 2, 1, 1, 1, 1, 1, 1, 1, 1], "22.2"),
        # One missing, sum 4 over nine: 4 / 45 x 100 = 8.88... -> 8.9 (rounded up).
        ([1, 1, 1, 1, 0, 0, 0, 0, 0, None], "8.9"),
        # Sum 23 over ten: 23 / 50 x 100 = 46.0.
        ([5, 4, 3, 2, 1, 0, 1, 2, 3, 2], "46.0"),
    ],
)
def test_odi_reference_cases(sections, expected):
    score = odi_score(sections)
    assert score == Decimal(expected)
    assert str(score) == expected  # always one decimal place, as reported


def test_odi_two_missing_sections_give_no_score_by_default():
    assert odi_score([2, 2, 2, 2, 2, 2, 2, 2, None, None]) is None


def test_odi_allowing_two_missing_scores_over_eight_sections():
    # Sum 18 over eight answered: 18 / 40 x 100 = 45.0.
    assert odi_score([3, 3, 2, 2, 2, 2, 2, 2, None, None], max_missing=2) == Decimal("45.0")


def test_odi_max_missing_zero_requires_every_section():
    assert odi_score([1] * 9 + [None], max_missing=0) is None
    assert odi_score([1] * 10, max_missing=0) == Decimal("20.0")


def test_odi_with_every_section_missing_has_no_score_whatever_the_setting():
    assert odi_score([None] * 10, max_missing=10) is None


@pytest.mark.parametrize(
    "sections",
    [
        [0] * 9,
        [0] * 11,
        [],
        [0] * 9 + [6],
        [0] * 9 + [-1],
        [0] * 9 + [True],  # a bool is not an answer
        [0] * 9 + [2.0],
        [0] * 9 + ["2"],
        "0000000000",  # ten characters, but not ten answers
    ],
)
def test_odi_rejects_invalid_sections(sections):
    with pytest.raises(ValueError):
        odi_score(sections)


@pytest.mark.parametrize("max_missing", [-1, True, 1.0])
def test_odi_rejects_invalid_max_missing(max_missing):
    with pytest.raises(ValueError):
        odi_score([0] * 10, max_missing=max_missing)


def test_odi_default_max_missing_matches_the_trial_setting_default():
    assert ScoringOptions().odi_max_missing == 1


@pytest.mark.parametrize(
    ("ticked", "expected"),
    [([], None), ([3], 3), ([2, 4], 4), ([4, 2], 4), ((0, 5, 1), 5)],
)
def test_odi_section_counts_the_higher_of_two_ticked_statements(ticked, expected):
    assert odi_section_value(ticked) == expected


@pytest.mark.parametrize("ticked", [[6], [-1], [True], [2, "3"], [1.0]])
def test_odi_section_rejects_invalid_statements(ticked):
    with pytest.raises(ValueError):
        odi_section_value(ticked)


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0, "minimal"),
        (Decimal("20"), "minimal"),
        # Between the published integer ranges 0-20 and 21-40: above 20 is more than minimal.
        (Decimal("20.5"), "moderate"),
        (21, "moderate"),
        (Decimal("40.0"), "moderate"),
        (Decimal("40.1"), "severe"),
        (60, "severe"),
        (Decimal("60.5"), "crippled"),
        (80, "crippled"),
        (Decimal("80.1"), "bed_bound"),
        (100, "bed_bound"),
    ],
)
def test_odi_bands(score, band):
    assert odi_band(score) == band


@pytest.mark.parametrize("score", [-1, 101, Decimal("100.1"), Decimal("NaN"), 20.0, True, "20"])
def test_odi_band_rejects_scores_outside_0_to_100(score):
    with pytest.raises(ValueError):
        odi_band(score)


odi_sections = st.lists(st.one_of(st.none(), st.integers(0, 5)), min_size=10, max_size=10)


# Generation is cheap; on a loaded CI machine it can still look "too slow" to hypothesis.
@hypothesis_settings(suppress_health_check=[HealthCheck.too_slow])
@given(sections=odi_sections, max_missing=st.integers(0, 10))
def test_odi_is_between_0_and_100_or_none(sections, max_missing):
    score = odi_score(sections, max_missing=max_missing)
    missing = sections.count(None)
    if missing > max_missing or missing == 10:
        assert score is None
    else:
        assert score is not None
        assert Decimal(0) <= score <= Decimal(100)
        assert score.as_tuple().exponent == -1


@given(sections=odi_sections, max_missing=st.integers(0, 10), data=st.data())
def test_odi_never_falls_when_an_answered_section_rises(sections, max_missing, data):
    raisable = [i for i, value in enumerate(sections) if value is not None and value < 5]
    assume(raisable)
    index = data.draw(st.sampled_from(raisable))
    raised = list(sections)
    raised[index] = data.draw(st.integers(sections[index] + 1, 5))
    before = odi_score(sections, max_missing=max_missing)
    after = odi_score(raised, max_missing=max_missing)
    assert (before is None) == (after is None)
    if before is not None and after is not None:
        assert after > before


@given(
    sections=st.lists(st.integers(0, 5), min_size=10, max_size=10),
    blank=st.one_of(st.none(), st.integers(0, 9)),
)
def test_odi_every_score_falls_in_a_band(sections, blank):
    if blank is not None:
        sections[blank] = None
    score = odi_score(sections)
    assert score is not None
    assert odi_band(score) in {"minimal", "moderate", "severe", "crippled", "bed_bound"}


# ---------------------------------------------------------------------------------------------
# VAS
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 50, 99, 100])
def test_vas_accepts_integers_0_to_100(value):
    assert vas_value(value) == value


def test_vas_untouched_slider_stays_missing_not_50():
    assert vas_value(None) is None


@pytest.mark.parametrize("value", [-1, 101, True, False, 50.0, "50", Decimal(50)])
def test_vas_rejects_anything_else(value):
    with pytest.raises(ValueError):
        vas_value(value)


# ---------------------------------------------------------------------------------------------
# EQ-5D-3L
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        # Full health is exactly 1, with no constant.
        ("11111", "1.000"),
        # 1 - 0.081 - 0.314 - 0.214 - 0.094 - 0.386 - 0.236 - 0.269 (N3) = 1 - 1.594 = -0.594
        ("33333", "-0.594"),
        # 1 - 0.081 - 0.069 (MO2) = 0.850
        ("21111", "0.850"),
        # 1 - 0.081 - 0.104 (SC2) = 0.815
        ("12111", "0.815"),
        # 1 - 0.081 - 0.036 (UA2) = 0.883
        ("11211", "0.883"),
        # 1 - 0.081 - 0.123 (PD2) = 0.796
        ("11121", "0.796"),
        # 1 - 0.081 - 0.071 (AD2) = 0.848
        ("11112", "0.848"),
        # 1 - 0.081 - 0.236 (AD3) - 0.269 (N3) = 1 - 0.586 = 0.414
        ("11113", "0.414"),
        # 1 - 0.081 - 0.069 - 0.104 - 0.036 - 0.123 - 0.071 = 1 - 0.484 = 0.516
        ("22222", "0.516"),
        # 1 - 0.081 - 0.069 (MO2) - 0.036 (UA2) - 0.386 (PD3) - 0.071 (AD2) - 0.269 (N3)
        #   = 1 - 0.912 = 0.088
        ("21232", "0.088"),
        # 1 - 0.081 - 0.314 (MO3) - 0.104 (SC2) - 0.036 (UA2) - 0.269 (N3) = 1 - 0.804 = 0.196
        ("32211", "0.196"),
        # 1 - 0.081 - 0.386 (PD3) - 0.236 (AD3) - 0.269 (N3) = 1 - 0.972 = 0.028
        ("11133", "0.028"),
    ],
)
def test_eq5d3l_uk_dolan_1997(profile, expected):
    index = eq5d3l_index(profile, value_set="UK")
    assert index == Decimal(expected)
    assert str(index) == expected  # three decimals, exactly as tabulated


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("11111", "1.000"),
        # 1 - 0.114 - 0.411 - 0.192 - 0.144 - 0.396 - 0.367 = 1 - 1.624 = -0.624 (no N3)
        ("33333", "-0.624"),
        # 1 - 0.114 - 0.053 (MO2) = 0.833
        ("21111", "0.833"),
        # 1 - 0.114 - 0.062 (PD2) = 0.824
        ("11121", "0.824"),
        # 1 - 0.114 - 0.367 (AD3) = 0.519; no N3 in the Danish set
        ("11113", "0.519"),
        # 1 - 0.114 - 0.053 - 0.063 - 0.048 - 0.062 - 0.068 = 1 - 0.408 = 0.592
        ("22222", "0.592"),
        # 1 - 0.114 - 0.053 (MO2) - 0.048 (UA2) - 0.396 (PD3) - 0.068 (AD2) = 1 - 0.679 = 0.321
        ("21232", "0.321"),
        # 1 - 0.114 - 0.411 (MO3) - 0.063 (SC2) - 0.048 (UA2) = 1 - 0.636 = 0.364
        ("32211", "0.364"),
        # 1 - 0.114 - 0.063 (SC2) - 0.144 (UA3) - 0.062 (PD2) = 1 - 0.383 = 0.617
        ("12321", "0.617"),
    ],
)
def test_eq5d3l_denmark_wittrup_jensen_2009(profile, expected):
    index = eq5d3l_index(profile, value_set="DK")
    assert index == Decimal(expected)
    assert str(index) == expected


def test_eq5d3l_defaults_to_the_danish_value_set():
    assert eq5d3l_index("21232") == eq5d3l_index("21232", value_set="DK") == Decimal("0.321")
    assert ScoringOptions().eq5d_value_set == "DK"


def test_eq5d3l_accepts_five_ints_as_well_as_a_string():
    assert eq5d3l_index([2, 1, 2, 3, 2], value_set="UK") == eq5d3l_index("21232", value_set="UK")
    assert eq5d3l_index((1, 1, 1, 1, 1)) == Decimal("1.000")


@pytest.mark.parametrize(
    "profile",
    [
        "",
        "1111",
        "111111",
        "11110",
        "11114",
        "1111a",
        " 11111",
        "１１１１１",  # full-width digits pass str.isdigit() but are not levels
        11111,
        None,
        b"11111",
        [1, 1, 1, 1],
        [1, 1, 1, 1, 4],
        [1, 1, 1, 1, True],
        ["1", "1", "1", "1", "1"],
        [1.0, 1, 1, 1, 1],
    ],
)
def test_eq5d3l_rejects_invalid_profiles(profile):
    with pytest.raises(ValueError):
        eq5d3l_index(profile)


@pytest.mark.parametrize("value_set", ["SE", "", "dk", None])
def test_eq5d3l_rejects_unknown_value_sets(value_set):
    with pytest.raises(ValueError, match="value set"):
        eq5d3l_index("21111", value_set=value_set)


def test_value_sets_are_declared_as_published():
    danish, uk = VALUE_SETS["DK"], VALUE_SETS["UK"]
    assert danish.constant == Decimal("0.114")
    assert danish.n3 is None
    assert danish.decrements["MO"] == (Decimal("0.053"), Decimal("0.411"))
    assert uk.constant == Decimal("0.081")
    assert uk.n3 == Decimal("0.269")
    assert uk.decrements["AD"] == (Decimal("0.071"), Decimal("0.236"))
    assert tuple(uk.decrements) == tuple(danish.decrements) == EQ5D_DIMENSIONS


def test_value_sets_cannot_be_changed_by_a_caller():
    with pytest.raises(TypeError):
        VALUE_SETS["XX"] = VALUE_SETS["DK"]  # type: ignore[index]
    with pytest.raises(TypeError):
        VALUE_SETS["DK"].decrements["MO"] = (Decimal(0), Decimal(0))  # type: ignore[index]


@pytest.mark.parametrize(
    ("dimensions", "expected"),
    [
        ({"MO": 2, "SC": 1, "UA": 2, "PD": 3, "AD": 2}, "21232"),
        ([2, 1, 2, 3, 2], "21232"),
        ((1, 1, 1, 1, 1), "11111"),
        ({"MO": 2, "SC": 1, "UA": 2, "PD": 3}, None),  # AD not answered
        ({"MO": 2, "SC": 1, "UA": 2, "PD": 3, "AD": None}, None),
        ([2, 1, None, 3, 2], None),
        ({}, None),
    ],
)
def test_eq5d3l_profile_from_dimension_levels(dimensions, expected):
    assert eq5d3l_profile(dimensions) == expected


@pytest.mark.parametrize(
    "dimensions",
    [
        {"MO": 2, "SC": 1, "UA": 2, "PD": 3, "AX": 2},  # misspelt key is not a missing answer
        {"MO": 4},
        {"MO": True},
        [2, 1, 2, 3],
        [2, 1, 2, 3, 0],
        "21232",
        21232,
    ],
)
def test_eq5d3l_profile_rejects_invalid_levels(dimensions):
    with pytest.raises(ValueError):
        eq5d3l_profile(dimensions)


valid_profiles = st.text(alphabet="123", min_size=5, max_size=5)
value_set_codes = st.sampled_from(sorted(VALUE_SETS))
_VALID_PROFILE = re.compile(r"[123]{5}")


@given(
    text=st.one_of(
        st.text(),
        # Near misses are where a parser goes wrong, so generate many of them.
        st.text(alphabet="0123 4\n", max_size=7),
    ).filter(lambda text: not _VALID_PROFILE.fullmatch(text)),
    value_set=value_set_codes,
)
def test_eq5d3l_any_other_string_is_rejected(text, value_set):
    with pytest.raises(ValueError):
        eq5d3l_index(text, value_set=value_set)


@given(profile=valid_profiles, value_set=value_set_codes)
def test_eq5d3l_index_lies_between_worst_state_and_full_health(profile, value_set):
    index = eq5d3l_index(profile, value_set=value_set)
    assert eq5d3l_index("33333", value_set=value_set) <= index <= Decimal(1)
    assert index.as_tuple().exponent == -3


@given(
    profile=valid_profiles,
    dimension=st.integers(0, 4),
    value_set=value_set_codes,
)
def test_eq5d3l_index_falls_whenever_a_dimension_worsens(profile, dimension, value_set):
    level = int(profile[dimension])
    assume(level < 3)
    worse = profile[:dimension] + str(level + 1) + profile[dimension + 1 :]
    assert eq5d3l_index(worse, value_set=value_set) < eq5d3l_index(profile, value_set=value_set)
