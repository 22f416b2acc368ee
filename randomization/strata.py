"""The randomisation strata, declared once as data.

The protocol stratifies by three factors (DOMAIN.md, "Randomisation by sealed
envelope"):

* cohort: A, known myeloma with a newly diagnosed spine fracture (and relevant
  pain for at most 3 months before inclusion), or B, newly diagnosed myeloma
  with a new spine fracture;
* planned PVP levels: 1 vs 2-4;
* earlier vertebral fractures not planned for PVP: no vs yes.

That gives 2 x 2 x 2 = 8 strata, applied per site. The factors are declared as
data in :data:`FACTORS` and the strata are *derived* from them, so adding or
changing a factor (another protocol) changes one declaration, and the list of
strata can never disagree with it. Strata are computed from recorded data by
:func:`stratum_for`, never typed by hand.

This module must stay importable without configured Django settings (it is
tested framework-free). Labels are lazy translation strings: they are only
turned into text when displayed. If Django is absent, or settings are not
configured when a label is displayed (scripts, the framework-free tests), the
English source text is shown.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = [
    "COHORT",
    "EARLIER_FRACTURES",
    "FACTORS",
    "MYELOMA_KNOWN",
    "MYELOMA_NEW",
    "PLANNED_LEVELS",
    "STRATA",
    "Factor",
    "Level",
    "Stratum",
    "StratumIncomplete",
    "StratumInputs",
    "UnknownStratum",
    "derive_strata",
    "get_stratum",
    "stratum_choices",
    "stratum_for",
]

# --- Translation hook ------------------------------------------------------
# ``_`` marks strings for ``makemessages`` (xgettext knows ``_``) and returns a
# lazy object. Unlike plain ``gettext_lazy`` it falls back to the source text
# when settings are not configured, so labels can be shown and tested outside
# a Django project. In a running project settings are always configured, so
# this is exactly gettext_lazy there.
_: Callable[[str], Any]
_join: Callable[..., Any]
try:
    from django.core.exceptions import ImproperlyConfigured
    from django.utils.functional import lazy
    from django.utils.text import format_lazy
    from django.utils.translation import gettext as _django_gettext
except ImportError:  # pragma: no cover - Django is installed in this project

    def _(message: str) -> str:
        return message

    def _join(template: str, *parts: object) -> str:
        return template.format(*parts)

else:

    def _gettext_or_source(message: str) -> str:
        try:
            return _django_gettext(message)
        except ImproperlyConfigured:
            return message

    _ = lazy(_gettext_or_source, str)
    # format_lazy renders its parts only when the result is displayed, so a
    # composed label is translated in the reader's language, not at import.
    _join = format_lazy


# --- Declarations ------------------------------------------------------------

#: Values of the screening form's myeloma status that decide the cohort.
MYELOMA_NEW = "new"
MYELOMA_KNOWN = "known"

#: Factor codes, for callers that want one factor's level of a stratum.
COHORT = "cohort"
PLANNED_LEVELS = "planned_levels"
EARLIER_FRACTURES = "earlier_fractures"

_LABEL_SEPARATOR = " · "
# Level codes are concatenated into stratum codes, which appear inside envelope
# serials such as ``AAR-A1N-007``: keep them to upper-case letters and digits.
_CODE_PATTERN = re.compile(r"[A-Z0-9]+")


@dataclass(frozen=True, slots=True)
class Level:
    """One level of a factor: a short code for serials and a label for people."""

    code: str
    label: Any  # str or lazy translation string


@dataclass(frozen=True, slots=True)
class Factor:
    """A stratification factor and its levels, in the order codes are built."""

    code: str
    label: Any  # str or lazy translation string
    levels: tuple[Level, ...]

    def level(self, code: str) -> Level:
        """Return the level with this code, or raise ``LookupError``."""
        for level in self.levels:
            if level.code == code:
                return level
        raise LookupError(f"Factor {self.code!r} has no level {code!r}.")


@dataclass(frozen=True, slots=True)
class Stratum:
    """One combination of factor levels.

    ``levels`` is aligned with the factors it was derived from (one level per
    factor, in factor order); ``factor_codes`` keeps the alignment explicit.
    """

    code: str
    label: Any  # lazy translation string
    factor_codes: tuple[str, ...]
    levels: tuple[Level, ...]

    def level_for(self, factor_code: str) -> Level:
        """Return this stratum's level of the given factor, or raise ``LookupError``."""
        try:
            return self.levels[self.factor_codes.index(factor_code)]
        except ValueError:
            raise LookupError(f"Stratum {self.code} has no factor {factor_code!r}.") from None

    @property
    def level_codes(self) -> dict[str, str]:
        """Factor code -> level code, e.g. ``{"cohort": "A", ...}``."""
        return {f: level.code for f, level in zip(self.factor_codes, self.levels, strict=True)}


#: The protocol's stratification factors. Order matters: it is the order of the
#: letters in a stratum code (cohort, levels, earlier fractures -> ``A1N``).
FACTORS: tuple[Factor, ...] = (
    Factor(
        code=COHORT,
        label=_("Cohort"),
        levels=(
            Level("A", _("Cohort A (known myeloma)")),
            Level("B", _("Cohort B (newly diagnosed myeloma)")),
        ),
    ),
    Factor(
        code=PLANNED_LEVELS,
        label=_("Planned PVP levels"),
        levels=(
            Level("1", _("1 level")),
            # "2" stands for the whole 2-4 band, to keep serials short.
            Level("2", _("2-4 levels")),
        ),
    ),
    Factor(
        code=EARLIER_FRACTURES,
        label=_("Earlier vertebral fractures not planned for PVP"),
        levels=(
            Level("N", _("no earlier untreated fractures")),
            Level("Y", _("earlier untreated fractures")),
        ),
    ),
)


def derive_strata(factors: Sequence[Factor]) -> dict[str, Stratum]:
    """Return every combination of the factors' levels as strata, keyed by code.

    Codes are the level codes concatenated in factor order; labels are the
    level labels joined with " · ". Raises ``ValueError`` if the declaration
    could produce ambiguous or serial-unsafe codes, so a bad edit to
    :data:`FACTORS` fails at import rather than on an envelope.
    """
    if not factors:
        raise ValueError("At least one stratification factor is required.")
    factor_codes = tuple(f.code for f in factors)
    if len(set(factor_codes)) != len(factor_codes):
        raise ValueError(f"Factor codes must be distinct: {factor_codes}.")
    for factor in factors:
        if not factor.levels:
            raise ValueError(f"Factor {factor.code!r} has no levels.")
        level_codes = [level.code for level in factor.levels]
        if len(set(level_codes)) != len(level_codes):
            raise ValueError(f"Factor {factor.code!r} has repeated level codes: {level_codes}.")
        for code in level_codes:
            if not _CODE_PATTERN.fullmatch(code):
                raise ValueError(
                    f"Level code {code!r} of factor {factor.code!r} must be upper-case "
                    "letters or digits, since it appears in envelope serials."
                )

    strata: dict[str, Stratum] = {}
    template = _LABEL_SEPARATOR.join("{}" for _factor in factors)
    for combination in itertools.product(*(f.levels for f in factors)):
        code = "".join(level.code for level in combination)
        if code in strata:
            # Possible with multi-character level codes ("1"+"12" vs "11"+"2").
            raise ValueError(f"Two combinations of levels give the same stratum code {code!r}.")
        strata[code] = Stratum(
            code=code,
            label=_join(template, *(level.label for level in combination)),
            factor_codes=factor_codes,
            levels=tuple(combination),
        )
    return strata


#: All strata of this protocol by code, in declaration order. Read-only: the
#: set of strata is fixed by :data:`FACTORS`, not by whoever imports it.
STRATA: Mapping[str, Stratum] = MappingProxyType(derive_strata(FACTORS))


class UnknownStratum(LookupError):
    """A stratum code that is not one of :data:`STRATA` (e.g. a corrupted serial)."""


def get_stratum(code: str) -> Stratum:
    """Return the stratum with this code, or raise :class:`UnknownStratum`."""
    try:
        return STRATA[code]
    except KeyError:
        known = ", ".join(STRATA)
        raise UnknownStratum(f"Unknown stratum code {code!r}; known codes: {known}.") from None


def stratum_choices() -> list[tuple[str, Any]]:
    """``(code, label)`` pairs for a Django ``choices`` argument, in declaration order."""
    return [(s.code, s.label) for s in STRATA.values()]


# --- Computing a patient's stratum ------------------------------------------


@dataclass(frozen=True, slots=True)
class StratumInputs:
    """The recorded data a stratum is computed from; ``None`` means not recorded yet.

    * ``myeloma_status``: screening form, ``"new"`` or ``"known"``;
    * ``planned_level_count``: surgical assessment, number of levels planned for PVP (1-4);
    * ``earlier_untreated_fractures``: surgical assessment, earlier vertebral
      fractures that will not be treated with PVP.

    The cohort A condition "pain for at most 3 months before inclusion" is an
    eligibility criterion, checked by the eligibility checklist before
    randomisation; it does not choose between strata, so it is not an input.
    """

    myeloma_status: str | None
    planned_level_count: int | None
    earlier_untreated_fractures: bool | None


class StratumIncomplete(Exception):
    """The stratum cannot be computed yet because recorded data are missing.

    ``missing`` names each missing datum and the form it comes from, so the
    randomisation page can tell the clinician exactly what to complete.
    """

    def __init__(self, missing: list[Any]) -> None:
        self.missing = list(missing)
        super().__init__(self.missing)

    def __str__(self) -> str:
        # Built on display, not in __init__, so lazy names render in the
        # language active when the message is shown.
        return (
            "The stratum cannot be computed; missing: "
            + "; ".join(str(item) for item in self.missing)
            + "."
        )


_MISSING_MYELOMA_STATUS = _("myeloma status (screening form)")
_MISSING_PLANNED_LEVELS = _("planned PVP levels (surgical assessment)")
_MISSING_EARLIER_FRACTURES = _(
    "earlier vertebral fractures not planned for PVP (surgical assessment)"
)

_COHORT_BY_STATUS = {MYELOMA_KNOWN: "A", MYELOMA_NEW: "B"}
_MIN_LEVELS = 1
_MAX_LEVELS = 4


def stratum_for(inputs: StratumInputs) -> Stratum:
    """Return the stratum for the recorded data.

    Raises :class:`ValueError` for impossible values (unknown myeloma status,
    planned levels outside 1-4, a non-boolean fracture answer) even when other
    data are missing: those are bugs or corrupt records, not something the
    clinician can fix by completing a form. Otherwise raises
    :class:`StratumIncomplete` listing every missing datum at once, so the
    clinician does not discover them one at a time.
    """
    status = inputs.myeloma_status
    if status is not None and status not in _COHORT_BY_STATUS:
        raise ValueError(
            f"Unknown myeloma status {status!r}; expected {MYELOMA_NEW!r} or {MYELOMA_KNOWN!r}."
        )
    levels = inputs.planned_level_count
    if levels is not None:
        if not isinstance(levels, int) or isinstance(levels, bool):
            raise ValueError(f"Planned PVP levels must be a whole number, not {levels!r}.")
        if not _MIN_LEVELS <= levels <= _MAX_LEVELS:
            raise ValueError(
                f"Planned PVP levels must be {_MIN_LEVELS} to {_MAX_LEVELS}, not {levels}."
            )
    earlier = inputs.earlier_untreated_fractures
    if earlier is not None and not isinstance(earlier, bool):
        raise ValueError(
            f"Earlier untreated fractures must be True or False (or None), not {earlier!r}."
        )

    missing: list[Any] = []
    if status is None:
        missing.append(_MISSING_MYELOMA_STATUS)
    if levels is None:
        missing.append(_MISSING_PLANNED_LEVELS)
    if earlier is None:
        missing.append(_MISSING_EARLIER_FRACTURES)
    if missing:
        raise StratumIncomplete(missing)
    assert status is not None and levels is not None and earlier is not None  # for type checkers

    chosen = {
        COHORT: _COHORT_BY_STATUS[status],
        PLANNED_LEVELS: "1" if levels == 1 else "2",
        EARLIER_FRACTURES: "Y" if earlier else "N",
    }
    # Assemble the code in the order FACTORS declares, so the code format is
    # defined in one place only.
    return get_stratum("".join(chosen[factor.code] for factor in FACTORS))
