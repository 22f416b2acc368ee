"""The randomisation app's exports (issue 8): allocations of randomised participants.

Only envelopes that were used appear, through their allocation: an unused envelope's arm is
never exported (concealment, DOMAIN.md).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.apps import apps
from django.utils.translation import gettext_lazy as _

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


@register
class AllocationExporter(QueryExporter):
    identifier = "allocations"
    label = _("Allocations")
    description = _("Arm, stratum and envelope of every randomised participant.")
    source_app = "randomization"
    order = 60

    def variables(self) -> list[Variable]:
        return [
            coded("stratum", _("Stratum"), stratum_choices()),
            coded("arm", _("Allocated arm"), Arm.choices),
            Variable("envelope_serial", _("Envelope serial")),
            Variable("randomised_at", _("Randomised"), "datetime"),
        ]

    model = Allocation
    fields = ("stratum", "arm", "envelope__serial", "randomised_at")


def _crossed_over() -> set[int]:
    """Participants who changed to PVP, when the treatment models record crossovers."""
    try:
        crossover = apps.get_model("trial", "Crossover")
    except LookupError:
        return set()
    return set(crossover.objects.values_list("participant_id", flat=True))


def analysis_variables() -> list[Variable]:
    return [
        coded("stratum", _("Stratum"), stratum_choices()),
        Variable("cohort", _("Cohort (A known, B newly diagnosed myeloma)")),
        coded("arm", _("Allocated arm (intention to treat)"), Arm.choices),
        coded(
            "arm_as_treated",
            _("Arm as treated (a crossover to PVP counts as PVP)"),
            Arm.choices,
        ),
        Variable("randomised_on", _("Date of randomisation (day 0)"), "date"),
    ]


def analysis_rows() -> Iterator[tuple[int, tuple]]:
    crossed = _crossed_over()
    qs = Allocation.objects.order_by("participant_id").values_list(
        "participant_id", "stratum", "arm", "randomised_at"
    )
    to_local = localizer()
    for pid, stratum, arm, at in qs.iterator(chunk_size=CHUNK_SIZE):
        treated = Arm.PVP.value if pid in crossed else arm
        yield pid, (stratum, stratum[:1], arm, treated, to_local(at).date())


exporters.add_analysis(AnalysisColumns("allocation", analysis_variables, analysis_rows, order=10))
