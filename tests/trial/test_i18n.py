"""The translation catalogues: Danish is complete and safe to format, English is the source.

The .po files are read with a small parser (polib is not a dependency). The runtime checks compile
the Danish catalogue with msgfmt into a temporary LOCALE_PATHS, so they neither need nor touch the
git-ignored .mo that scripts/bootstrap.sh builds; without msgfmt they fall back to that .mo, and
skip only when neither is there.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import override_settings
from django.utils import translation

from trial.models import Participant, Role

LOCALE = Path(__file__).resolve().parents[2] / "locale"
DA_PO = LOCALE / "da" / "LC_MESSAGES" / "django.po"
EN_PO = LOCALE / "en" / "LC_MESSAGES" / "django.po"
MSGFMT = shutil.which("msgfmt")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def translations(self) -> list[str]:
        return [self.msgstr[i] for i in sorted(self.msgstr)]


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b"}
_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+"(.*)"\s*$')
_CONTINUATION = re.compile(r'^"(.*)"\s*$')


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), text)


def parse_po(path: Path) -> list[Entry]:
    """Entries of a .po file, header first; obsolete (``#~``) entries are left out."""
    entries: list[Entry] = []
    current: Entry | None = None
    pending_flags: set[str] = set()
    target: tuple[str, int | None] | None = None

    def store(key: str, index: int | None, text: str) -> None:
        assert current is not None
        if key == "msgstr":
            current.msgstr[index or 0] = current.msgstr.get(index or 0, "") + text
        elif key == "msgid_plural":
            current.msgid_plural = (current.msgid_plural or "") + text
        elif key == "msgctxt":
            current.msgctxt = (current.msgctxt or "") + text
        else:
            current.msgid += text

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#,"):
            pending_flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            continue
        if line.startswith("#"):
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, text = match.groups()
            key = keyword.split("[")[0]
            # A msgctxt, or a msgid not preceded by a msgctxt, starts a new entry.
            starts = key == "msgctxt" or (
                key == "msgid" and not (current and target and target[0] == "msgctxt")
            )
            if starts:
                current = Entry(flags=pending_flags, line=number)
                pending_flags = set()
                entries.append(current)
            target = (key, int(index) if index is not None else None)
            store(key, target[1], _unescape(text))
            continue
        match = _CONTINUATION.match(line)
        assert match and target, f"{path}:{number}: cannot parse {raw!r}"
        store(target[0], target[1], _unescape(match.group(1)))
    return entries


def header(entries: list[Entry]) -> dict[str, str]:
    assert entries and entries[0].is_header, "the catalogue has no header entry"
    fields = {}
    for row in entries[0].msgstr.get(0, "").splitlines():
        name, _, value = row.partition(":")
        fields[name.strip()] = value.strip()
    return fields


# printf-style (%(name)s, %s, %d, %%), Django template ({{ name }}) and str.format ({name}).
_PLACEHOLDER = re.compile(
    r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]"
    r"|%[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]"
    r"|\{\{.*?\}\}"
    r"|\{\w*\}"
)


def placeholders(text: str) -> Counter[str]:
    return Counter(_PLACEHOLDER.findall(text))


DA = parse_po(DA_PO)
EN = parse_po(EN_PO)
DA_MESSAGES = [e for e in DA if not e.is_header]
EN_MESSAGES = [e for e in EN if not e.is_header]


def _id(entry: Entry) -> str:
    return f"line{entry.line}:{entry.msgid[:40]}"


# --- the .po files ------------------------------------------------------------------------------


def test_parser_reads_plurals_and_continued_lines():
    plural = [e for e in DA_MESSAGES if e.msgid_plural]
    assert plural, "expected plural entries (blocktranslate count) in the Danish catalogue"
    assert all(sorted(e.msgstr) == [0, 1] for e in plural)
    assert any(len(e.msgid) > 79 for e in DA_MESSAGES), "long msgids span several lines"
    assert len(DA_MESSAGES) > 100


def test_danish_header():
    fields = header(DA)
    assert fields["Language"] == "da"
    assert "charset=UTF-8" in fields["Content-Type"]
    assert fields["Plural-Forms"].replace(" ", "") == "nplurals=2;plural=(n!=1);"
    assert "fuzzy" not in DA[0].flags


def test_english_header():
    fields = header(EN)
    assert fields["Language"] == "en"
    assert "charset=UTF-8" in fields["Content-Type"]
    assert fields["Plural-Forms"].replace(" ", "") == "nplurals=2;plural=(n!=1);"
    assert "fuzzy" not in EN[0].flags


def test_danish_has_no_fuzzy_entries():
    fuzzy = [_id(e) for e in DA if "fuzzy" in e.flags]
    assert fuzzy == []


def test_danish_has_no_untranslated_entries():
    untranslated = [_id(e) for e in DA_MESSAGES if not e.msgstr or not all(e.translations)]
    assert untranslated == []


def test_danish_plural_entries_have_both_forms():
    for entry in DA_MESSAGES:
        expected = [0, 1] if entry.msgid_plural is not None else [0]
        assert sorted(entry.msgstr) == expected, _id(entry)


@pytest.mark.parametrize("entry", DA_MESSAGES, ids=_id)
def test_danish_keeps_every_placeholder(entry: Entry):
    wanted = placeholders(entry.msgid)
    if entry.msgid_plural is not None:
        wanted |= placeholders(entry.msgid_plural)
    for text in entry.translations:
        assert placeholders(text) == wanted, f"{entry.msgid!r} -> {text!r}"


def test_python_format_flag_marks_placeholders():
    for entry in DA_MESSAGES:
        if "python-format" in entry.flags:
            assert placeholders(entry.msgid), _id(entry)


def test_english_is_the_source_language():
    assert [_id(e) for e in EN_MESSAGES if any(e.translations)] == []
    assert [_id(e) for e in EN if "fuzzy" in e.flags] == []


def test_catalogues_have_the_same_messages():
    def keys(entries):
        return {(e.msgctxt, e.msgid, e.msgid_plural) for e in entries}

    assert keys(DA_MESSAGES) == keys(EN_MESSAGES)


@pytest.mark.skipif(MSGFMT is None, reason="msgfmt (Debian package gettext) is not installed")
@pytest.mark.parametrize("po", [DA_PO, EN_PO], ids=["da", "en"])
def test_msgfmt_check_passes(po: Path, tmp_path: Path):
    result = subprocess.run(
        [MSGFMT, "--check", "--statistics", "-o", str(tmp_path / "django.mo"), str(po)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    if po == DA_PO:
        assert "untranslated" not in result.stderr, result.stderr
        assert "fuzzy" not in result.stderr, result.stderr


# --- at run time --------------------------------------------------------------------------------


def test_settings_offer_danish_from_the_project_locale():
    assert "da" in dict(settings.LANGUAGES)
    assert LOCALE in [Path(p).resolve() for p in settings.LOCALE_PATHS]


@pytest.fixture(scope="module")
def locale_paths(tmp_path_factory) -> list[str]:
    """A LOCALE_PATHS holding the Danish catalogue compiled from the .po under test."""
    if MSGFMT is not None:
        root = tmp_path_factory.mktemp("locale")
        out = root / "da" / "LC_MESSAGES"
        out.mkdir(parents=True)
        subprocess.run([MSGFMT, "--check", "-o", str(out / "django.mo"), str(DA_PO)], check=True)
        return [str(root)]
    if (DA_PO.parent / "django.mo").exists():
        return [str(LOCALE)]
    pytest.skip("no msgfmt and no compiled locale/da/LC_MESSAGES/django.mo")


@pytest.fixture
def compiled(locale_paths):
    # Changing LOCALE_PATHS makes Django drop its cached catalogues, on entry and on exit.
    with override_settings(LOCALE_PATHS=locale_paths):
        yield


@pytest.mark.usefixtures("compiled")
def test_known_strings_translate_to_danish():
    with translation.override("da"):
        assert translation.gettext("Participants") == "Deltagere"
        assert translation.gettext("Audit trail") == "Revisionsspor"
        assert translation.gettext("Log in") == "Log ind"
        assert translation.gettext("CPR number") == "CPR-nummer"
        assert str(Role.NURSE.label) == "Forskningssygeplejerske"
        assert str(Participant._meta.verbose_name) == "deltager"
    with translation.override("en"):
        assert translation.gettext("Participants") == "Participants"


@pytest.mark.usefixtures("compiled")
def test_plural_and_placeholders_at_run_time():
    singular = "%(n)s participant in the trial"
    plural = "%(n)s participants in the trial"
    with translation.override("da"):
        assert translation.ngettext(singular, plural, 1) % {"n": 1} == "1 deltager i forsøget"
        assert translation.ngettext(singular, plural, 3) % {"n": 3} == "3 deltagere i forsøget"
        html = Template(
            "{% load i18n %}{% translate 'Identifying data' %} / "
            "{% blocktranslate with n=2 total=7 %}"
            "Page {{ n }} of {{ total }}"
            "{% endblocktranslate %}"
        ).render(Context())
        assert html == "Identificerende oplysninger / Side 2 af 7"


@pytest.mark.usefixtures("compiled")
def test_every_danish_entry_is_served_at_run_time():
    """The compiled catalogue gives back what the .po says (nothing lost to fuzzy or errors)."""
    wrong = []
    with translation.override("da"):
        for entry in DA_MESSAGES:
            if entry.msgid_plural is not None and entry.msgctxt is not None:
                got = [
                    translation.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, n)
                    for n in (1, 2)
                ]
            elif entry.msgid_plural is not None:
                got = [translation.ngettext(entry.msgid, entry.msgid_plural, n) for n in (1, 2)]
            elif entry.msgctxt is not None:
                got = [translation.pgettext(entry.msgctxt, entry.msgid)]
            else:
                got = [translation.gettext(entry.msgid)]
            if got != entry.translations:
                wrong.append((entry.msgid, got, entry.translations))
    assert wrong == []
