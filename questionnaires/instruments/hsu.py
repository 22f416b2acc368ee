"""Use of health services since the last contact with the research nurse, as counts.

Analysed as recorded (costs are an analysis question), so there is no scorer. The upper bound
of 365 is a plausibility guard: the longest gap between contacts (3 to 12 months) is shorter
than a year, so no count of contacts or nights can exceed it.
"""

from __future__ import annotations

from questionnaires.instruments.base import Instrument, Item

MAX_COUNT = 365

_ITEMS = (
    ("hsu_gp", "gp_contacts"),
    ("hsu_outpatient", "outpatient_visits"),
    ("hsu_emergency", "emergency_visits"),
    ("hsu_admission_nights", "admission_nights"),
    ("hsu_physio", "physiotherapy_sessions"),
    ("hsu_homecare", "home_care_visits"),
)

HSU = Instrument(
    code="hsu",
    name="Health-service use since last contact",
    version="1",
    items=tuple(
        Item(code=code, key=key, kind="count", min_value=0, max_value=MAX_COUNT)
        for code, key in _ITEMS
    ),
)
