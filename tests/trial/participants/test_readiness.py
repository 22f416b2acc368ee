"""trial.participants.selectors.randomisation_blockers: what stands between a participant and
randomisation, in words."""

from tests.factories import (
    ConsentFactory,
    ParticipantFactory,
    ReferralFactory,
    ScreeningFormFactory,
    SurgicalAssessmentFactory,
    eligibility_all_met,
    screening_complete,
)
from trial.models import Role
from trial.participants.selectors import randomisation_blocker_details
from trial.registry import registry
from trial.screening.selectors import eligibility_result


def codes(participant):
    return [b.code for b in randomisation_blocker_details(participant)]


def test_a_new_participant_lacks_everything(world):
    p = world.own_participant
    assert codes(p)[:4] == ["screening_form", "eligibility", "consent", "surgical_assessment"]


def test_a_complete_screening_path_leaves_only_other_apps_checks(world):
    p = screening_complete(world.own_participant, world.users[Role.HEMATOLOGIST])
    assert not [
        c
        for c in codes(p)
        if c in {"screening_form", "eligibility", "consent", "surgical_assessment", "status"}
    ]


def test_eligibility_waits_for_the_surgeon_then_follows_the_assessment(world):
    user = world.users[Role.HEMATOLOGIST]
    p = ParticipantFactory(site=world.own, sequence=7)
    eligibility_all_met(p, user)
    assert eligibility_result(p).status == "pending_surgeon"
    SurgicalAssessmentFactory(participant=p, contraindication=True)
    result = eligibility_result(p)
    assert result.status == "not_eligible"
    assert any("ontraindication" in r or "ontraindikation" in r for r in result.reasons)


def test_an_open_referral_is_reported_as_awaited(world):
    p = ParticipantFactory(site=world.own, sequence=8)
    ReferralFactory(participant=p)
    messages = [
        b.message for b in randomisation_blocker_details(p) if b.code == "surgical_assessment"
    ]
    assert len(messages) == 1 and messages[0] != ""


def test_more_than_four_planned_levels_block(world):
    user = world.users[Role.HEMATOLOGIST]
    p = ParticipantFactory(site=world.own, sequence=9)
    ScreeningFormFactory(participant=p, completed_by=user)
    eligibility_all_met(p, user)
    ConsentFactory(participant=p, taken_by=user)
    SurgicalAssessmentFactory(participant=p, planned_levels=["L1", "L2", "L3", "L4", "L5"])
    assert "eligibility" in codes(p) and "surgical_assessment" in codes(p)


def test_the_screening_check_is_registered_once():
    from trial.screening.selectors import _screening_blockers

    assert sum(1 for _, fn in registry.readiness_checks if fn is _screening_blockers) == 1
