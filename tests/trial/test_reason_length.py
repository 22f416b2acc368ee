"""Reasons a person gives in words have a minimum length, REASON_MIN_LENGTH (10), checked in
one place (trial.audit.require_reason) for corrections, identified exports and staff changes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from questionnaires import services as questionnaire_services
from questionnaires.models import QuestionnaireResponse
from tests.conftest import verified_client
from tests.questionnaires.factories import ODI_ANSWERS, complete_visit
from trial.audit import ReasonRequired, require_reason
from trial.errors import ServiceError
from trial.exports import services as export_services
from trial.models import ExportRun, Role


@pytest.fixture(autouse=True)
def _in_english(settings):
    # The messages are asserted in English; the interface's default language is Danish.
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def test_the_one_check_trims_and_counts(settings):
    with pytest.raises(ReasonRequired):
        require_reason("ten chars")  # 9 after trimming
    assert require_reason("  ten chars!  ") == "ten chars!"
    with pytest.raises(ReasonRequired):
        require_reason(None)
    settings.REASON_MIN_LENGTH = 3
    assert require_reason("typ") == "typ"


def test_a_correction_needs_a_reason_of_the_minimum_length(world, settings):
    p = world.own_participant
    complete_visit(p)
    odi = QuestionnaireResponse.objects.get(participant=p, instrument_code="odi")
    nurse = world.users[Role.NURSE]
    with pytest.raises(ServiceError, match="at least 10 characters"):
        questionnaire_services.response_correct(
            response=odi, answers={**ODI_ANSWERS, "odi_1": 5}, user=nurse, reason="typo"
        )
    settings.REASON_MIN_LENGTH = 4
    questionnaire_services.response_correct(
        response=odi, answers={**ODI_ANSWERS, "odi_1": 5}, user=nurse, reason="typo"
    )
    odi.refresh_from_db()
    assert odi.answers["odi_1"] == 5


def test_an_identified_export_needs_a_reason_of_the_minimum_length(world):
    manager = world.users[Role.DATA_MANAGER]
    with pytest.raises(ValidationError) as caught:
        export_services.export_request(
            user=manager, exporter="full", format="csv", identified=True, reason="registry"
        )
    assert "reason" in caught.value.message_dict
    assert not ExportRun.objects.exists()
    page = verified_client(manager).post(
        reverse("trial:export_list"),
        {"exporter": "full", "format": "csv", "identified": "on", "reason": "registry"},
    )
    assert page.status_code == 200 and "at least 10 characters" in page.content.decode()
    assert not ExportRun.objects.exists()


def test_staff_changes_use_the_same_setting(world, settings):
    settings.REASON_MIN_LENGTH = 30
    coordinator = verified_client(world.users[Role.COORDINATOR])
    nurse = world.users[Role.NURSE]
    url = reverse("trial:staff_deactivate", args=[nurse.pk])
    short = coordinator.post(url, {"reason": "left the department in May"})  # 26
    assert short.status_code == 200 and "at least 30 characters" in short.content.decode()
    nurse.refresh_from_db()
    assert nurse.is_active
