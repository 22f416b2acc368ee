"""The shape of an instrument: items with numeric codes and ranges, and a scoring function.

Instruments are data, not forms or models: the same definition drives the patient's page, the
nurse's phone form, validation, scoring and the export codebook. Wording is deliberately absent
(it is licensed and per language; see ``wording.py``), so nothing here needs translating.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, cast

from questionnaires.scoring import ScoringOptions, is_strict_int

ItemKind = Literal["choice", "vas", "count"]
Answers = Mapping[str, int | None]
ScoreValue = Decimal | int | str | None
Scorer = Callable[[Answers, ScoringOptions], dict[str, ScoreValue]]


@dataclass(frozen=True)
class Item:
    """One question.

    ``code`` is what is stored and exported (``odi_3``); ``key`` names what it measures
    (``lifting``) for people reading code and codebooks. A ``choice`` item stores one of its
    numeric ``choices``; ``vas`` and ``count`` items store an integer in ``min_value``..
    ``max_value``. ``required`` tells the form to insist on an answer; storage and scoring
    always accept ``None``, because a patient may decline and a missing answer is never guessed.
    """

    code: str
    key: str
    kind: ItemKind
    choices: tuple[int, ...] = ()
    min_value: int | None = None
    max_value: int | None = None
    required: bool = True

    def __post_init__(self) -> None:
        if self.kind == "choice":
            if not self.choices or len(set(self.choices)) != len(self.choices):
                raise ValueError(f"{self.code}: a choice item needs distinct choice codes")
            if self.min_value is not None or self.max_value is not None:
                raise ValueError(f"{self.code}: a choice item takes choices, not a range")
        else:
            if self.choices:
                raise ValueError(f"{self.code}: only choice items have choices")
            if self.min_value is None or self.max_value is None or self.min_value > self.max_value:
                raise ValueError(f"{self.code}: a {self.kind} item needs min_value <= max_value")

    @property
    def allowed_values(self) -> tuple[int, ...] | range:
        """Every value an answer may take (a ``range`` for vas and count items)."""
        if self.kind == "choice":
            return self.choices
        # __post_init__ guarantees both bounds for non-choice items.
        return range(cast(int, self.min_value), cast(int, self.max_value) + 1)

    def validate(self, value: object) -> int | None:
        """The answer as stored: an allowed integer, or ``None`` for missing; ValueError else."""
        if value is None:
            return None
        if is_strict_int(value) and value in self.allowed_values:
            return value
        allowed = (
            ", ".join(map(str, self.choices))
            if self.kind == "choice"
            else f"an integer {self.min_value}-{self.max_value}"
        )
        raise ValueError(f"{self.code} must be {allowed} or missing, got {value!r}")


@dataclass(frozen=True)
class Instrument:
    """A questionnaire: its items in order and how its answers become scores.

    ``version`` is the published version where the instrument has one (ODI 2.1a), else the
    version of this definition; it is stored with every response so that a later change of
    definition cannot silently reinterpret earlier answers. ``scorer`` is ``None`` for
    instruments whose answers are analysed as they are (VAS, health-service counts).
    """

    code: str
    name: str
    version: str
    items: tuple[Item, ...]
    scorer: Scorer | None = None

    def __post_init__(self) -> None:
        codes = [item.code for item in self.items]
        if not codes or len(set(codes)) != len(codes):
            raise ValueError(f"{self.code}: items must be present and have distinct codes")

    @property
    def item_codes(self) -> tuple[str, ...]:
        return tuple(item.code for item in self.items)

    def item(self, code: str) -> Item:
        for item in self.items:
            if item.code == code:
                return item
        raise LookupError(f"{self.code} has no item {code!r}")

    def clean(self, answers: Mapping[str, object]) -> dict[str, int | None]:
        """Every item's validated answer, absent ones as ``None``; unknown codes are an error."""
        unknown = set(answers) - set(self.item_codes)
        if unknown:
            raise ValueError(f"{self.code} has no item(s) {sorted(map(str, unknown))}")
        return {item.code: item.validate(answers.get(item.code)) for item in self.items}

    def score(
        self, answers: Mapping[str, object], options: ScoringOptions | None = None
    ) -> dict[str, ScoreValue]:
        """Derived scores of one response, keyed by score code; empty for unscored instruments.

        ``options`` carries the trial's scoring settings; the caller builds it from settings.
        """
        cleaned = self.clean(answers)
        if self.scorer is None:
            return {}
        return self.scorer(cleaned, options or ScoringOptions())


def choice_items(
    prefix: str, keys: Iterable[str], choices: Iterable[int], *, required: bool = True
) -> tuple[Item, ...]:
    """Numbered choice items (``odi_1``, ``odi_2``, ...) sharing one set of choice codes."""
    codes = tuple(choices)
    return tuple(
        Item(code=f"{prefix}_{number}", key=key, kind="choice", choices=codes, required=required)
        for number, key in enumerate(keys, start=1)
    )
