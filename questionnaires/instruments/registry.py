"""The instruments the trial uses, by code: the one list every other module reads."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from questionnaires.instruments.base import Instrument
from questionnaires.instruments.eq5d3l import EQ5D3L
from questionnaires.instruments.hsu import HSU
from questionnaires.instruments.odi import ODI
from questionnaires.instruments.vas import VAS

INSTRUMENTS: Mapping[str, Instrument] = MappingProxyType(
    {instrument.code: instrument for instrument in (ODI, VAS, EQ5D3L, HSU)}
)


def get_instrument(code: str) -> Instrument:
    """The instrument with this code; LookupError naming the known codes otherwise."""
    try:
        return INSTRUMENTS[code]
    except (KeyError, TypeError):
        raise LookupError(f"unknown instrument {code!r}; known: {', '.join(INSTRUMENTS)}") from None
