"""Eligibility is evaluated once: the participant's readiness and the CONSORT counts agree."""

from __future__ import annotations

import pytest
from django.utils import translation

from tests.factories import (
    ConsentFactory,
    ParticipantFactory,
    SurgicalAssessmentFactory,
    eligibility_all_met,
)
from trial.models import Role
from trial.screening import services
from trial.screening.selectors import consort_counts, criterion_verdicts, eligibility_result

# Failing answers, and whether the surgeon finds a contraindication or too many levels.
CASES = [
    ({}, {}),
    ({"new_vertebral_lesion": "no"}, {}),
    ({"new_vertebral_lesion": "no", "pain_within_3_months": "no"}, {}),
    ({}, {"contraindication": True}),
    ({}, {"planned_levels": ["L1", "L2", "L3", "L4", "L5"]}),
    ({"pain_within_3_months": "no"}, {"contraindication": True}),
]


@pytest.mark.parametrize(("answers", "surgical"), CASES)
@pytest.mark.parametrize("with_consent", [True, False])
def test_readiness_and_consort_name_the_same_failed_criteria(
    world, answers, surgical, with_consent
):
    hema = world.users[Role.HEMATOLOGIST]
    participant = ParticipantFactory(site=world.own, sequence=30)
    assessment = eligibility_all_met(participant, hema)
    assessment.answers.update(answers)
    assessment.save()
    if with_consent:
        ConsentFactory(participant=participant, taken_by=hema)
    SurgicalAssessmentFactory(participant=participant, **surgical)

    with translation.override("en"):
        result = eligibility_result(participant)
        failed_texts = set(result.reasons) if result.status == "not_eligible" else set()
        services.participant_not_included(
            participant=participant, user=hema, reason_code="not_eligible", note="test"
        )
        counts = consort_counts(world.own)
    consort_codes = {
        row["code"]
        for row in counts.not_eligible_by_criterion
        if row["code"] != "criterion_not_recorded"
    }
    with translation.override("en"):
        texts = {
            c.code: c.text() for c, _ in criterion_verdicts(assessment, None, has_consent=True)
        }
        assert {texts[code] for code in consort_codes} == failed_texts
    assert bool(consort_codes) == (result.status == "not_eligible")


def test_a_missing_consent_is_never_a_failed_criterion(world):
    hema = world.users[Role.HEMATOLOGIST]
    participant = ParticipantFactory(site=world.own, sequence=31)
    assessment = eligibility_all_met(participant, hema)
    SurgicalAssessmentFactory(participant=participant)
    surgical = participant.surgical_assessment
    verdicts = {
        v
        for c, v in criterion_verdicts(assessment, surgical, has_consent=False)
        if c.assessed_by == "consent"
    }
    assert verdicts <= {"consent_missing"}
    assert eligibility_result(participant).status == "eligible"
