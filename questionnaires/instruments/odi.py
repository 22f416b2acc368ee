"""Oswestry Disability Index v2.1a: ten sections, each scored 0 (no disability) to 5.

Fairbank JCT, Pynsent PB. The Oswestry Disability Index. Spine 2000;25(22):2940-52.
"""

from __future__ import annotations

from questionnaires.instruments.base import Answers, Instrument, ScoreValue, choice_items
from questionnaires.scoring import ScoringOptions, odi_band, odi_score

# In the order of the questionnaire; odi_1 is pain intensity ... odi_10 travelling.
SECTION_KEYS = (
    "pain_intensity",
    "personal_care",
    "lifting",
    "walking",
    "sitting",
    "standing",
    "sleeping",
    "sex_life",
    "social_life",
    "travelling",
)


def score(answers: Answers, options: ScoringOptions) -> dict[str, ScoreValue]:
    value = odi_score(
        [answers[item.code] for item in ODI.items], max_missing=options.odi_max_missing
    )
    return {"odi_score": value, "odi_band": None if value is None else odi_band(value)}


ODI = Instrument(
    code="odi",
    name="Oswestry Disability Index",
    version="2.1a",
    # Not required one by one: the score tolerates missing sections (often sex life) by its
    # own rule, so the form must let a patient skip a section rather than force a guess.
    items=choice_items("odi", SECTION_KEYS, range(6), required=False),
    scorer=score,
)
