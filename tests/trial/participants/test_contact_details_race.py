"""Two people changing the same participant's contact details at the same moment (PostgreSQL,
real threads, tests/races.py): the first save stands, the second is told who saved what and
keeps what it typed. Never a 500, never a lost value."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import verified_client
from tests.factories import IdentityFactory
from tests.races import _needs_postgres, page_version, race, winner_and_loser  # noqa: F401
from trial.models import Identity, Role
from trial.participants import services

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _in_english(settings):
    settings.LANGUAGE_CODE = "en"


def test_two_nurses_changing_the_contact_details_at_once(world, monkeypatch):
    identity = IdentityFactory(participant=world.own_participant, email="", phone="")
    users = [world.users[Role.NURSE], world.users[Role.HEMATOLOGIST]]
    clients = [verified_client(user) for user in users]
    url = reverse("trial:contact_details_edit", args=[identity.participant.trial_number])
    versions = [page_version(client.get(url)) for client in clients]
    posted = [
        {"email": "first@example.dk", "phone": "", "reason": "Patient gave it on the phone"},
        {"email": "", "phone": "+45 20 30 40 50", "reason": "New number from the daughter"},
    ]
    forms = [
        {"address": identity.address, "language": "da", "version": versions[i], **posted[i]}
        for i in range(2)
    ]

    responses = race(
        monkeypatch,
        services,
        "contact_details_set",
        [lambda i=i: clients[i].post(url, forms[i]) for i in range(2)],
    )

    winner, loser = winner_and_loser(responses)
    page = responses[loser].content.decode()
    assert "Someone else saved this form" in page
    assert users[winner].get_full_name() in page
    assert posted[loser]["reason"] in page  # what the loser typed, kept
    saved = Identity.objects.get()
    assert (saved.email, saved.phone) == (posted[winner]["email"], posted[winner]["phone"])
