"""Which questionnaires each visit collects: the one place that maps visits to instruments.

A protocol rule, so it lives with the schedule: the trial core (exports, reports) reads it
without importing the questionnaires app, which owns the instruments themselves.

Baseline ("BL") is the trial's own visit before randomisation; the follow-up visits come from
the schedule in force (trial.protocol.active_schedule()), whose ``collects`` items name the
instruments with the follow-up app's codes. Health-service use is not part of baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from trial.protocol.schedule import Schedule, active_schedule

BASELINE = "BL"
BASELINE_INSTRUMENTS: tuple[str, ...] = ("odi", "vas", "eq5d3l")

# The schedule's collect items that are questionnaires, and the instrument that covers each.
COLLECT_TO_INSTRUMENT = {
    "odi": "odi",
    "vas_back": "vas",
    "vas_leg": "vas",
    "eq5d3l": "eq5d3l",
    "health_service_use": "hsu",
}
# The order instruments are shown in, whatever order a schedule lists them.
INSTRUMENT_ORDER = ("odi", "vas", "eq5d3l", "hsu")

INSTRUMENT_LABELS = {
    "odi": _("Oswestry Disability Index (ODI)"),
    "vas": _("Back and leg pain (VAS)"),
    "eq5d3l": _("EQ-5D-3L"),
    "hsu": _("Health-service use"),
}


@dataclass(frozen=True)
class QuestionnaireVisit:
    code: str
    label: str
    instruments: tuple[str, ...]


def questionnaire_visits(schedule: Schedule | None = None) -> list[QuestionnaireVisit]:
    """Baseline, then every visit of `schedule` (default: the one in force) that collects at
    least one questionnaire."""
    schedule = schedule or active_schedule()
    visits = [QuestionnaireVisit(BASELINE, str(_("Baseline")), BASELINE_INSTRUMENTS)]
    for visit in schedule.visits:
        wanted = {COLLECT_TO_INSTRUMENT[c] for c in visit.collects if c in COLLECT_TO_INSTRUMENT}
        if wanted:
            ordered = tuple(code for code in INSTRUMENT_ORDER if code in wanted)
            visits.append(QuestionnaireVisit(visit.code, gettext(visit.label), ordered))
    return visits


def visit_instruments(visit_code: str) -> tuple[str, ...]:
    """The instruments of a visit; empty for a code that collects no questionnaire."""
    for visit in questionnaire_visits():
        if visit.code == visit_code:
            return visit.instruments
    return ()


def visit_codes() -> list[str]:
    return [visit.code for visit in questionnaire_visits()]


def is_known(visit_code: str, instrument_code: str | None = None) -> bool:
    instruments = visit_instruments(visit_code)
    if instrument_code is None:
        return bool(instruments)
    return instrument_code in instruments
