"""Two people saving the same clinical form at the same moment (PostgreSQL, real threads,
tests/races.py): a record made once (a death), a record whose first save races on its unique
constraint (the screening form), a record edited from two pages (usual care), and the same
patient screened twice. The second is told who saved what and keeps its entries; the
database keeps exactly the first one's values. Never a 500."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from tests.conftest import verified_client
from tests.factories import ParticipantFactory, UserFactory, ensure_default_criteria, randomised
from tests.races import _needs_postgres, page_version, race, winner_and_loser  # noqa: F401
from tests.trial.screening.conftest import CPR, d, screen
from trial.models import (
    Crossover,
    Death,
    Role,
    ScreeningForm,
    ScreeningLogEntry,
    UsualCare,
    Withdrawal,
)
from trial.participants import services as participant_services
from trial.screening import services as screening_services
from trial.treatment import services as treatment_services

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fixed_day"),
]

SAVED_MEANWHILE = "Someone else saved this form while you were filling it in"
RECORDED_MEANWHILE = "This was recorded by someone else while you were filling in the form"


@pytest.fixture(autouse=True)
def _in_english(settings):
    settings.LANGUAGE_CODE = "en"


def _two(world, role):
    """Two staff of the same role and site, each logged in in their own browser."""
    second = UserFactory(username=f"{role}.two", role=role, sites=[world.own])
    users = [world.users[role], second]
    return users, [verified_client(user) for user in users]


def test_two_nurses_recording_the_same_death_at_once(world, monkeypatch):
    participant = randomised(world.own_participant, days_ago=10)
    users, clients = _two(world, Role.NURSE)
    url = reverse("trial:death_record", args=[participant.trial_number])
    posted = [
        {"date_of_death": d(0), "relation": "myeloma", "cause": "Progressive myeloma"},
        {"date_of_death": d(0), "relation": "other", "cause": "Pneumonia at home"},
    ]

    responses = race(
        monkeypatch,
        participant_services,
        "death_record",
        [lambda i=i: clients[i].post(url, posted[i]) for i in range(2)],
    )

    winner, loser = winner_and_loser(responses)
    page = responses[loser].content.decode()
    assert RECORDED_MEANWHILE in page and users[winner].get_full_name() in page
    assert posted[winner]["cause"] in page  # what was recorded, shown next to the form
    assert posted[loser]["cause"] in page  # what this nurse typed, kept
    assert 'value="other" selected' in page if loser == 1 else 'value="myeloma" selected' in page
    death = Death.objects.get()
    assert (death.cause, death.recorded_by) == (posted[winner]["cause"], users[winner])


def test_two_first_saves_of_the_screening_form_at_once(world, monkeypatch):
    """No form to lock yet: the participant's row is locked instead, so the second finds the
    first's form (and the unique constraint, inside a savepoint, would catch any other path)."""
    ensure_default_criteria()
    participant = world.own_participant
    users, clients = _two(world, Role.HEMATOLOGIST)
    url = reverse("trial:screening_form", args=[participant.trial_number])
    assert [page_version(client.get(url)) for client in clients] == ["", ""]
    base = {
        "myeloma_status": "known",
        "diagnosis_date": d(400),
        "iss_stage": "II",
        "riss_stage": "II",
        "disease_status": "PR",
        "bone_therapy": "zoledronic_acid",
        "bone_therapy_start": d(300),
        "pain_onset_date": d(20),
        "version": "",
    }
    posted = [{**base, "prior_lines": "1"}, {**base, "prior_lines": "3"}]

    responses = race(
        monkeypatch,
        screening_services,
        "screening_form_record",
        [lambda i=i: clients[i].post(url, posted[i]) for i in range(2)],
    )

    winner, loser = winner_and_loser(responses)
    page = responses[loser].content.decode()
    assert SAVED_MEANWHILE in page and users[winner].get_full_name() in page
    assert 'data-testid="concurrent-change"' in page
    assert f'name="prior_lines" value="{posted[loser]["prior_lines"]}"' in page
    form = ScreeningForm.objects.get(participant=participant)
    assert form.prior_lines == int(posted[winner]["prior_lines"])
    assert form.history.count() == 1


def test_two_edits_of_usual_care_at_once(world, monkeypatch):
    participant = randomised(
        ParticipantFactory(site=world.own, sequence=8), arm="conservative", days_ago=20
    )
    users, clients = _two(world, Role.NURSE)
    treatment_services.usual_care_record(
        participant=participant,
        user=users[0],
        assessed_on=dt.date.fromisoformat(d(19)),
        paracetamol=True,
        bone_therapy="zoledronic_acid",
    )
    url = reverse("trial:usual_care", args=[participant.trial_number])
    versions = [page_version(client.get(url)) for client in clients]
    assert versions[0] == versions[1] != ""
    base = {"assessed_on": d(1), "bone_therapy": "zoledronic_acid", "paracetamol": "on"}
    posted = [
        {**base, "note": "Brace added by the GP", "brace": "on", "reason": "brace started"},
        {**base, "note": "NSAID started last week", "nsaid": "on", "reason": "nsaid started"},
    ]

    responses = race(
        monkeypatch,
        treatment_services,
        "usual_care_record",
        [lambda i=i: clients[i].post(url, {**posted[i], "version": versions[i]}) for i in range(2)],
    )

    winner, loser = winner_and_loser(responses)
    page = responses[loser].content.decode()
    assert SAVED_MEANWHILE in page and users[winner].get_full_name() in page
    assert posted[winner]["note"] in page and posted[loser]["note"] in page
    care = UsualCare.objects.get(participant=participant)
    assert care.note == posted[winner]["note"]
    assert care.history.filter(history_change_reason=posted[loser]["reason"]).count() == 0
    # Seen the other values and still sure: saving again replaces them.
    again = clients[loser].post(url, {**posted[loser], "version": page_version(responses[loser])})
    assert again.status_code == 302
    care.refresh_from_db()
    assert care.note == posted[loser]["note"]


def test_the_same_patient_screened_at_two_desks_at_once(world, monkeypatch):
    """No unique constraint can hold a CPR number that is kept only as a digest: the check is
    serialised instead, and the second hematologist is warned of the first's entry."""
    ensure_default_criteria()
    _users, clients = _two(world, Role.HEMATOLOGIST)
    names = ["Karen Hansen", "Karen M. Hansen"]

    responses = race(
        monkeypatch,
        screening_services,
        "screening_log_entry_create",
        [lambda i=i: screen(clients[i], world.own, full_name=names[i]) for i in range(2)],
    )

    winner, loser = winner_and_loser(responses)
    page = responses[loser].content.decode()
    assert 'data-testid="duplicate-warning"' in page
    assert f'value="{names[loser]}"' in page and CPR in page
    entry = ScreeningLogEntry.objects.get()
    assert entry.participant.identity.full_name == names[winner]


def test_two_people_recording_the_same_withdrawal_at_once(world, monkeypatch):
    participant = randomised(world.own_participant, days_ago=10)
    users, clients = _two(world, Role.NURSE)
    url = reverse("trial:withdrawal_record", args=[participant.trial_number])
    posted = [
        {
            "withdrawn_on": d(0),
            "initiated_by": "participant",
            "reason": "Too tired for the weekly calls",
            "data_use_allowed": "yes",
        },
        {
            "withdrawn_on": d(0),
            "initiated_by": "participant",
            "reason": "Moving abroad to be near family",
            "data_use_allowed": "no",
        },
    ]

    responses = race(
        monkeypatch,
        participant_services,
        "withdrawal_record",
        [lambda i=i: clients[i].post(url, posted[i]) for i in range(2)],
    )

    winner, loser = winner_and_loser(responses)
    page = responses[loser].content.decode()
    assert RECORDED_MEANWHILE in page and users[winner].get_full_name() in page
    assert posted[winner]["reason"] in page  # what was recorded, shown next to the form
    assert posted[loser]["reason"] in page  # what this nurse typed, kept
    withdrawal = Withdrawal.objects.get()
    assert (withdrawal.reason, withdrawal.recorded_by) == (posted[winner]["reason"], users[winner])
    assert withdrawal.data_use_allowed is (posted[winner]["data_use_allowed"] == "yes")


def test_two_people_recording_the_same_crossover_at_once(world, monkeypatch):
    participant = randomised(
        ParticipantFactory(site=world.own, sequence=9), arm="conservative", days_ago=40
    )
    users, clients = _two(world, Role.HEMATOLOGIST)
    url = reverse("trial:crossover", args=[participant.trial_number])
    versions = [page_version(client.get(url)) for client in clients]
    posted = [
        {"crossover_date": d(0), "reason": "Pain not controlled by opioids", "version": v}
        for v in versions
    ]
    posted[1]["reason"] = "Patient asked for the procedure after the visit"

    responses = race(
        monkeypatch,
        treatment_services,
        "crossover_record",
        [lambda i=i: clients[i].post(url, posted[i]) for i in range(2)],
    )

    winner, loser = winner_and_loser(responses)
    page = responses[loser].content.decode()
    assert RECORDED_MEANWHILE in page and users[winner].get_full_name() in page
    assert posted[winner]["reason"] in page and posted[loser]["reason"] in page
    crossover = Crossover.objects.get()
    assert (crossover.reason, crossover.recorded_by) == (posted[winner]["reason"], users[winner])
