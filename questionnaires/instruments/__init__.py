"""The trial's questionnaires as data: structure, codes and scoring here, wording in files.

One module per instrument (``odi``, ``vas``, ``eq5d3l``, ``hsu``), the shared shapes in
``base``, the registry in ``registry`` and the per-language wording loader in ``wording``.
"""

from questionnaires.instruments.base import Instrument, Item, ItemKind, ScoreValue
from questionnaires.instruments.registry import INSTRUMENTS, get_instrument
from questionnaires.instruments.wording import (
    DEMO_WORDING_DIR,
    ItemWording,
    Wording,
    WordingError,
    load_wording,
)

__all__ = [
    "DEMO_WORDING_DIR",
    "INSTRUMENTS",
    "Instrument",
    "Item",
    "ItemKind",
    "ItemWording",
    "ScoreValue",
    "Wording",
    "WordingError",
    "get_instrument",
    "load_wording",
]
