"""The eligibility page with criteria derived from the records: shown read-only with their
source, a disagreeing answer refused with both named, a missing record asked for, and the
derived answers kept on the assessment."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from tests.conftest import verified_client
from tests.factories import derivation_records
from trial.models import EligibilityAssessment, Role
from trial.screening.selectors import eligibility_result

from .conftest import TODAY, d

pytestmark = pytest.mark.usefixtures("fixed_day")


def url(participant) -> str:
    return reverse("trial:eligibility", args=[participant.trial_number])


def ticked(**overrides) -> dict:
    """The criteria the hematologist ticks, all met, plus ``overrides``."""
    data = {
        "assessed_on": d(0),
        "c_new_vertebral_lesion": "yes",
        "c_questionnaires_language": "yes",
    }
    data.update(overrides)
    return data


@pytest.fixture
def hema(world):
    return verified_client(world.users[Role.HEMATOLOGIST])


@pytest.fixture
def old_pain(world):
    """Known myeloma, fracture pain since 216 days before today (the issue's patient)."""
    participant = world.own_participant
    derivation_records(
        participant,
        world.users[Role.HEMATOLOGIST],
        pain_onset_date=TODAY - dt.timedelta(days=216),
    )
    return participant


def criterion_block(html: str, code: str) -> str:
    match = re.search(rf'<div[^>]*data-derived-criterion="{code}".*?</fieldset>|$', html, re.S)
    assert match and match.group(0), f"{code} is not shown as derived"
    return match.group(0).split("data-derived-criterion=")[1]


def test_the_page_shows_the_pain_criterion_derived_with_its_source(hema, old_pain):
    html = hema.get(url(old_pain), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    block = criterion_block(html, "pain_within_3_months")
    assert 'data-answer="no"' in block
    assert "216 days before inclusion" in block
    # Read-only: the shown answers cannot be ticked; the page posts the answer it showed.
    assert re.search(r'value="no" disabled checked', block)
    assert '<input type="hidden" name="c_pain_within_3_months" value="no">' in block
    assert 'name="c_pain_within_3_months" value="yes"' not in html
    # Adult from the CPR number, the surgical criteria awaiting the surgeon.
    assert "Age 76 on" in criterion_block(html, "adult_myeloma")
    assert "not recorded yet" in criterion_block(html, "levels_1_to_4")
    # The criteria the data cannot say stay tickable.
    assert 'data-criterion="new_vertebral_lesion"' in html


def test_ticking_yes_against_the_data_is_refused_naming_both(hema, old_pain):
    response = hema.post(
        url(old_pain), ticked(c_pain_within_3_months="yes"), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    error = response.context["form"].errors["c_pain_within_3_months"][0]
    assert "You answered “Yes”" in error and "the recorded data says “No”" in error
    assert "216 days before inclusion" in error
    assert "216 days before inclusion" in response.content.decode()
    assert not EligibilityAssessment.objects.exists()


def test_the_refusal_reads_in_danish(hema, old_pain):
    response = hema.post(
        url(old_pain), ticked(c_pain_within_3_months="yes"), HTTP_ACCEPT_LANGUAGE="da"
    )
    error = response.context["form"].errors["c_pain_within_3_months"][0]
    assert "Du svarede “Ja”" in error and "216 dage før inklusion" in error


def test_the_derived_answer_is_saved_with_its_source(hema, old_pain):
    response = hema.post(url(old_pain), ticked(), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assessment = EligibilityAssessment.objects.get(participant=old_pain)
    assert assessment.answers["pain_within_3_months"] == "no"
    assert assessment.answers["adult_myeloma"] == "yes"
    assert "216 days before inclusion" in assessment.derived["pain_within_3_months"]["source"]
    assert assessment.derived["pain_within_3_months"]["answer"] == "no"
    history = assessment.history.first()
    assert history.derived == assessment.derived
    result = eligibility_result(old_pain)
    assert result.status == "not_eligible"


def test_a_record_corrected_after_the_page_opened_is_noticed(hema, world):
    """The page showed "yes" (pain for 30 days); a colleague corrects the pain onset to 7
    months ago before the hematologist saves: the save is refused, naming both."""
    participant = world.own_participant
    form = derivation_records(participant, world.users[Role.HEMATOLOGIST])
    html = hema.get(url(participant), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<input type="hidden" name="c_pain_within_3_months" value="yes">' in html

    form.pain_onset_date = TODAY - dt.timedelta(days=216)
    form.save()
    posted = ticked(c_pain_within_3_months="yes", c_adult_myeloma="yes")
    response = hema.post(url(participant), posted, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "216 days" in response.context["form"].errors["c_pain_within_3_months"][0]
    assert not EligibilityAssessment.objects.exists()


def test_the_inclusion_date_is_the_assessment_date(hema, world):
    """Pain from 100 days before today is within 3 months of an assessment 20 days ago."""
    participant = world.own_participant
    derivation_records(
        participant,
        world.users[Role.HEMATOLOGIST],
        pain_onset_date=TODAY - dt.timedelta(days=100),
    )
    response = hema.post(url(participant), ticked(assessed_on=d(20)))
    assert response.status_code == 302
    assessment = EligibilityAssessment.objects.get(participant=participant)
    assert assessment.answers["pain_within_3_months"] == "yes"


def test_without_the_screening_form_the_checklist_asks_for_it(hema, world):
    participant = world.own_participant
    response = hema.post(
        url(participant),
        ticked(c_pain_within_3_months="yes", c_adult_myeloma="yes"),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "screening form" in errors["c_pain_within_3_months"][0]
    assert "cannot be answered yet" in errors["c_adult_myeloma"][0]
    assert not EligibilityAssessment.objects.exists()
