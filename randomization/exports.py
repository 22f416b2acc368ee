"""The randomisation app's exports: allocations of randomised participants.

Only envelopes that were used appear, through their allocation: an unused envelope's arm is
never exported (concealment, DOMAIN.md). An allocation whose opened envelope is not confirmed
yet is left out too (``selectors.revealed_allocations``): for the statistician that
participant is not randomised yet, and appears with both arms once the envelope is confirmed.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.utils.translation import gettext_lazy as _

from randomization import selectors
from randomization.models import Allocation, Arm
from randomization.strata import stratum_choices
from trial.exports.registry import (
    CHUNK_SIZE,
    AnalysisColumns,
    QueryExporter,
    Variable,
    coded,
    exporters,
    localizer,
    register,
)
from trial.treatment.selectors import annotate_as_treated


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


def analysis_variables() -> list[Variable]:
    return [
        coded("stratum", _("Stratum"), stratum_choices()),
        Variable("cohort", _("Cohort (A known, B newly diagnosed myeloma)")),
        coded("arm", _("Allocated arm (intention to treat)"), Arm.choices),
        _as_treated_variable(),
        Variable("randomised_on", _("Date of randomisation (day 0)"), "date"),
    ]


def analysis_rows() -> Iterator[tuple[int, tuple]]:
    qs = (
        annotate_as_treated(
            selectors.revealed_allocations(), "arm_as_treated", participant="participant"
        )
        .order_by("participant_id")
        .values_list("participant_id", "stratum", "arm", "arm_as_treated", "randomised_at")
    )
    to_local = localizer()
    for pid, stratum, arm, treated, at in qs.iterator(chunk_size=CHUNK_SIZE):
        # randomised_at is NOT NULL, so the day is always there.
        randomised_at = to_local(at)
        assert randomised_at is not None
        yield pid, (stratum, stratum[:1], arm, treated, randomised_at.date())


exporters.add_analysis(AnalysisColumns("allocation", analysis_variables, analysis_rows, order=10))
