"""Two nurses logging the same follow-up call at the same moment (PostgreSQL, real threads,
tests/races.py): the second sees the first's call and keeps what it typed; one call, one set
of visit items, one VAS response in the database. Never a 500."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from followup import services
from followup.models import CallLog, VisitItems
from questionnaires.models import QuestionnaireResponse
from tests.conftest import verified_client
from tests.factories import UserFactory
from tests.followup.conftest import open_contact, randomised
from tests.races import _needs_postgres, page_version, race, winner_and_loser  # noqa: F401
from trial.models import Role
from trial.protocol.schedule import local_today

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _in_english(settings):
    settings.LANGUAGE_CODE = "en"


def _reached(medication: str, vas_back: str) -> dict:
    return {
        "outcome": "reached",
        "opioid_omeq_mg": "40",
        "pain_medication": medication,
        "new_adverse_events": "no",
        "q_vas_back": vas_back,
        "q_vas_leg": "",
        "q_hsu_gp": "1",
    }


def test_two_nurses_logging_the_same_visit_by_phone_at_once(world, monkeypatch):
    participant = randomised(world.own, 1, start=30)[0]
    contact = open_contact(participant, "W1", target=local_today())
    nurses = [
        world.users[Role.NURSE],
        UserFactory(username="nurse.two", role=Role.NURSE, sites=[world.own]),
    ]
    url = reverse("followup:call_log", args=[contact.pk])
    clients = [verified_client(nurse) for nurse in nurses]
    versions = [page_version(client.get(url)) for client in clients]
    assert versions[0] == versions[1] != ""
    posted = [_reached("Paracetamol 1 g x 4", "35"), _reached("Morphine 10 mg", "71")]

    responses = race(
        monkeypatch,
        services,
        "call_log_record",
        [lambda i=i: clients[i].post(url, {**posted[i], "version": versions[i]}) for i in range(2)],
    )

    winner, loser = winner_and_loser(responses)
    page = responses[loser].content.decode()
    assert "This was recorded by someone else while you were filling in the form" in page
    assert 'data-testid="concurrent-change"' in page
    assert nurses[winner].get_full_name() in page
    assert posted[winner]["pain_medication"] in page  # what the first nurse recorded
    assert posted[loser]["pain_medication"] in page  # and what this one typed, kept
    assert f'value="{posted[loser]["q_vas_back"]}"' in page
    assert CallLog.objects.filter(contact=contact).count() == 1
    items = VisitItems.objects.get(contact=contact)
    assert items.pain_medication == posted[winner]["pain_medication"]
    assert items.recorded_by == nurses[winner]
    vas = QuestionnaireResponse.objects.get(
        participant=participant, visit_code="W1", instrument_code="vas"
    )
    assert vas.answers == {"vas_back": int(posted[winner]["q_vas_back"])}
    contact.refresh_from_db()
    assert contact.attempts == 1 and contact.status == "done"


def test_two_unanswered_calls_at_once_are_both_kept_once_seen(world, monkeypatch):
    """Two nurses both failing to reach the patient: the second is told of the first's call
    (it may not need to call again), and may still log its own."""
    participant = randomised(world.own, 1, start=30)[0]
    contact = open_contact(participant, "W2", target=local_today() + dt.timedelta(days=1))
    nurses = [
        world.users[Role.NURSE],
        UserFactory(username="nurse.two", role=Role.NURSE, sites=[world.own]),
    ]
    url = reverse("followup:call_log", args=[contact.pk])
    clients = [verified_client(nurse) for nurse in nurses]
    versions = [page_version(client.get(url)) for client in clients]
    notes = ["voicemail left", "line busy"]

    responses = race(
        monkeypatch,
        services,
        "call_log_record",
        [
            lambda i=i: clients[i].post(
                url, {"outcome": "no_answer", "notes": notes[i], "version": versions[i]}
            )
            for i in range(2)
        ],
    )

    winner, loser = winner_and_loser(responses)
    page = responses[loser].content.decode()
    assert "Someone else saved this form while you were filling it in" in page
    assert notes[winner] in page and notes[loser] in page
    assert list(CallLog.objects.values_list("notes", flat=True)) == [notes[winner]]
    again = clients[loser].post(
        url,
        {"outcome": "no_answer", "notes": notes[loser], "version": page_version(responses[loser])},
    )
    assert again.status_code == 302
    contact.refresh_from_db()
    assert contact.attempts == 2 and CallLog.objects.count() == 2
