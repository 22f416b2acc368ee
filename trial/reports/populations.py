"""The analysis populations, defined once: intention to treat, as treated and per protocol.

The report (trial.reports.adjusted) and the codebook (trial.exports.codebook) show the
definitions from here, and the report groups its subjects with ``population`` alone.

* intention to treat (the primary): the allocated arm, ``Subject.arm``;
* as treated: ``Subject.as_treated``, the one as-treated rule
  (``trial.treatment.selectors.as_treated_expression``), never re-derived here;
* per protocol: the allocated arm, leaving out anyone with a major protocol deviation
  (``per_protocol_exclusion``).

All three leave out participants who withdrew without allowing use of their data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils.translation import gettext as _

from trial.reports.outcome_data import CONSERVATIVE, PVP, Subject
from trial.treatment.services import crossover_earliest_day

ITT, AS_TREATED, PER_PROTOCOL = "itt", "as_treated", "per_protocol"
POPULATIONS = (ITT, AS_TREATED, PER_PROTOCOL)

# Why a participant is not in the per-protocol population.
PVP_NOT_RECEIVED = "pvp_not_received"
EARLY_CROSSOVER = "early_crossover"
INELIGIBLE = "ineligible_randomised"


def population_labels() -> dict[str, str]:
    return {
        ITT: _("Intention to treat"),
        AS_TREATED: _("As treated"),
        PER_PROTOCOL: _("Per protocol"),
    }


def definitions() -> dict[str, str]:
    """The definition of each population, as the report and the codebook state it."""
    day = crossover_earliest_day()
    return {
        ITT: _(
            "Intention to treat (the primary analysis): every randomised participant in the arm "
            "allocated, whatever the treatment received."
        ),
        AS_TREATED: _(
            "As treated: the same participants grouped by the treatment received: PVP when a "
            "PVP procedure is recorded, whatever the allocated arm; otherwise conservative."
        ),
        PER_PROTOCOL: _(
            "Per protocol: the participants of the intention-to-treat analysis in the arm "
            "allocated, leaving out anyone with a major protocol deviation: allocated to PVP "
            "with no PVP procedure recorded; allocated to conservative care and crossed over to "
            "PVP before day %(day)d; or randomised although not eligible (a correction after "
            "randomisation made the participant ineligible)."
        )
        % {"day": day},
    }


def common_exclusion() -> str:
    return _(
        "All populations leave out participants who withdrew without allowing use of the "
        "data collected so far."
    )


def exclusion_labels() -> dict[str, str]:
    return {
        PVP_NOT_RECEIVED: _("allocated to PVP, no PVP procedure recorded"),
        EARLY_CROSSOVER: _("crossed over to PVP before day %(day)d")
        % {"day": crossover_earliest_day()},
        INELIGIBLE: _("randomised although not eligible"),
    }


def pp_exclusion(
    *,
    arm: str,
    as_treated: str | None,
    crossover_date: dt.date | None,
    randomised_on: dt.date,
    ineligible_randomised: bool,
    earliest_day: int,
) -> str | None:
    """Why a participant is not in the per-protocol population, or None when it is: the rule
    on plain values, which the report (``per_protocol_exclusion``) and the export's analysis
    file (randomization.exports) both read."""
    if ineligible_randomised:
        return INELIGIBLE
    if arm == PVP and as_treated != PVP:
        return PVP_NOT_RECEIVED
    if (
        arm == CONSERVATIVE
        and crossover_date is not None
        and (crossover_date - randomised_on).days < earliest_day
    ):
        return EARLY_CROSSOVER
    return None


def per_protocol_exclusion(subject: Subject, earliest_day: int) -> str | None:
    """Why ``subject`` is not in the per-protocol population, or None when it is."""
    return pp_exclusion(
        arm=subject.arm,
        as_treated=subject.as_treated,
        crossover_date=subject.crossover_date,
        randomised_on=subject.randomised_on,
        ineligible_randomised=subject.ineligible_randomised,
        earliest_day=earliest_day,
    )


def in_analysis(data_use_allowed: bool | None) -> bool:
    """In the analysis populations: anyone but a participant who withdrew without allowing
    use of the data collected (``data_use_allowed`` is None when nobody withdrew)."""
    return data_use_allowed is not False


def population(subjects: Iterable[Subject], which: str) -> list[tuple[Subject, str]]:
    """The analysed subjects of a population, each with the arm it is analysed in."""
    analysed = [s for s in subjects if in_analysis(s.data_use_allowed)]
    if which == ITT:
        return [(s, s.arm) for s in analysed]
    if which == AS_TREATED:
        return [(s, s.as_treated) for s in analysed if s.as_treated]
    if which == PER_PROTOCOL:
        day = crossover_earliest_day()
        return [(s, s.arm) for s in analysed if per_protocol_exclusion(s, day) is None]
    raise ValueError(f"Unknown population {which!r}.")


def exclusion_counts(subjects: Iterable[Subject]) -> dict[str, int]:
    """How many analysed participants each per-protocol exclusion leaves out."""
    day = crossover_earliest_day()
    counts = dict.fromkeys(exclusion_labels(), 0)
    for s in subjects:
        if in_analysis(s.data_use_allowed) and (why := per_protocol_exclusion(s, day)):
            counts[why] += 1
    return counts
