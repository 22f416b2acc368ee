"""EQ-5D-3L: five dimensions at levels 1-3, giving a profile such as "21232", plus EQ VAS.

The protocol calls the levels a "0-2 scale"; the system stores EuroQol's own codes 1-3 so that
profiles and value sets can be used as published.
"""

from __future__ import annotations

from questionnaires.instruments.base import Answers, Instrument, Item, ScoreValue
from questionnaires.scoring import EQ5D_DIMENSIONS, ScoringOptions, eq5d3l_index, eq5d3l_profile

# Item code of each dimension, in profile order (mobility, self-care, usual activities,
# pain/discomfort, anxiety/depression).
DIMENSION_ITEMS = {dimension: f"eq5d_{dimension.lower()}" for dimension in EQ5D_DIMENSIONS}
_DIMENSION_KEYS = {
    "MO": "mobility",
    "SC": "self_care",
    "UA": "usual_activities",
    "PD": "pain_discomfort",
    "AD": "anxiety_depression",
}


def score(answers: Answers, options: ScoringOptions) -> dict[str, ScoreValue]:
    profile = eq5d3l_profile({dim: answers[code] for dim, code in DIMENSION_ITEMS.items()})
    return {
        "eq5d_profile": profile,
        "eq5d_index": None
        if profile is None
        else eq5d3l_index(profile, value_set=options.eq5d_value_set),
        # The index means nothing without its tariff, so the set used travels with it.
        "eq5d_value_set": options.eq5d_value_set,
    }


EQ5D3L = Instrument(
    code="eq5d3l",
    name="EQ-5D-3L with EQ VAS",
    version="1",
    items=(
        *(
            Item(code=code, key=_DIMENSION_KEYS[dim], kind="choice", choices=(1, 2, 3))
            for dim, code in DIMENSION_ITEMS.items()
        ),
        # EQ VAS runs the other way from the pain VAS: 100 is the best imaginable health.
        Item(code="eq_vas", key="health_today", kind="vas", min_value=0, max_value=100),
    ),
    scorer=score,
)
