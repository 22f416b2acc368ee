"""Two people saving the same questionnaire at the same moment, on PostgreSQL with real
threads (tests/races.py): the second is told who saved what, keeps what it typed, and the
database keeps exactly the first one's answers. Never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from questionnaires import services
from questionnaires.models import QuestionnaireResponse, ResponseStatus
from tests.conftest import verified_client
from tests.factories import UserFactory
from tests.questionnaires.factories import complete_visit, letter_link
from tests.races import _needs_postgres, page_version, race, winner_and_loser  # noqa: F401
from trial.models import Role

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SAVED_MEANWHILE = "Someone else saved this form while you were filling it in"
RECORDED_MEANWHILE = "This was recorded by someone else while you were filling in the form"


@pytest.fixture(autouse=True)
def _in_english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def nurses(world):
    second = UserFactory(username="nurse.two", role=Role.NURSE, sites=[world.own])
    return [world.users[Role.NURSE], second]


def test_two_nurses_entering_the_same_questionnaire_by_phone_at_once(world, nurses, monkeypatch):
    participant = world.own_participant
    url = reverse("questionnaires:staff_enter", args=[participant.trial_number, "BL", "vas"])
    clients = [verified_client(nurse) for nurse in nurses]
    versions = [page_version(client.get(url)) for client in clients]
    assert versions == ["", ""]  # nothing entered yet when both opened the page
    posted = [{"vas_back": "12", "vas_leg": "35"}, {"vas_back": "88", "vas_leg": "77"}]

    responses = race(
        monkeypatch,
        services,
        "response_enter",
        [
            lambda i=i: clients[i].post(url, {"mode": "phone", "version": "", **posted[i]})
            for i in range(2)
        ],
    )

    winner, loser = winner_and_loser(responses)
    page = responses[loser].content.decode()
    assert RECORDED_MEANWHILE in page
    assert 'data-testid="concurrent-change"' in page and nurses[winner].get_full_name() in page
    for value in posted[loser].values():  # the loser's entries, still in the form
        assert f'value="{value}"' in page
    stored = QuestionnaireResponse.objects.get(participant=participant, instrument_code="vas")
    assert stored.answers == {k: int(v) for k, v in posted[winner].items()}
    assert stored.entered_by == nurses[winner] and stored.status == ResponseStatus.SUBMITTED
    assert stored.history.count() == 1


def test_two_corrections_of_the_same_answers_at_once(world, nurses, monkeypatch):
    participant = world.own_participant
    complete_visit(participant)
    url = reverse("questionnaires:staff_correct", args=[participant.trial_number, "BL", "vas"])
    clients = [verified_client(nurse) for nurse in nurses]
    versions = [page_version(client.get(url)) for client in clients]
    assert versions[0] == versions[1] != ""
    posted = [{"vas_back": "11", "vas_leg": "21"}, {"vas_back": "91", "vas_leg": "81"}]

    responses = race(
        monkeypatch,
        services,
        "response_correct",
        [
            lambda i=i: clients[i].post(
                url, {"reason": "misread by the nurse", "version": versions[i], **posted[i]}
            )
            for i in range(2)
        ],
    )

    winner, loser = winner_and_loser(responses)
    page = responses[loser].content.decode()
    assert SAVED_MEANWHILE in page and nurses[winner].get_full_name() in page
    for value in posted[loser].values():
        assert f'value="{value}"' in page
    stored = QuestionnaireResponse.objects.get(participant=participant, instrument_code="vas")
    assert stored.answers == {k: int(v) for k, v in posted[winner].items()}
    assert stored.history.filter(history_change_reason="misread by the nurse").count() == 1
    # Saving again after seeing the other values is a deliberate choice, and it works.
    again = clients[loser].post(
        url, {"reason": "misread by the nurse", "version": page_version(responses[loser]),
              **posted[loser]},
    )  # fmt: skip
    assert again.status_code == 302
    stored.refresh_from_db()
    assert stored.answers == {k: int(v) for k, v in posted[loser].items()}


def _patient_clients(participant, client_class):
    """The same personal link opened in two browser tabs (two sessions)."""
    _link, token = letter_link(participant)
    clients = [client_class(), client_class()]
    for client in clients:
        opened = client.get(reverse("questionnaires:patient_start", args=[token]))
        assert opened.status_code == 302
    return clients


def test_two_first_autosaves_of_one_questionnaire_merge(world, client, monkeypatch):
    """Two screens of the ODI saved at the same moment, before any draft exists: both
    answers are kept in one draft."""
    clients = _patient_clients(world.own_participant, type(client))
    posts = [
        lambda: clients[0].post(
            reverse("questionnaires:patient_step", args=["odi", 1]),
            {"odi_1": "2", "autosave": "1"},
        ),
        lambda: clients[1].post(
            reverse("questionnaires:patient_step", args=["odi", 2]),
            {"odi_2": "4", "autosave": "1"},
        ),
    ]

    responses = race(monkeypatch, services, "_response_save_answers", posts)

    assert [getattr(r, "status_code", r) for r in responses] == [200, 200]
    assert all(r.json() == {"saved": True} for r in responses)
    draft = QuestionnaireResponse.objects.get(instrument_code="odi")
    assert draft.answers == {"odi_1": 2, "odi_2": 4}


def test_two_submissions_of_one_visit_at_once(world, client, monkeypatch):
    """Submitted twice at the same moment (two tabs, a double click) before any answer was
    saved: both land on the thank-you page, each questionnaire is submitted once."""
    clients = _patient_clients(world.own_participant, type(client))
    url = reverse("questionnaires:patient_submit")

    responses = race(
        monkeypatch, services, "_visit_submit", [lambda c=c: c.post(url) for c in clients]
    )

    assert [getattr(r, "status_code", r) for r in responses] == [302, 302]
    assert all(r["Location"] == reverse("questionnaires:patient_done") for r in responses)
    rows = QuestionnaireResponse.objects.filter(participant=world.own_participant)
    assert rows.count() == 3 and {r.status for r in rows} == {ResponseStatus.SUBMITTED}
    assert all(r.history.count() == 1 for r in rows)
