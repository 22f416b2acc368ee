"""The randomisation app's exports: allocations of randomised participants.

Only envelopes that were used appear, through their allocation: an unused envelope's arm is
never exported (concealment, DOMAIN.md). An allocation whose opened envelope is not confirmed
yet is left out too (``selectors.revealed_allocations``): for the statistician that
participant is not randomised yet, and appears with both arms once the envelope is confirmed.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from randomization import selectors
from randomization.models import Allocation, Arm
from randomization.strata import COHORT, FACTORS, UnknownStratum, get_stratum, stratum_choices
from trial.exports.registry import (
    CHUNK_SIZE,
    YES_NO,
    AnalysisColumns,
    QueryExporter,
    Variable,
    coded,
    exporters,
    localizer,
    register,
)
from trial.reports import populations
from trial.treatment.selectors import annotate_as_treated
from trial.treatment.services import crossover_earliest_day


@register
class AllocationExporter(QueryExporter):
    identifier = "allocations"
    label = _("Allocations")
    description = _(
        "Allocated and as-treated arm, stratum and envelope of every randomised participant "
        "whose opened envelope is confirmed (until then a participant is not in this table)."
    )
    source_app = "randomization"
    order = 60

    def variables(self) -> list[Variable]:
        return [
            coded("stratum", _("Stratum"), stratum_choices()),
            coded("arm", _("Allocated arm"), Arm.choices),
            _as_treated_variable(),
            Variable("envelope_serial", _("Envelope serial")),
            Variable("randomised_at", _("Randomised"), "datetime"),
        ]

    model = Allocation
    fields = ("stratum", "arm", "arm_as_treated", "envelope__serial", "randomised_at")

    def base_queryset(self):
        # The rule's own SQL expression: the long CSV copied by PostgreSQL and the Python rows
        # (XLSX, Stata, ODM) both read it, and it is the one the participant page shows.
        return annotate_as_treated(
            selectors.revealed_allocations(), "arm_as_treated", participant="participant"
        )


def _as_treated_variable() -> Variable:
    return coded(
        "arm_as_treated",
        _(
            "Arm as treated (sensitivity analysis): PVP when a PVP procedure is recorded, "
            "whatever the allocation; otherwise conservative, also after a crossover whose "
            "procedure is not recorded"
        ),
        Arm.choices,
        derived=True,
    )


def _factor_variables() -> list[Variable]:
    """One column per stratification factor, its level at randomisation (decoded from the
    stratum by the strata's one declaration): the covariates of the adjusted analyses."""
    return [
        coded(
            f"stratum_{f.code}",
            f.label,
            tuple((lv.code, lv.label) for lv in f.levels),
            derived=True,
        )
        for f in FACTORS
    ]


def analysis_variables() -> list[Variable]:
    return [
        coded("stratum", _("Stratum"), stratum_choices()),
        Variable("cohort", _("Cohort (A known, B newly diagnosed myeloma)")),
        *_factor_variables(),
        coded("arm", _("Allocated arm (intention to treat)"), Arm.choices),
        _as_treated_variable(),
        Variable("randomised_on", _("Date of randomisation (day 0)"), "date"),
        Variable("crossover_date", _("Date of crossover to PVP"), "date"),
        # Computed by the system from the populations' rules, not typed by anyone.
        Variable(
            "analysed",
            _(
                "In the analysis populations (not withdrawn without allowing use of the data "
                "collected)"
            ),
            "boolean",
            codes=YES_NO,
            derived=True,
        ),
        Variable(
            "per_protocol",
            _("In the per-protocol population"),
            "boolean",
            codes=YES_NO,
            derived=True,
        ),
        coded(
            "pp_exclusion",
            _("Why not in the per-protocol population"),
            tuple(populations.exclusion_labels().items()),
            derived=True,
        ),
    ]


def analysis_rows() -> Iterator[tuple[int, tuple]]:
    """The allocation, the strata factors and the analysis populations of each revealed
    allocation, by participant: one query. The populations are the report's own rules
    (trial.reports.populations), applied to the same values."""
    qs = (
        annotate_as_treated(
            selectors.revealed_allocations(), "arm_as_treated", participant="participant"
        )
        .annotate(
            ineligible=Exists(
                selectors.ineligible_deviations().filter(participant_id=OuterRef("participant_id"))
            )
        )
        .order_by("participant_id")
        .values_list(
            "participant_id",
            "stratum",
            "arm",
            "arm_as_treated",
            "randomised_at",
            "participant__crossover__crossover_date",
            "participant__withdrawal__data_use_allowed",
            "ineligible",
        )
    )
    to_local = localizer()
    day = crossover_earliest_day()
    factors = [f.code for f in FACTORS]
    for pid, stratum, arm, treated, at, crossed_on, data_use, ineligible in qs.iterator(
        chunk_size=CHUNK_SIZE
    ):
        # randomised_at is NOT NULL, so the day is always there.
        randomised_at = to_local(at)
        assert randomised_at is not None
        randomised_on = randomised_at.date()
        try:
            levels = get_stratum(stratum).level_codes
        except UnknownStratum:
            levels = {}
        analysed = populations.in_analysis(data_use)
        why = populations.pp_exclusion(
            arm=arm,
            as_treated=treated,
            crossover_date=crossed_on,
            randomised_on=randomised_on,
            ineligible_randomised=bool(ineligible),
            earliest_day=day,
        )
        yield (
            pid,
            (
                stratum,
                levels.get(COHORT),
                *(levels.get(code) for code in factors),
                arm,
                treated,
                randomised_on,
                crossed_on,
                analysed,
                analysed and why is None,
                why if analysed else None,
            ),
        )


exporters.add_analysis(AnalysisColumns("allocation", analysis_variables, analysis_rows, order=10))
