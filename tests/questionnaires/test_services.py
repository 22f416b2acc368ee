"""Responses: drafts merge, submission scores with the pure functions and locks, staff entry
records mode and who, corrections need a reason and are audited."""

from __future__ import annotations

from decimal import Decimal

import pytest

from questionnaires import services
from questionnaires.models import Mode, QuestionnaireResponse, ResponseStatus
from questionnaires.scoring import eq5d3l_index, odi_score
from tests.questionnaires.factories import EQ5D_ANSWERS, ODI_ANSWERS, complete_visit
from trial.audit import audit_entries
from trial.errors import ServiceError

pytestmark = pytest.mark.django_db


def _save(participant, instrument, answers, **kw):
    return services.response_save_answers(
        participant=participant,
        visit_code="BL",
        instrument_code=instrument,
        answers=answers,
        mode=kw.pop("mode", Mode.LINK),
        **kw,
    )


def test_drafts_merge_answers_and_a_cleared_answer_is_missing(world):
    p = world.own_participant
    _save(p, "odi", {"odi_1": 2})
    _save(p, "odi", {"odi_2": 4})
    response = _save(p, "vas", {"vas_back": 40})
    assert QuestionnaireResponse.objects.get(instrument_code="odi").answers == {
        "odi_1": 2,
        "odi_2": 4,
    }
    response = _save(p, "vas", {"vas_back": None})
    assert response.answers == {}
    assert response.status == ResponseStatus.DRAFT


def test_out_of_range_answers_are_refused(world):
    with pytest.raises(ServiceError):
        _save(world.own_participant, "vas", {"vas_back": 101})
    with pytest.raises(ServiceError):
        _save(world.own_participant, "odi", {"odi_1": 6})
    with pytest.raises(ServiceError):
        _save(world.own_participant, "odi", {"nonsense": 1})


def test_submit_scores_with_the_pure_functions_and_locks(world):
    p = world.own_participant
    complete_visit(p)
    odi = QuestionnaireResponse.objects.get(participant=p, instrument_code="odi")
    eq = QuestionnaireResponse.objects.get(participant=p, instrument_code="eq5d3l")
    assert odi.status == ResponseStatus.SUBMITTED and odi.submitted_at
    expected_odi = odi_score([ODI_ANSWERS[f"odi_{n}"] for n in range(1, 11)])
    assert Decimal(odi.scores["odi_score"]) == expected_odi == Decimal("60.0")
    assert odi.scores["odi_band"] == "severe"
    assert eq.scores["eq5d_profile"] == "21232"
    assert Decimal(eq.scores["eq5d_index"]) == eq5d3l_index("21232", "DK")
    with pytest.raises(services.ResponseLocked):
        _save(p, "odi", {"odi_1": 0})


def test_an_untouched_vas_is_missing_not_fifty(world):
    p = world.own_participant
    _save(p, "vas", {"vas_leg": 20})
    services.visit_submit(participant=p, visit_code="BL", mode=Mode.LINK)
    vas = QuestionnaireResponse.objects.get(participant=p, instrument_code="vas")
    assert vas.answers == {"vas_leg": 20}


def test_the_value_set_setting_is_used(world, settings):
    settings.TRIAL_EQ5D_VALUE_SET = "UK"
    complete_visit(world.own_participant)
    eq = QuestionnaireResponse.objects.get(instrument_code="eq5d3l")
    assert eq.scores["eq5d_value_set"] == "UK"
    assert Decimal(eq.scores["eq5d_index"]) == eq5d3l_index("21232", "UK")


def test_phone_entry_stores_mode_and_who_entered(world):
    nurse = world.users["nurse"]
    response = services.response_enter(
        participant=world.own_participant,
        visit_code="BL",
        instrument_code="odi",
        answers=ODI_ANSWERS,
        mode=Mode.PHONE,
        user=nurse,
    )
    response.refresh_from_db()
    assert response.mode == Mode.PHONE and response.entered_by == nurse
    assert response.status == ResponseStatus.SUBMITTED
    assert response.scores["odi_score"] == "60.0"
    with pytest.raises(services.ResponseLocked):
        services.response_enter(
            participant=world.own_participant,
            visit_code="BL",
            instrument_code="odi",
            answers=ODI_ANSWERS,
            mode=Mode.PHONE,
            user=nurse,
        )


def test_patients_do_not_enter_by_phone_mode_link(world):
    with pytest.raises(ServiceError):
        services.response_enter(
            participant=world.own_participant,
            visit_code="BL",
            instrument_code="odi",
            answers={},
            mode=Mode.LINK,
            user=world.users["nurse"],
        )


def test_a_correction_needs_a_reason_recomputes_and_is_audited(world):
    p = world.own_participant
    complete_visit(p)
    odi = QuestionnaireResponse.objects.get(participant=p, instrument_code="odi")
    nurse = world.users["nurse"]
    with pytest.raises(ServiceError):
        services.response_correct(response=odi, answers=ODI_ANSWERS, user=nurse, reason=" ")
    corrected = {**ODI_ANSWERS, "odi_1": 5}
    services.response_correct(
        response=odi, answers=corrected, user=nurse, reason="patient ticked 5, typo"
    )
    odi.refresh_from_db()
    assert odi.answers["odi_1"] == 5
    assert odi.scores["odi_score"] == str(odi_score([5] + [3] * 9))
    entries = audit_entries(participant_id=p.id, limit=100)
    reasons = [e.reason for e in entries if e.user == nurse]
    assert "patient ticked 5, typo" in reasons


def test_drafts_cannot_be_corrected(world):
    p = world.own_participant
    draft = _save(p, "odi", {"odi_1": 1})
    with pytest.raises(ServiceError):
        services.response_correct(
            response=draft, answers={}, user=world.users["nurse"], reason="the patient asked"
        )


def test_readiness_blocks_until_baseline_is_submitted(world):
    from trial.participants.selectors import randomisation_blocker_details

    p = world.own_participant
    codes = [b.code for b in randomisation_blocker_details(p)]
    assert "baseline" in codes
    blocker = next(b for b in randomisation_blocker_details(p) if b.code == "baseline")
    assert blocker.url.endswith(f"/participants/{p.trial_number}/questionnaires/")
    _save(p, "odi", ODI_ANSWERS)
    services.response_save_answers(
        participant=p,
        visit_code="BL",
        instrument_code="eq5d3l",
        answers=EQ5D_ANSWERS,
        mode=Mode.LINK,
    )
    assert "baseline" in [b.code for b in randomisation_blocker_details(p)]  # drafts only
    complete_visit(p)
    assert "baseline" not in [b.code for b in randomisation_blocker_details(p)]


def test_health_service_use_is_not_part_of_baseline(world):
    from trial.protocol import visits

    assert visits.visit_instruments("BL") == ("odi", "vas", "eq5d3l")
    assert visits.visit_instruments("W1") == ("vas", "hsu")
    assert visits.visit_instruments("M3") == ("odi", "vas", "eq5d3l", "hsu")
    assert visits.visit_instruments("SC") == ()
