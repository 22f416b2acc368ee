"""The criteria the recorded data answers (trial/screening/derivation.py), at their edges:
pain onset exactly 3 months before inclusion and one day more, age 17 and 18 from the CPR
number, 0, 1, 4 and 5 planned levels, a contraindication or none; and the readiness check
reading them live."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from tests.factories import (
    SurgicalAssessmentFactory,
    derivation_records,
    eligibility_all_met,
)
from trial.models import Answer, Participant, Role, ScreeningForm, SurgicalAssessment
from trial.screening import derivation
from trial.screening.derivation import Derivation, Facts, facts_for, months_before, reconcile
from trial.screening.selectors import current_criteria_version, eligibility_result

pytestmark = pytest.mark.usefixtures("fixed_day")

INCLUSION = dt.date(2026, 9, 15)


@pytest.fixture(autouse=True)
def in_english():
    with translation.override("en"):
        yield


def derive(code: str, data: Facts, on: dt.date) -> Derivation:
    result = derivation.derive(code, data, on)
    assert result is not None, f"{code} is not derived"
    return result


def criteria_in_force() -> list:
    version = current_criteria_version()
    assert version is not None
    return list(version.criteria.all())


def form(**values) -> ScreeningForm:
    values.setdefault("myeloma_status", "known")
    values.setdefault("diagnosis_date", dt.date(2024, 1, 10))
    values.setdefault("pain_onset_date", INCLUSION - dt.timedelta(days=30))
    return ScreeningForm(**values)


def facts(screening_form=None, born=dt.date(1950, 5, 17), surgical=None) -> Facts:
    return Facts(screening_form=screening_form, birth_date=born, surgical=surgical)


def surgical(levels=("L1",), contraindication=False, details="") -> SurgicalAssessment:
    return SurgicalAssessment(
        assessed_on=dt.date(2026, 9, 10),
        planned_levels=list(levels),
        contraindication=contraindication,
        contraindication_details=details,
    )


# --- pain onset, cohort A ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("onset", "answer"),
    [
        (dt.date(2026, 6, 15), Answer.YES),  # exactly 3 months before inclusion
        (dt.date(2026, 6, 14), Answer.NO),  # one day more
        (INCLUSION, Answer.YES),  # began on the day of inclusion
        (dt.date(2026, 2, 11), Answer.NO),  # the issue's 216 days
    ],
)
def test_known_myeloma_pain_counts_three_calendar_months_back(onset, answer):
    result = derive("pain_within_3_months", facts(form(pain_onset_date=onset)), INCLUSION)
    assert result.answer == answer
    days = (INCLUSION - onset).days
    assert f"{days} day" in result.source and "screening form" in result.source


def test_the_issue_patient_reads_216_days_before_inclusion():
    result = derive(
        "pain_within_3_months", facts(form(pain_onset_date=dt.date(2026, 2, 11))), INCLUSION
    )
    assert result.answer == Answer.NO
    assert "216 days before inclusion" in result.source
    assert "11 Feb 2026" in result.source


def test_newly_diagnosed_myeloma_is_cohort_b_and_the_limit_does_not_apply():
    old_pain = form(myeloma_status="new", pain_onset_date=dt.date(2025, 1, 1))
    result = derive("pain_within_3_months", facts(old_pain), INCLUSION)
    assert result.answer == Answer.YES
    assert "cohort B" in result.source


def test_pain_onset_after_the_inclusion_date_cannot_be_answered():
    later = form(pain_onset_date=INCLUSION + dt.timedelta(days=1))
    result = derive("pain_within_3_months", facts(later), INCLUSION)
    assert result.answer == Answer.UNKNOWN
    assert "correct one of the two" in result.source


def test_without_a_screening_form_the_pain_criterion_waits_for_it():
    result = derive("pain_within_3_months", facts(None), INCLUSION)
    assert result.answer == Answer.UNKNOWN
    assert "screening form" in result.source


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2026, 9, 15), dt.date(2026, 6, 15)),
        (dt.date(2026, 5, 31), dt.date(2026, 2, 28)),  # February is shorter
        (dt.date(2028, 5, 31), dt.date(2028, 2, 29)),  # leap year
        (dt.date(2027, 1, 31), dt.date(2026, 10, 31)),  # across the year
    ],
)
def test_months_before_keeps_the_day_or_the_month_end(day, expected):
    assert months_before(day, 3) == expected


# --- age from the CPR number --------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "answer", "age"),
    [
        (dt.date(2008, 9, 16), Answer.NO, 17),  # 18 tomorrow
        (dt.date(2008, 9, 15), Answer.YES, 18),  # 18 today
        (dt.date(1950, 5, 17), Answer.YES, 76),
    ],
)
def test_adult_is_read_from_the_cpr_number_on_the_inclusion_date(world, born, answer, age):
    participant = Participant.objects.get(site=world.own, sequence=1)  # world.own_participant
    derivation_records(participant, world.users[Role.HEMATOLOGIST], born=born)
    result = derive("adult_myeloma", facts_for(participant), INCLUSION)
    assert result.answer == answer
    assert f"Age {age} on" in result.source and "CPR number" in result.source
    assert "; known myeloma, diagnosed" in result.source


def test_adult_waits_for_the_cpr_number_and_the_screening_form():
    assert derive("adult_myeloma", facts(form(), born=None), INCLUSION).answer == Answer.UNKNOWN
    assert derive("adult_myeloma", facts(None), INCLUSION).answer == Answer.UNKNOWN


# --- the surgical assessment --------------------------------------------------------------


@pytest.mark.parametrize(
    ("levels", "answer"),
    [
        ((), Answer.NO),
        (("L1",), Answer.YES),
        (("T11", "T12", "L1", "L2"), Answer.YES),
        (("T11", "T12", "L1", "L2", "L3"), Answer.NO),
    ],
)
def test_one_to_four_planned_levels(levels, answer):
    result = derive("levels_1_to_4", facts(surgical=surgical(levels)), INCLUSION)
    assert result.answer == answer
    assert f"{len(levels)} level" in result.source


@pytest.mark.parametrize(("contraindicated", "answer"), [(True, Answer.YES), (False, Answer.NO)])
def test_contraindication_from_the_surgeon(contraindicated, answer):
    assessment = surgical(contraindication=contraindicated, details="Coagulopathy")
    result = derive("surgical_contraindication", facts(surgical=assessment), INCLUSION)
    assert result.answer == answer
    assert ("Coagulopathy" in result.source) == contraindicated


def test_surgical_criteria_wait_for_the_assessment():
    for code in ("levels_1_to_4", "surgical_contraindication"):
        assert derive(code, facts(), INCLUSION).answer == Answer.UNKNOWN


def test_a_criterion_the_data_cannot_say_is_left_to_the_hematologist():
    assert derivation.derive("questionnaires_language", facts(form()), INCLUSION) is None
    assert not derivation.derives("new_vertebral_lesion")


# --- reconciling given answers with the data ---------------------------------------------


def test_a_ticked_answer_that_disagrees_is_refused_naming_both(world):
    criteria = criteria_in_force()
    old_pain = facts(form(pain_onset_date=dt.date(2026, 2, 11)))
    checked = reconcile(criteria, {"pain_within_3_months": "yes"}, old_pain, INCLUSION)
    message = checked.errors["pain_within_3_months"]
    assert "You answered “Yes”" in message
    assert "the recorded data says “No”" in message
    assert "216 days before inclusion" in message
    assert checked.answers["pain_within_3_months"] == "no"


def test_derived_answers_are_filled_in_and_kept_with_their_source(world):
    criteria = criteria_in_force()
    data = facts(form(), surgical=surgical(("L1", "L2")))
    checked = reconcile(criteria, {"new_vertebral_lesion": "yes"}, data, INCLUSION)
    assert checked.errors == {}
    assert checked.answers == {
        "new_vertebral_lesion": "yes",
        "adult_myeloma": "yes",
        "pain_within_3_months": "yes",
    }
    assert set(checked.derived) == {
        "adult_myeloma",
        "pain_within_3_months",
        "levels_1_to_4",
        "surgical_contraindication",
    }
    assert "2 levels planned (L1, L2)" in checked.derived["levels_1_to_4"]["source"]


def test_missing_records_are_asked_for_but_the_surgeon_is_not_awaited(world):
    criteria = criteria_in_force()
    checked = reconcile(criteria, {}, facts(None), INCLUSION)
    assert set(checked.errors) == {"adult_myeloma", "pain_within_3_months"}
    assert "cannot be answered yet" in checked.errors["pain_within_3_months"]


# --- the readiness check reads the records as they are now --------------------------------


def test_a_corrected_pain_onset_makes_the_participant_not_eligible(world):
    hema = world.users[Role.HEMATOLOGIST]
    participant = world.own_participant
    screening_form = derivation_records(participant, hema)
    eligibility_all_met(participant, hema)
    SurgicalAssessmentFactory(participant=participant)
    assert eligibility_result(participant).status == "eligible"

    screening_form.pain_onset_date = timezone.localdate() - dt.timedelta(days=216)
    screening_form.save()
    result = eligibility_result(participant)
    assert result.status == "not_eligible"
    assert any("3 months" in reason for reason in result.reasons)


def test_a_ticked_answer_stands_only_where_the_record_is_missing(world):
    """Assessments saved before derivation, of participants without the records, keep their
    ticked answers."""
    hema = world.users[Role.HEMATOLOGIST]
    participant = world.own_participant
    assessment = eligibility_all_met(participant, hema)
    SurgicalAssessmentFactory(participant=participant)
    assert eligibility_result(participant).status == "eligible"
    assessment.answers["pain_within_3_months"] = "no"
    assessment.save()
    assert eligibility_result(participant).status == "not_eligible"
