"""Reads for treatment and clinical events: the as-treated arm and the analysts' per-vertebra
figures (Tables 1 and 2 of the PVP case series: levels treated, cement leakage, posterior-wall
defects), computed in the database with a constant number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from django.db.models import Case, CharField, Count, Exists, OuterRef, Q, QuerySet, Value, When

from trial.models import (
    AdverseEvent,
    LeakageSite,
    Participant,
    Procedure,
    ProcedureLevel,
)
from trial.registry import revealed_allocation_q

PVP = "pvp"
CONSERVATIVE = "conservative"


# --- as-treated arm -----------------------------------------------------------------------
# Intention to treat uses the allocation (randomization.Allocation.arm), which never changes.
# Both read an allocation only once it is revealed (the opened envelope confirmed; the rule is
# randomization.selectors', reached through trial.registry): before that the participant has
# no arm here, for the page and for the statistician alike.
# As treated is the sensitivity grouping, and it is defined here only, as one SQL expression:
# the participant page, every export column (Python rows and PostgreSQL's COPY alike) and the
# outcome report read it, so a statistician's groups cannot differ from what the page shows.


def as_treated_expression(participant: str = "pk") -> Case:
    """The as-treated arm as an expression over a query whose ``participant`` path (``"pk"``
    on participants, ``"participant"`` on a model pointing at one) leads to the participant.

    - randomised and a PVP procedure recorded: PVP, whatever the allocation (a conservative
      participant who crossed over and was treated, or an allocated PVP that happened);
    - randomised without a procedure recorded: conservative. Treated means a procedure is
      recorded, so an allocated PVP that never happened is conservative care, and so is a
      crossover to PVP whose procedure is not (yet) recorded: the crossover is a decision,
      the procedure is the treatment;
    - not randomised, or randomised with the envelope not yet confirmed: no arm (NULL), even
      if a procedure were recorded.
    """
    prefix = "" if participant == "pk" else f"{participant}__"
    randomised = Q(**{f"{prefix}allocation__isnull": False}) & revealed_allocation_q(
        f"{prefix}allocation__"
    )
    treated = Exists(Procedure.objects.filter(participant_id=OuterRef(participant)))
    return Case(
        When(randomised & treated, then=Value(PVP)),
        When(randomised, then=Value(CONSERVATIVE)),
        default=Value(None),
        output_field=CharField(),
    )


def annotate_as_treated(qs: QuerySet, name: str = "as_treated_arm", participant: str = "pk"):
    """The query with the as-treated arm as ``name``, computed in the same query (see
    ``as_treated_expression`` for the rule and for ``participant``)."""
    return qs.annotate(**{name: as_treated_expression(participant)})


def as_treated_arm(participant: Participant) -> str | None:
    """``"pvp"``, ``"conservative"`` or None for one participant (one query), by the same
    expression as the exports, so the page cannot say otherwise."""
    if participant.pk is None:
        return None
    return (
        annotate_as_treated(Participant.objects.filter(pk=participant.pk))
        .values_list("as_treated_arm", flat=True)
        .first()
    )


# --- leakage ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> Fraction | None:
        return Fraction(self.numerator, self.denominator) if self.denominator else None

    @property
    def percent(self) -> float | None:
        """Rounded to one decimal, as the tables report it (12/81 -> 14.8)."""
        value = self.value
        return None if value is None else round(float(value * 100), 1)

    def __str__(self) -> str:
        percent = self.percent
        shown = "—" if percent is None else f"{percent}%"
        return f"{self.numerator}/{self.denominator} ({shown})"


@dataclass(frozen=True)
class LeakageRates:
    per_vertebra: Rate  # leaking vertebrae / treated vertebrae
    per_patient: Rate  # patients with at least one leaking vertebra / patients treated
    posterior_wall_defects: Rate  # vertebrae with a defect on MRI / treated vertebrae
    by_site: dict[str, int]  # leaking vertebrae per leakage site (a vertebra may have several)
    thoracic: int
    lumbar: int


def leakage_rates(procedures_qs: QuerySet[Procedure] | None = None) -> LeakageRates:
    """Cement leakage per treated vertebra and per patient for the given procedures.

    Two queries whatever the number of procedures: one over the vertebrae, one over the
    procedures (a patient is treated when the procedure has at least one vertebra).
    """
    if procedures_qs is None:
        procedures_qs = Procedure.objects.all()
    levels = ProcedureLevel.objects.filter(procedure__in=procedures_qs.values("pk"))
    counts = levels.aggregate(
        treated=Count("id"),
        leaking=Count("id", filter=Q(leakage=True)),
        defects=Count("id", filter=Q(posterior_wall_defect=True)),
        thoracic=Count("id", filter=Q(level__startswith="T")),
        lumbar=Count("id", filter=Q(level__startswith="L")),
        **{
            f"site_{site}": Count("id", filter=Q(**{f"leak_{site}": True}))
            for site in LeakageSite.values
        },
    )
    patients = procedures_qs.annotate(
        has_level=Exists(ProcedureLevel.objects.filter(procedure=OuterRef("pk"))),
        has_leak=Exists(ProcedureLevel.objects.filter(procedure=OuterRef("pk"), leakage=True)),
    ).aggregate(
        treated=Count("pk", filter=Q(has_level=True)),
        leaking=Count("pk", filter=Q(has_leak=True)),
    )
    return LeakageRates(
        per_vertebra=Rate(counts["leaking"], counts["treated"]),
        per_patient=Rate(patients["leaking"], patients["treated"]),
        posterior_wall_defects=Rate(counts["defects"], counts["treated"]),
        by_site={site: counts[f"site_{site}"] for site in LeakageSite.values},
        thoracic=counts["thoracic"],
        lumbar=counts["lumbar"],
    )


# --- levels: planned and treated ----------------------------------------------------------


@dataclass(frozen=True)
class LevelComparison:
    planned: list[str]
    treated: list[str]

    @property
    def not_treated(self) -> list[str]:
        return [lv for lv in self.planned if lv not in self.treated]

    @property
    def unplanned(self) -> list[str]:
        return [lv for lv in self.treated if lv not in self.planned]

    @property
    def differs(self) -> bool:
        return bool(self.not_treated or self.unplanned)


def level_comparison(participant: Participant, treated: list[str]) -> LevelComparison:
    from trial.models import SurgicalAssessment

    planned = (
        SurgicalAssessment.objects.filter(participant=participant)
        .values_list("planned_levels", flat=True)
        .first()
    )
    return LevelComparison(planned=list(planned or []), treated=list(treated))


# --- serious adverse events ---------------------------------------------------------------


def serious_adverse_events(user) -> QuerySet[AdverseEvent]:
    """Serious adverse events the user may see, unacknowledged first, newest first."""
    from trial.access import participants_for

    return (
        AdverseEvent.objects.filter(serious=True, participant__in=participants_for(user))
        .select_related("participant__site", "recorded_by", "acknowledged_by")
        .annotate(
            pending=Case(
                When(acknowledged_at__isnull=True, then=Value(0)),
                default=Value(1),
            )
        )
        .order_by("pending", "-onset_date", "-id")
    )
