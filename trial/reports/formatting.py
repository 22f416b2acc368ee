"""How the outcome report writes numbers and p-values (localised), for its tables and its
adjusted analyses alike."""

from __future__ import annotations

from django.utils import formats


def _num(value: float | None, places: int = 1) -> str:
    if value is None:
        return "–"
    return formats.number_format(round(value, places), places, use_l10n=True)


def _p(p: float | None) -> str:
    if p is None:
        return "–"
    if p < 0.001:
        return "< " + _num(0.001, 3)
    return _num(p, 3)
