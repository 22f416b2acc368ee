"""Loading an instrument's wording for one language from a JSON text file.

The wording of the ODI (Mapi Research Trust) and EQ-5D (EuroQol) is licensed, so it is not in
the code or the repository. The trial installs the licensed files in a directory of its own,
named by the setting ``QUESTIONNAIRE_WORDING_DIR``, laid out as ``<dir>/<language>/<code>.json``.
The repository ships demo wording of its own in the same layout (``questionnaires/wording/demo``)
so that the app runs; every demo file says ``"demo": true`` and the loaded ``Wording`` carries
that flag, so a page can show plainly that it is not the licensed text.

A file looks like this (``choices`` for choice items, ``anchors`` for sliders)::

    {"demo": false, "instrument": "odi", "version": "2.1a", "language": "en",
     "title": "...", "intro": "...",
     "items": {"odi_1": {"text": "...", "choices": {"0": "...", ..., "5": "..."}},
               "vas_back": {"text": "...", "anchors": {"low": "...", "high": "..."}}}}

Importing this module does not import Django; the setting is read only when a caller asks for
the configured directory and Django's settings are in use.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from questionnaires.instruments.base import Instrument
from questionnaires.instruments.registry import get_instrument

DEMO_WORDING_DIR = Path(__file__).resolve().parent.parent / "wording" / "demo"
SETTING_NAME = "QUESTIONNAIRE_WORDING_DIR"
ANCHORS = ("low", "high")

# Language codes become path components, so they are checked rather than trusted.
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?")
# Enough to find every gap in one pass without burying the message.
_MAX_PROBLEMS_SHOWN = 20


class WordingError(ValueError):
    """A wording file is missing, unreadable or incomplete; the message names file and key."""


@dataclass(frozen=True)
class ItemWording:
    text: str
    choices: Mapping[int, str]
    anchors: Mapping[str, str]


@dataclass(frozen=True)
class Wording:
    """The text of one instrument in one language, checked complete against its definition."""

    instrument: str
    language: str
    demo: bool
    source: Path
    title: str
    intro: str
    items: Mapping[str, ItemWording]

    def text(self, item_code: str) -> str:
        return self.items[item_code].text

    def choice_label(self, item_code: str, choice: int) -> str:
        return self.items[item_code].choices[choice]


def configured_wording_dir() -> Path | None:
    """The licensed-wording directory from Django settings, if Django is in use and it is set.

    Django is imported here, not at module level, so that the scoring core and its tests run
    without it. Settings count as in use when configured or named by DJANGO_SETTINGS_MODULE
    (reading the setting then loads them, as any Django code would).
    """
    try:
        from django.conf import ENVIRONMENT_VARIABLE, settings
    except ImportError:
        return None
    if not settings.configured and not os.environ.get(ENVIRONMENT_VARIABLE):
        return None
    value = getattr(settings, SETTING_NAME, None)
    return Path(value) if value else None


def wording_path(directory: Path | str, instrument_code: str, language: str) -> Path:
    return Path(directory) / language / f"{instrument_code}.json"


def load_wording(
    instrument_code: str, language: str, directory: Path | str | None = None
) -> Wording:
    """The wording of an instrument in a language, from the licensed file or else the demo.

    ``directory`` defaults to the ``QUESTIONNAIRE_WORDING_DIR`` setting. When that directory has
    no file for this instrument and language, the shipped demo file is used, and its ``demo``
    flag shows it. A licensed file that exists but is broken or incomplete is an error, never a
    silent fall back: patients must not be shown demo text because of a typo in a key.
    """
    instrument = get_instrument(instrument_code)
    if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
        raise WordingError(f"not a language code: {language!r}")
    if directory is None:
        directory = configured_wording_dir()
    candidates = [] if directory is None else [wording_path(directory, instrument.code, language)]
    candidates.append(wording_path(DEMO_WORDING_DIR, instrument.code, language))
    for path in candidates:
        if path.is_file():
            return _read(instrument, language, path)
    raise WordingError(
        f"no {instrument.code} wording in language {language!r}; looked for "
        + " and ".join(str(path) for path in candidates)
    )


def _read(instrument: Instrument, language: str, path: Path) -> Wording:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WordingError(f"cannot read wording file {path}: {error}") from error
    if not isinstance(data, dict):
        raise WordingError(f"wording file {path} must hold a JSON object")
    problems = _problems(instrument, language, data)
    if problems:
        shown = "; ".join(problems[:_MAX_PROBLEMS_SHOWN])
        more = len(problems) - _MAX_PROBLEMS_SHOWN
        raise WordingError(
            f"{instrument.code} wording in {path} is incomplete: {shown}"
            + (f"; and {more} more" if more > 0 else "")
        )
    items = data["items"]
    return Wording(
        instrument=instrument.code,
        language=language,
        demo=data.get("demo", False),
        source=path,
        title=data["title"],
        intro=data["intro"],
        items=MappingProxyType(
            {
                item.code: ItemWording(
                    text=items[item.code]["text"],
                    choices=MappingProxyType(
                        {code: items[item.code]["choices"][str(code)] for code in item.choices}
                    ),
                    anchors=MappingProxyType(
                        {name: items[item.code]["anchors"][name] for name in ANCHORS}
                        if item.kind == "vas"
                        else {}
                    ),
                )
                for item in instrument.items
            }
        ),
    )


def _has_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _problems(instrument: Instrument, language: str, data: dict[str, Any]) -> list[str]:
    """Everything wrong with a wording file, each naming its key (``items.odi_3.choices.4``)."""
    problems = []
    if not isinstance(data.get("demo", False), bool):
        problems.append("demo must be true or false")
    for key, expected in (
        ("instrument", instrument.code),
        ("version", instrument.version),
        ("language", language),
    ):
        if key in data and data[key] != expected:
            problems.append(f"{key} is {data[key]!r}, expected {expected!r}")
    for key in ("title", "intro"):
        if not _has_text(data.get(key)):
            problems.append(f"missing text for {key}")
    items = data.get("items")
    if not isinstance(items, dict):
        return [*problems, "missing items"]
    problems += [
        f"unknown item items.{code}" for code in items if code not in instrument.item_codes
    ]
    for item in instrument.items:
        entry = items.get(item.code)
        if not isinstance(entry, dict):
            problems.append(f"missing item items.{item.code}")
            continue
        if not _has_text(entry.get("text")):
            problems.append(f"missing text for items.{item.code}.text")
        labels = entry.get("choices", {})
        if not isinstance(labels, dict):
            problems.append(f"items.{item.code}.choices must be an object")
            labels = {}
        expected_choices = [str(code) for code in item.choices]
        problems += [
            f"missing text for items.{item.code}.choices.{code}"
            for code in expected_choices
            if not _has_text(labels.get(code))
        ]
        problems += [
            f"unknown choice items.{item.code}.choices.{code}"
            for code in labels
            if code not in expected_choices
        ]
        if item.kind == "vas":
            anchors = entry.get("anchors", {})
            if not isinstance(anchors, dict):
                anchors = {}
            problems += [
                f"missing text for items.{item.code}.anchors.{name}"
                for name in ANCHORS
                if not _has_text(anchors.get(name))
            ]
    return problems
