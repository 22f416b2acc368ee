"""Leakage rates per vertebra and per patient, and the as-treated arm."""

from __future__ import annotations

from fractions import Fraction

import pytest

from tests.factories import (
    ParticipantFactory,
    ProcedureFactory,
    ProcedureLevelFactory,
    SiteFactory,
    randomised,
)
from trial.models import Crossover, Participant, Procedure
from trial.protocol.vertebrae import LEVELS
from trial.treatment.selectors import annotate_as_treated, as_treated_arm, leakage_rates

pytestmark = pytest.mark.django_db


def _series(site, patients):
    """Procedures with the given vertebrae: ``patients`` is a list of lists of
    (leakage, posterior_wall_defect) per treated vertebra."""
    for n, vertebrae in enumerate(patients, start=1):
        participant = ParticipantFactory(site=site, sequence=n)
        procedure = ProcedureFactory(participant=participant)
        for i, (leak, defect) in enumerate(vertebrae):
            ProcedureLevelFactory(
                procedure=procedure, level=LEVELS[i], leakage=leak, posterior_wall_defect=defect
            )


def _case_series():
    """The 30 patients and 81 vertebrae of the PVP case series (seed 002, Table 1): cement
    leakage in 12 vertebrae of 7 patients, posterior-wall defects in 24 vertebrae."""
    patients = []
    # 7 patients with leakage: 12 leaking vertebrae among their 21 vertebrae.
    leaks_per_patient = [3, 2, 2, 2, 1, 1, 1]
    for leaks in leaks_per_patient:
        patients.append([(i < leaks, False) for i in range(3)])
    # 23 patients without leakage: 60 vertebrae (6 single-level, 17 with 3 or so).
    sizes = [1] * 6 + [3] * 16 + [6]
    for size in sizes:
        patients.append([(False, False)] * size)
    # 24 posterior-wall defects, spread over the first vertebrae of the non-leaking patients.
    remaining = 24
    for p in range(7, len(patients)):
        vertebrae = patients[p]
        for i in range(len(vertebrae)):
            if remaining and vertebrae[i] == (False, False):
                vertebrae[i] = (False, True)
                remaining -= 1
    return patients


def test_it_computes_the_case_series_rates_per_vertebra_and_per_patient(
    django_assert_num_queries,
):
    site = SiteFactory(code="AAR")
    patients = _case_series()
    assert len(patients) == 30 and sum(len(p) for p in patients) == 81
    _series(site, patients)

    with django_assert_num_queries(2):
        rates = leakage_rates(Procedure.objects.all())

    assert (rates.per_vertebra.numerator, rates.per_vertebra.denominator) == (12, 81)
    assert rates.per_vertebra.percent == 14.8
    assert rates.per_vertebra.value == Fraction(12, 81)
    assert (rates.per_patient.numerator, rates.per_patient.denominator) == (7, 30)
    assert rates.per_patient.percent == 23.3
    assert (rates.posterior_wall_defects.numerator, rates.posterior_wall_defects.denominator) == (
        24,
        81,
    )
    assert rates.posterior_wall_defects.percent == 29.6
    assert rates.by_site["disc"] == 12 and rates.by_site["venous"] == 0
    assert rates.thoracic + rates.lumbar == 81


def test_it_counts_a_vertebra_leaking_at_several_sites_once():
    site = SiteFactory(code="AAR")
    procedure = ProcedureFactory(participant=ParticipantFactory(site=site, sequence=1))
    ProcedureLevelFactory(
        procedure=procedure, level="L1", leakage=True, leak_disc=True, leak_venous=True
    )
    ProcedureLevelFactory(procedure=procedure, level="L2", leakage=False)

    rates = leakage_rates(Procedure.objects.all())

    assert str(rates.per_vertebra) == "1/2 (50.0%)"
    assert (rates.per_patient.numerator, rates.per_patient.denominator) == (1, 1)
    assert rates.by_site == {
        "disc": 1,
        "venous": 1,
        "paravertebral": 0,
        "epidural": 0,
        "foraminal": 0,
    }


def test_it_restricts_to_the_procedures_given():
    aar, ode = SiteFactory(code="AAR"), SiteFactory(code="ODE")
    _series(aar, [[(True, False), (False, False)]])
    _series(ode, [[(False, False)], [(False, False)]])

    rates = leakage_rates(Procedure.objects.filter(participant__site=ode))

    assert (rates.per_vertebra.numerator, rates.per_vertebra.denominator) == (0, 2)
    assert (rates.per_patient.numerator, rates.per_patient.denominator) == (0, 2)


def test_a_procedure_without_vertebrae_is_not_a_treated_patient_and_empty_data_has_no_rate():
    site = SiteFactory(code="AAR")
    ProcedureFactory(participant=ParticipantFactory(site=site, sequence=1))

    rates = leakage_rates(Procedure.objects.all())

    assert rates.per_patient.denominator == 0
    assert rates.per_vertebra.value is None and rates.per_vertebra.percent is None


def test_as_treated_follows_the_procedure_not_the_allocation():
    site = SiteFactory(code="AAR")
    pvp_treated = randomised(ParticipantFactory(site=site, sequence=1), arm="pvp", days_ago=40)
    ProcedureFactory(participant=pvp_treated)
    pvp_untreated = randomised(ParticipantFactory(site=site, sequence=2), arm="pvp", days_ago=5)
    conservative = randomised(
        ParticipantFactory(site=site, sequence=3), arm="conservative", days_ago=40
    )
    crossed = randomised(ParticipantFactory(site=site, sequence=4), arm="conservative", days_ago=40)
    Crossover.objects.create(
        participant=crossed,
        crossover_date=conservative.allocation.randomised_at.date(),
        reason="pain",
        recorded_by=crossed.created_by or pvp_treated.allocation.randomised_by,
    )
    crossed_not_yet_treated = Participant.objects.get(pk=crossed.pk)
    assert as_treated_arm(crossed_not_yet_treated) == "conservative"
    ProcedureFactory(participant=crossed)
    not_randomised = ParticipantFactory(site=site, sequence=5)

    expected = {
        pvp_treated.pk: "pvp",
        pvp_untreated.pk: "conservative",
        conservative.pk: "conservative",
        crossed.pk: "pvp",
        not_randomised.pk: None,
    }
    for participant in Participant.objects.all():
        assert as_treated_arm(participant) == expected[participant.pk], participant
    annotated = dict(
        annotate_as_treated(Participant.objects.all()).values_list("pk", "as_treated_arm")
    )
    assert annotated == expected
    # The allocation itself never changes.
    assert Participant.objects.get(pk=crossed.pk).allocation.arm == "conservative"


def test_the_as_treated_annotation_is_one_query(django_assert_num_queries):
    site = SiteFactory(code="AAR")
    for n in range(1, 6):
        randomised(ParticipantFactory(site=site, sequence=n), arm="pvp")
    with django_assert_num_queries(1):
        rows = list(annotate_as_treated(Participant.objects.all()).values("as_treated_arm"))
    assert len(rows) == 5
