"""Back-pain and leg-pain visual analogue scales, 0 (no pain) to 100 (worst imaginable).

Analysed as recorded, so there is no scorer; an untouched slider is a missing answer.
"""

from __future__ import annotations

from questionnaires.instruments.base import Instrument, Item

VAS = Instrument(
    code="vas",
    name="Pain visual analogue scales (back and leg)",
    version="1",
    items=(
        Item(code="vas_back", key="back_pain", kind="vas", min_value=0, max_value=100),
        Item(code="vas_leg", key="leg_pain", kind="vas", min_value=0, max_value=100),
    ),
)
