"""Baseline answers of a randomised participant are corrected with a reason (issue 17, item 5)
by the site's hematologist and the data manager; the monitor only reads."""

from __future__ import annotations

import pytest
from django.urls import reverse

from questionnaires.models import QuestionnaireResponse
from tests.factories import randomised
from tests.questionnaires.factories import complete_visit
from trial.models import Role

pytestmark = pytest.mark.django_db

REASON = "answers misread when typed in"


@pytest.fixture
def participant(world):
    complete_visit(world.own_participant)
    return randomised(world.own_participant, days_ago=5)


def _url(participant) -> str:
    return reverse("questionnaires:staff_correct", args=[participant.trial_number, "BL", "vas"])


@pytest.mark.parametrize("role", [Role.HEMATOLOGIST, Role.DATA_MANAGER])
def test_after_randomisation_baseline_answers_are_corrected_with_a_reason(
    world, login, participant, role
):
    client = login(world.users[role])
    refused = client.post(_url(participant), {"vas_back": "12", "vas_leg": "35", "reason": ""})
    assert refused.status_code == 200
    done = client.post(_url(participant), {"vas_back": "12", "vas_leg": "35", "reason": REASON})
    assert done.status_code == 302
    vas = QuestionnaireResponse.objects.get(participant=participant, instrument_code="vas")
    assert vas.answers == {"vas_back": 12, "vas_leg": 35}
    latest = vas.history.order_by("-history_date", "-pk").first()
    assert latest.history_change_reason == REASON and latest.history_user == world.users[role]


def test_the_monitor_cannot_correct_baseline_answers_after_randomisation(world, login, participant):
    before = QuestionnaireResponse.objects.get(participant=participant, instrument_code="vas")
    response = login(world.users[Role.MONITOR]).post(
        _url(participant), {"vas_back": "12", "vas_leg": "35", "reason": REASON}
    )
    assert response.status_code == 403
    after = QuestionnaireResponse.objects.get(pk=before.pk)
    assert after.answers == before.answers
