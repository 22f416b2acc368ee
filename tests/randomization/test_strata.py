"""Tests for the strata declaration (no Django settings needed)."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from randomization.strata import (
    COHORT,
    EARLIER_FRACTURES,
    FACTORS,
    MYELOMA_KNOWN,
    MYELOMA_NEW,
    PLANNED_LEVELS,
    STRATA,
    Factor,
    Level,
    Stratum,
    StratumIncomplete,
    StratumInputs,
    UnknownStratum,
    derive_strata,
    get_stratum,
    stratum_choices,
    stratum_for,
)

REPO = Path(__file__).resolve().parents[2]

MISSING_STATUS = "myeloma status (screening form)"
MISSING_LEVELS = "planned PVP levels (surgical assessment)"
MISSING_EARLIER = "earlier vertebral fractures not planned for PVP (surgical assessment)"


def english(text: Any) -> str:
    """Render a (lazy) label in English, whether or not Django settings are configured.

    Under pytest-django the project's LANGUAGE_CODE may be Danish, so force
    English there; without settings the module falls back to its source text.
    """
    try:
        from django.core.exceptions import ImproperlyConfigured
        from django.utils import translation
    except ImportError:  # pragma: no cover
        return str(text)
    try:
        with translation.override("en"):
            return str(text)
    except ImproperlyConfigured:
        return str(text)


# --- The declaration -----------------------------------------------------


def test_factors_are_the_protocols_three() -> None:
    assert [f.code for f in FACTORS] == [COHORT, PLANNED_LEVELS, EARLIER_FRACTURES]
    assert [[level.code for level in f.levels] for f in FACTORS] == [
        ["A", "B"],
        ["1", "2"],
        ["N", "Y"],
    ]


def test_eight_distinct_strata() -> None:
    assert len(STRATA) == 8
    assert len({s.code for s in STRATA.values()}) == 8
    assert set(STRATA) == {"A1N", "A1Y", "A2N", "A2Y", "B1N", "B1Y", "B2N", "B2Y"}


def test_strata_are_derived_from_factors() -> None:
    expected = [
        "".join(level.code for level in combination)
        for combination in itertools.product(*(f.levels for f in FACTORS))
    ]
    assert list(STRATA) == expected
    for code, stratum in STRATA.items():
        assert stratum.code == code
        assert stratum.factor_codes == tuple(f.code for f in FACTORS)
        assert stratum.code == "".join(level.code for level in stratum.levels)
        for factor, level in zip(FACTORS, stratum.levels, strict=True):
            assert level in factor.levels
            assert stratum.level_for(factor.code) is level


def test_codes_fit_envelope_serials() -> None:
    for code in STRATA:
        assert re.fullmatch(r"[AB][12][NY]", code)
        assert re.fullmatch(r"[A-Z]{3}-[A-Z0-9]+-\d{3}", f"AAR-{code}-007")


def test_level_codes_mapping() -> None:
    assert get_stratum("B2Y").level_codes == {
        COHORT: "B",
        PLANNED_LEVELS: "2",
        EARLIER_FRACTURES: "Y",
    }


def test_level_for_unknown_factor() -> None:
    with pytest.raises(LookupError, match="no factor 'age'"):
        get_stratum("A1N").level_for("age")


def test_factor_level_lookup() -> None:
    assert FACTORS[0].level("A").code == "A"
    with pytest.raises(LookupError, match="no level 'C'"):
        FACTORS[0].level("C")


def test_strata_mapping_is_read_only() -> None:
    with pytest.raises(TypeError):
        STRATA["X1N"] = STRATA["A1N"]  # type: ignore[index]


def test_labels_are_human_readable_and_distinct() -> None:
    assert (
        english(get_stratum("A1N").label)
        == "Cohort A (known myeloma) · 1 level · no earlier untreated fractures"
    )
    assert (
        english(get_stratum("B2Y").label)
        == "Cohort B (newly diagnosed myeloma) · 2-4 levels · earlier untreated fractures"
    )
    labels = [english(s.label) for s in STRATA.values()]
    assert len(set(labels)) == 8


def test_labels_are_lazy_translation_strings() -> None:
    promise = pytest.importorskip("django.utils.functional").Promise
    for factor in FACTORS:
        assert isinstance(factor.label, promise)
        for level in factor.levels:
            assert isinstance(level.label, promise)
    for stratum in STRATA.values():
        assert isinstance(stratum.label, promise)


def test_stratum_choices() -> None:
    choices = stratum_choices()
    assert [code for code, _label in choices] == list(STRATA)
    assert [english(label) for _code, label in choices] == [
        english(s.label) for s in STRATA.values()
    ]


def test_get_stratum_unknown_code() -> None:
    with pytest.raises(UnknownStratum, match="Unknown stratum code 'C1N'") as info:
        get_stratum("C1N")
    assert isinstance(info.value, LookupError)


def test_module_imports_without_django_settings() -> None:
    """Importing (and showing a label) must not need configured settings."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    script = (
        "import randomization.blocks, randomization.strata as s\n"
        "from django.conf import settings\n"
        "assert not settings.configured\n"
        "print(s.get_stratum('A2Y').label)\n"
        "assert not settings.configured\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    expected = "Cohort A (known myeloma) · 2-4 levels · earlier untreated fractures"
    assert result.stdout.strip() == expected


# --- derive_strata guards against bad declarations ----------------------


def test_derive_strata_rejects_no_factors() -> None:
    with pytest.raises(ValueError, match="At least one"):
        derive_strata(())


def test_derive_strata_rejects_repeated_factor_codes() -> None:
    with pytest.raises(ValueError, match="Factor codes must be distinct"):
        derive_strata((FACTORS[0], FACTORS[0]))


def test_derive_strata_rejects_factor_without_levels() -> None:
    with pytest.raises(ValueError, match="has no levels"):
        derive_strata((Factor("x", "X", ()),))


def test_derive_strata_rejects_repeated_level_codes() -> None:
    with pytest.raises(ValueError, match="repeated level codes"):
        derive_strata((Factor("x", "X", (Level("A", "a"), Level("A", "b"))),))


@pytest.mark.parametrize("code", ["a", "A-1", "", "Ø"])
def test_derive_strata_rejects_serial_unsafe_codes(code: str) -> None:
    with pytest.raises(ValueError, match="upper-case letters or digits"):
        derive_strata((Factor("x", "X", (Level(code, "a"),)),))


def test_derive_strata_rejects_ambiguous_concatenations() -> None:
    factors = (
        Factor("x", "X", (Level("1", "one"), Level("11", "eleven"))),
        Factor("y", "Y", (Level("12", "twelve"), Level("2", "two"))),
    )
    with pytest.raises(ValueError, match="same stratum code '112'"):
        derive_strata(factors)


def test_derive_strata_for_another_protocol() -> None:
    factors = (
        Factor("site_type", "Site", (Level("U", "university"), Level("R", "regional"))),
        Factor("age", "Age", (Level("Y", "young"), Level("O", "old"), Level("V", "very old"))),
    )
    strata = derive_strata(factors)
    assert list(strata) == ["UY", "UO", "UV", "RY", "RO", "RV"]
    assert english(strata["RV"].label) == "regional · very old"


# --- stratum_for ---------------------------------------------------------


def expected_code(status: str, levels: int, earlier: bool) -> str:
    cohort = {"known": "A", "new": "B"}[status]
    return cohort + ("1" if levels == 1 else "2") + ("Y" if earlier else "N")


def test_every_combination_maps_to_exactly_one_stratum() -> None:
    reached: dict[str, list[tuple[str, int, bool]]] = {code: [] for code in STRATA}
    for status, levels, earlier in itertools.product(
        (MYELOMA_KNOWN, MYELOMA_NEW), (1, 2, 3, 4), (False, True)
    ):
        stratum = stratum_for(StratumInputs(status, levels, earlier))
        assert isinstance(stratum, Stratum)
        assert stratum is STRATA[expected_code(status, levels, earlier)]
        reached[stratum.code].append((status, levels, earlier))
    # Every stratum is reachable; 1 level -> one count each, 2-4 -> three.
    assert {code: len(combos) for code, combos in reached.items()} == {
        code: (1 if code[1] == "1" else 3) for code in STRATA
    }


@given(
    status=st.sampled_from([MYELOMA_KNOWN, MYELOMA_NEW]),
    levels=st.integers(min_value=1, max_value=4),
    earlier=st.booleans(),
)
def test_stratum_levels_agree_with_inputs(status: str, levels: int, earlier: bool) -> None:
    stratum = stratum_for(StratumInputs(status, levels, earlier))
    assert stratum.level_for(COHORT).code == ("A" if status == MYELOMA_KNOWN else "B")
    assert stratum.level_for(PLANNED_LEVELS).code == ("1" if levels == 1 else "2")
    assert stratum.level_for(EARLIER_FRACTURES).code == ("Y" if earlier else "N")


def test_cohort_a_is_known_myeloma() -> None:
    assert stratum_for(StratumInputs("known", 1, False)).code == "A1N"
    assert stratum_for(StratumInputs("new", 4, True)).code == "B2Y"


@pytest.mark.parametrize(
    ("inputs", "missing"),
    [
        (StratumInputs(None, 2, True), [MISSING_STATUS]),
        (StratumInputs("new", None, True), [MISSING_LEVELS]),
        (StratumInputs("new", 2, None), [MISSING_EARLIER]),
        (StratumInputs(None, None, True), [MISSING_STATUS, MISSING_LEVELS]),
        (StratumInputs(None, 3, None), [MISSING_STATUS, MISSING_EARLIER]),
        (StratumInputs("known", None, None), [MISSING_LEVELS, MISSING_EARLIER]),
        (StratumInputs(None, None, None), [MISSING_STATUS, MISSING_LEVELS, MISSING_EARLIER]),
    ],
)
def test_missing_data_are_all_named(inputs: StratumInputs, missing: list[str]) -> None:
    with pytest.raises(StratumIncomplete) as info:
        stratum_for(inputs)
    assert [english(item) for item in info.value.missing] == missing
    message = english(info.value)
    for name in missing:
        assert name in message


def test_stratum_incomplete_is_an_exception_with_a_list() -> None:
    error = StratumIncomplete(["a", "b"])
    assert isinstance(error, Exception)
    assert error.missing == ["a", "b"]
    assert str(error) == "The stratum cannot be computed; missing: a; b."


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (StratumInputs("old", 1, False), "Unknown myeloma status 'old'"),
        (StratumInputs("", 1, False), "Unknown myeloma status ''"),
        (StratumInputs("Known", 1, False), "Unknown myeloma status 'Known'"),
        (StratumInputs("new", 0, False), "must be 1 to 4, not 0"),
        (StratumInputs("new", 5, False), "must be 1 to 4, not 5"),
        (StratumInputs("new", -1, False), "must be 1 to 4, not -1"),
        (StratumInputs("new", True, False), "whole number"),
        (StratumInputs("new", "2", False), "whole number"),  # type: ignore[arg-type]
        (StratumInputs("new", 2.0, False), "whole number"),  # type: ignore[arg-type]
        (StratumInputs("new", 2, "yes"), "True or False"),  # type: ignore[arg-type]
        (StratumInputs("new", 2, 1), "True or False"),  # type: ignore[arg-type]
        # Impossible values win over missing ones: they are bugs, not gaps.
        (StratumInputs("old", None, None), "Unknown myeloma status"),
        (StratumInputs(None, 7, None), "must be 1 to 4"),
    ],
)
def test_impossible_values_raise_value_error(inputs: StratumInputs, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stratum_for(inputs)


def test_stratum_incomplete_is_not_a_value_error() -> None:
    # Callers catch them separately: one is "complete the forms", the other a bug.
    assert not issubclass(StratumIncomplete, ValueError)
