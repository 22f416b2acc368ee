"""Each reader of the visit schedule follows FOLLOWUP_SCHEDULE: questionnaire visits, the
analysis file's variables, the ODM study events and the outcome report's visits (the whole
demo under another schedule is in test_protocol_end_to_end, marked slow)."""

from __future__ import annotations

import pytest

from questionnaires.exports import analysis_variables
from trial.exports.formats.odm import ENROLMENT, _odm_events
from trial.protocol import bundled_schedule, visits
from trial.reports.outcome_data import _report_visits, outcome_data

KYPHOPLASTY = [v.code for v in bundled_schedule("kyphoplasty_example").visits]


@pytest.fixture
def kyphoplasty(settings):
    settings.FOLLOWUP_SCHEDULE = "kyphoplasty_example"


def test_questionnaire_visits_are_those_of_the_schedule_in_force(kyphoplasty):
    assert visits.visit_codes() == [visits.BASELINE, *KYPHOPLASTY]
    assert visits.visit_instruments("D15") == ("vas",)
    assert visits.visit_instruments("D90") == ("vas", "hsu")
    assert visits.visit_instruments("W4") == ()
    assert not visits.is_known("M3")


def test_questionnaire_visits_default_to_vertebra():
    assert visits.visit_codes()[:3] == [visits.BASELINE, "W1", "W2"]
    assert visits.visit_instruments("W4") == ("odi", "vas", "eq5d3l", "hsu")


def test_the_analysis_file_names_variables_after_the_schedule_in_force(kyphoplasty):
    names = {variable.name for variable in analysis_variables()}
    assert {"vas_back_bl", "vas_back_dm8", "vas_back_dm1", "vas_leg_d15", "vas_back_d360"} <= names
    assert not {name for name in names if name.endswith(("_w4", "_m3", "_m12"))}


def test_the_odm_study_events_are_those_of_the_schedule_in_force(kyphoplasty):
    assert _odm_events([]) == [ENROLMENT, visits.BASELINE, *KYPHOPLASTY]


@pytest.mark.django_db
def test_the_outcome_report_reads_visits_and_primary_from_the_schedule(kyphoplasty):
    data = outcome_data()
    assert [v["code"] for v in data.visits] == KYPHOPLASTY
    assert data.primary_visit == "D15"
    # No visit collects the ODI or EQ-5D here: the report shows the pain VAS visits.
    assert [code for code, _label in _report_visits(data)] == KYPHOPLASTY


@pytest.mark.django_db
def test_the_outcome_report_keeps_the_vertebra_visits_by_default():
    data = outcome_data()
    assert data.primary_visit == "W4"
    assert [code for code, _label in _report_visits(data)] == ["W4", "M3", "M12"]
