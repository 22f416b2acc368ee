"""POST /api/v1/participants/<n>/randomise/: the page's service and its refusals, as JSON
4xx errors with a code; like the page, the answer names the envelope and never the arm."""

import json

import pytest
from django.urls import reverse

from randomization.models import Allocation, Arm
from tests.factories import ParticipantFactory
from tests.randomization.conftest import make_batch, make_ready
from tests.trial.api.conftest import token_client
from trial.models import Role


def _url(participant) -> str:
    return f"/api/v1/participants/{participant.trial_number}/randomise/"


@pytest.fixture
def hematologist(world):
    return world.users[Role.HEMATOLOGIST]


@pytest.fixture
def ready(world, hematologist):
    return make_ready(world.own, hematologist)


def test_randomising_names_the_envelope_and_conceals_the_arm(world, hematologist, ready):
    make_batch(world.own, "A1N", 4)
    response = token_client(hematologist, scopes=["randomise"]).post(_url(ready))
    assert response.status_code == 201, response.content
    body = response.json()
    allocation = Allocation.objects.get(participant=ready)
    assert body["envelope_serial"] == allocation.envelope.serial == "AAR-A1N-001"
    assert body["confirm_url"] == reverse(
        "randomization:allocation_confirm", args=[ready.trial_number]
    )
    text = json.dumps(body).lower()
    assert "arm" not in body
    for arm in Arm:
        assert arm.value not in text and str(arm.label).lower() not in text
    assert not allocation.is_confirmed
    # Attributed to the token's user in the audit trail.
    assert allocation.randomised_by == hematologist
    assert allocation.history.first().history_user == hematologist
    ready.refresh_from_db()
    assert ready.history.first().history_user == hematologist


def test_a_participant_not_ready_is_refused_with_the_reasons(world, hematologist):
    make_batch(world.own, "A1N", 4)
    participant = ParticipantFactory(site=world.own, sequence=50)
    response = token_client(hematologist).post(_url(participant))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "not_ready" and error["message"]
    assert not Allocation.objects.exists()


def test_no_envelope_left_is_refused(world, hematologist, ready):
    response = token_client(hematologist).post(_url(ready))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_stock"
    assert "A1N" in response.json()["error"]["message"]


def test_randomising_twice_is_refused(world, hematologist, ready):
    make_batch(world.own, "A1N", 4)
    client = token_client(hematologist)
    assert client.post(_url(ready)).status_code == 201
    response = client.post(_url(ready))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_randomised"
    assert Allocation.objects.count() == 1


def test_a_token_without_the_randomise_scope_is_refused(world, hematologist, ready):
    make_batch(world.own, "A1N", 4)
    response = token_client(hematologist, scopes=["read", "export"]).post(_url(ready))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not Allocation.objects.exists()


def test_another_sites_participant_is_not_found(world, ready):
    make_batch(world.own, "A1N", 4)
    response = token_client(world.outsider).post(_url(ready))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert not Allocation.objects.exists()


@pytest.mark.parametrize("role", [Role.NURSE, Role.COORDINATOR, Role.MONITOR])
def test_roles_that_do_not_randomise_on_the_page_are_refused(world, ready, role):
    make_batch(world.own, "A1N", 4)
    response = token_client(world.users[role]).post(_url(ready))
    assert response.status_code == 403
    assert not Allocation.objects.exists()


def test_the_refusal_speaks_the_users_language(world, hematologist, ready):
    client = token_client(hematologist)
    english = client.post(_url(ready)).json()["error"]["message"]
    danish = client.post(_url(ready), HTTP_ACCEPT_LANGUAGE="da").json()["error"]["message"]
    assert danish != english
