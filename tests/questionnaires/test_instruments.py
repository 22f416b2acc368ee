"""Instrument definitions, the registry, and loading wording per language from files.

Nothing here reads Django settings in-process (the tests run with and without pytest-django);
the one behaviour that depends on settings is checked in a fresh interpreter.
"""

import dataclasses
import json
import os
import re
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from questionnaires.instruments import (
    DEMO_WORDING_DIR,
    INSTRUMENTS,
    Item,
    WordingError,
    get_instrument,
    load_wording,
)
from questionnaires.scoring import ScoringOptions

REPO_ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("da", "en")


# ---------------------------------------------------------------------------------------------
# Definitions
# ---------------------------------------------------------------------------------------------


def test_registry_holds_the_trials_instruments():
    assert set(INSTRUMENTS) == {"odi", "vas", "eq5d3l", "hsu"}
    assert all(code == instrument.code for code, instrument in INSTRUMENTS.items())
    assert get_instrument("odi") is INSTRUMENTS["odi"]


def test_unknown_instrument_names_the_known_ones():
    with pytest.raises(LookupError, match="odi"):
        get_instrument("sf12")


def test_odi_has_ten_sections_scored_0_to_5():
    odi = get_instrument("odi")
    assert odi.version == "2.1a"
    assert odi.item_codes == tuple(f"odi_{n}" for n in range(1, 11))
    assert [item.key for item in odi.items] == [
        "pain_intensity",
        "personal_care",
        "lifting",
        "walking",
        "sitting",
        "standing",
        "sleeping",
        "sex_life",
        "social_life",
        "travelling",
    ]
    assert all(item.kind == "choice" and item.choices == (0, 1, 2, 3, 4, 5) for item in odi.items)
    # A section may be skipped; the score's missing-section rule decides what that means.
    assert not any(item.required for item in odi.items)


def test_vas_back_and_leg_run_0_to_100():
    vas = get_instrument("vas")
    assert vas.item_codes == ("vas_back", "vas_leg")
    assert all((i.kind, i.min_value, i.max_value) == ("vas", 0, 100) for i in vas.items)


def test_eq5d3l_has_five_dimensions_at_levels_1_to_3_and_eq_vas():
    eq5d = get_instrument("eq5d3l")
    assert eq5d.item_codes == ("eq5d_mo", "eq5d_sc", "eq5d_ua", "eq5d_pd", "eq5d_ad", "eq_vas")
    assert all(item.choices == (1, 2, 3) for item in eq5d.items[:5])
    eq_vas = eq5d.item("eq_vas")
    assert (eq_vas.kind, eq_vas.min_value, eq_vas.max_value) == ("vas", 0, 100)


def test_health_service_use_is_non_negative_counts():
    hsu = get_instrument("hsu")
    assert hsu.item_codes == (
        "hsu_gp",
        "hsu_outpatient",
        "hsu_emergency",
        "hsu_admission_nights",
        "hsu_physio",
        "hsu_homecare",
    )
    assert all((i.kind, i.min_value, i.max_value) == ("count", 0, 365) for i in hsu.items)


def test_definitions_are_frozen():
    odi = get_instrument("odi")
    with pytest.raises(dataclasses.FrozenInstanceError):
        odi.version = "2.0"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        odi.items[0].choices = (0, 1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        INSTRUMENTS["odi"] = odi  # type: ignore[index]


def _item(code: str) -> Item:
    return next(i for ins in INSTRUMENTS.values() for i in ins.items if i.code == code)


@pytest.mark.parametrize(
    ("code", "value"),
    [
        ("odi_1", 6),
        ("odi_1", -1),
        ("odi_1", True),
        ("odi_1", "3"),
        ("eq5d_mo", 0),
        ("eq5d_mo", 4),
        ("vas_back", 101),
        ("vas_back", 50.5),
        ("hsu_gp", -1),
        ("hsu_admission_nights", 366),
    ],
)
def test_items_reject_values_outside_their_codes_or_range(code, value):
    item = _item(code)
    with pytest.raises(ValueError, match=code):
        item.validate(value)


@pytest.mark.parametrize(
    ("code", "value"), [("odi_1", 0), ("odi_1", 5), ("eq5d_ad", 3), ("vas_leg", 0), ("hsu_gp", 0)]
)
def test_items_accept_their_values_and_missing(code, value):
    item = _item(code)
    assert item.validate(value) == value
    assert item.validate(None) is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "choice"},
        {"kind": "choice", "choices": (1, 1)},
        {"kind": "choice", "choices": (1, 2), "min_value": 0, "max_value": 2},
        {"kind": "vas", "min_value": 0},
        {"kind": "count", "min_value": 5, "max_value": 1},
        {"kind": "count", "choices": (1,), "min_value": 0, "max_value": 1},
    ],
)
def test_inconsistent_item_definitions_are_refused(kwargs):
    with pytest.raises(ValueError):
        Item(code="x", key="x", **kwargs)


def test_cleaning_fills_absent_answers_with_none_and_refuses_unknown_codes():
    vas = get_instrument("vas")
    assert vas.clean({"vas_back": 40}) == {"vas_back": 40, "vas_leg": None}
    with pytest.raises(ValueError, match="vas_arm"):
        vas.clean({"vas_arm": 10})


def test_odi_scores_through_the_instrument_with_the_callers_setting():
    # Two missing sections, sum 18 over eight answered: 18 / 40 x 100 = 45.0 (Fairbank 2000).
    answers = {f"odi_{n}": value for n, value in enumerate([3, 3, 2, 2, 2, 2, 2, 2], start=1)}
    odi = get_instrument("odi")
    assert odi.score(answers) == {"odi_score": None, "odi_band": None}
    assert odi.score(answers, ScoringOptions(odi_max_missing=2)) == {
        "odi_score": Decimal("45.0"),
        "odi_band": "severe",
    }


def test_eq5d3l_scores_with_the_chosen_value_set_and_records_it():
    answers = {"eq5d_mo": 2, "eq5d_sc": 1, "eq5d_ua": 2, "eq5d_pd": 3, "eq5d_ad": 2, "eq_vas": 60}
    eq5d = get_instrument("eq5d3l")
    # DK 21232 = 1 - 0.114 - 0.053 - 0.048 - 0.396 - 0.068 = 0.321 (Wittrup-Jensen 2009)
    assert eq5d.score(answers) == {
        "eq5d_profile": "21232",
        "eq5d_index": Decimal("0.321"),
        "eq5d_value_set": "DK",
    }
    # UK 21232 = 1 - 0.081 - 0.069 - 0.036 - 0.386 - 0.071 - 0.269 = 0.088 (Dolan 1997)
    uk = eq5d.score(answers, ScoringOptions(eq5d_value_set="UK"))
    assert uk["eq5d_index"] == Decimal("0.088")
    assert uk["eq5d_value_set"] == "UK"


def test_eq5d3l_with_a_missing_dimension_has_no_profile_or_index():
    scores = get_instrument("eq5d3l").score({"eq5d_mo": 2, "eq5d_sc": 1, "eq_vas": 60})
    assert scores["eq5d_profile"] is None
    assert scores["eq5d_index"] is None


def test_unscored_instruments_give_no_derived_scores():
    assert get_instrument("vas").score({"vas_back": 30}) == {}
    assert get_instrument("hsu").score({"hsu_gp": 2}) == {}


def test_scoring_validates_answers_first():
    with pytest.raises(ValueError, match="odi_2"):
        get_instrument("odi").score({"odi_2": 7})


# ---------------------------------------------------------------------------------------------
# Wording
# ---------------------------------------------------------------------------------------------

ALL_WORDINGS = [(code, language) for code in INSTRUMENTS for language in LANGUAGES]


@pytest.mark.parametrize(("code", "language"), ALL_WORDINGS)
def test_demo_wording_covers_every_item_and_choice(code, language):
    wording = load_wording(code, language, directory=DEMO_WORDING_DIR)
    instrument = get_instrument(code)
    assert wording.demo is True
    assert wording.source == DEMO_WORDING_DIR / language / f"{code}.json"
    assert "DEMO" in (wording.title + wording.intro).upper()
    for item in instrument.items:
        assert wording.text(item.code).strip()
        for choice in item.choices:
            assert wording.choice_label(item.code, choice).strip()
        if item.kind == "vas":
            assert set(wording.items[item.code].anchors) == {"low", "high"}


@pytest.mark.parametrize(("code", "language"), ALL_WORDINGS)
def test_demo_files_carry_the_demo_flag(code, language):
    data = json.loads((DEMO_WORDING_DIR / language / f"{code}.json").read_text(encoding="utf-8"))
    assert data["demo"] is True


@pytest.mark.parametrize("code", list(INSTRUMENTS))
def test_danish_demo_wording_is_not_a_copy_of_the_english(code):
    danish, english = (
        load_wording(code, "da", DEMO_WORDING_DIR),
        load_wording(code, "en", DEMO_WORDING_DIR),
    )
    for item_code in get_instrument(code).item_codes:
        assert danish.text(item_code) != english.text(item_code)


def _demo_data(code: str, language: str) -> dict:
    return json.loads((DEMO_WORDING_DIR / language / f"{code}.json").read_text(encoding="utf-8"))


def _install(directory: Path, code: str, language: str, data: dict) -> Path:
    path = directory / language / f"{code}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _licensed(code: str, language: str) -> dict:
    data = _demo_data(code, language)
    data["demo"] = False
    data["title"] = f"Licensed {code} title"
    return data


def test_licensed_directory_takes_precedence_over_demo(tmp_path):
    path = _install(tmp_path, "odi", "en", _licensed("odi", "en"))
    wording = load_wording("odi", "en", directory=tmp_path)
    assert wording.demo is False
    assert wording.source == path
    assert wording.title == "Licensed odi title"


def test_absent_licensed_file_falls_back_to_demo_with_the_flag(tmp_path):
    _install(tmp_path, "odi", "en", _licensed("odi", "en"))
    # Licensed English only: Danish falls back to the demo, visibly.
    wording = load_wording("odi", "da", directory=tmp_path)
    assert wording.demo is True
    assert wording.source == DEMO_WORDING_DIR / "da" / "odi.json"
    assert load_wording("vas", "en", directory=tmp_path / "does-not-exist").demo is True


def test_a_file_without_the_demo_key_counts_as_licensed(tmp_path):
    data = _licensed("vas", "da")
    del data["demo"]
    _install(tmp_path, "vas", "da", data)
    assert load_wording("vas", "da", directory=tmp_path).demo is False


def _break(data: dict, path: str) -> None:
    *parents, last = path.split(".")
    for key in parents:
        data = data[key]
    del data[last]


@pytest.mark.parametrize(
    ("code", "removed"),
    [
        ("odi", "items.odi_3.choices.4"),
        ("odi", "items.odi_10.text"),
        ("odi", "items.odi_7"),
        ("odi", "title"),
        ("odi", "intro"),
        ("eq5d3l", "items.eq5d_pd.choices.3"),
        ("eq5d3l", "items.eq_vas.anchors.high"),
        ("vas", "items.vas_leg.anchors.low"),
        ("hsu", "items.hsu_physio.text"),
    ],
)
def test_a_missing_key_in_a_licensed_file_is_an_error_naming_it(tmp_path, code, removed):
    data = _licensed(code, "en")
    _break(data, removed)
    _install(tmp_path, code, "en", data)
    with pytest.raises(WordingError, match=re.escape(removed)):
        load_wording(code, "en", directory=tmp_path)


def test_empty_text_counts_as_missing(tmp_path):
    data = _licensed("odi", "da")
    data["items"]["odi_1"]["choices"]["2"] = "  "
    _install(tmp_path, "odi", "da", data)
    with pytest.raises(WordingError, match=r"items\.odi_1\.choices\.2"):
        load_wording("odi", "da", directory=tmp_path)


def test_every_gap_is_reported_at_once(tmp_path):
    data = _licensed("eq5d3l", "en")
    del data["items"]["eq5d_mo"]["choices"]["2"]
    del data["items"]["eq5d_ad"]["text"]
    _install(tmp_path, "eq5d3l", "en", data)
    with pytest.raises(WordingError) as raised:
        load_wording("eq5d3l", "en", directory=tmp_path)
    assert "items.eq5d_mo.choices.2" in str(raised.value)
    assert "items.eq5d_ad.text" in str(raised.value)
    assert str(tmp_path) in str(raised.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["items"].update(odi_11={"text": "x"}), r"unknown item items\.odi_11"),
        (lambda d: d["items"]["odi_1"]["choices"].update({"6": "x"}), r"odi_1\.choices\.6"),
        (lambda d: d.update(version="2.0"), "version"),
        (lambda d: d.update(instrument="vas"), "instrument"),
        (lambda d: d.update(language="da"), "language"),
        (lambda d: d.update(demo="no"), "demo"),
        (lambda d: d.update(items=[]), "missing items"),
    ],
)
def test_a_licensed_file_for_another_instrument_or_version_is_refused(tmp_path, change, message):
    data = _licensed("odi", "en")
    change(data)
    _install(tmp_path, "odi", "en", data)
    with pytest.raises(WordingError, match=message):
        load_wording("odi", "en", directory=tmp_path)


def test_a_broken_licensed_file_is_an_error_not_a_silent_fall_back(tmp_path):
    path = tmp_path / "en" / "odi.json"
    path.parent.mkdir()
    path.write_text('{"title": ', encoding="utf-8")
    with pytest.raises(WordingError, match="cannot read"):
        load_wording("odi", "en", directory=tmp_path)


@pytest.mark.parametrize("language", ["fr", "../en", "EN", "", "en/../da"])
def test_unknown_or_unsafe_languages_are_refused(language):
    with pytest.raises(WordingError):
        load_wording("odi", language, directory=DEMO_WORDING_DIR)


def test_unknown_instrument_wording_is_refused():
    with pytest.raises(LookupError):
        load_wording("sf12", "en", directory=DEMO_WORDING_DIR)


def _run_python(code: str, *, env: dict) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def _env_without_django_settings() -> dict:
    return {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}


def test_loader_works_without_django_configured():
    out = _run_python(
        """
        from questionnaires.instruments import load_wording
        print(load_wording("odi", "da").demo)
        """,
        env=_env_without_django_settings(),
    )
    assert out == "True"


def test_setting_names_the_licensed_directory(tmp_path):
    path = _install(tmp_path, "vas", "en", _licensed("vas", "en"))
    out = _run_python(
        f"""
        from django.conf import settings
        settings.configure(QUESTIONNAIRE_WORDING_DIR={str(tmp_path)!r})
        from questionnaires.instruments import load_wording
        print(load_wording("vas", "en").source)
        print(load_wording("vas", "da").demo)
        """,
        env=_env_without_django_settings(),
    )
    assert out.splitlines() == [str(path), "True"]
