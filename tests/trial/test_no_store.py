"""No cached copy of a page with identifying data: every response to a logged-in member of
staff and every patient questionnaire page says ``Cache-Control: no-store``."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import verified_client
from tests.questionnaires.factories import letter_link
from trial.models import Role


def _no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.parametrize("role", [Role.NURSE, Role.COORDINATOR, Role.MONITOR])
def test_every_staff_response_is_no_store(world, role):
    client = verified_client(world.users[role])
    pages = [
        reverse("home"),
        reverse("trial:participant_list"),
        world.own_participant.get_absolute_url(),
        reverse("trial:participant_detail", args=["ZZZ-999"]),  # a 404 too
        reverse("trial:staff_list"),  # a 403 for most
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code < 500, url
        assert _no_store(response), (url, response.status_code)


def test_patient_pages_are_no_store_and_public_pages_are_not_forced(world, client):
    _link, token = letter_link(world.own_participant)
    opened = client.get(reverse("questionnaires:patient_start", args=[token]))
    assert _no_store(opened)
    assert _no_store(client.get(reverse("questionnaires:patient_home")))
    assert _no_store(client.get(reverse("questionnaires:patient_step", args=["vas", 1])))
    assert _no_store(client.get(reverse("questionnaires:tablet_start")))
    # The rule is about identifying data: a logged-out visitor's redirect to the login page
    # is left alone.
    anonymous = Client().get(reverse("home"))
    assert anonymous.status_code == 302 and not _no_store(anonymous)
