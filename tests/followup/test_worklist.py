"""The nurse's worklist: tabs, site scoping, identity, query counts, ended participants."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.conftest import verified_client
from tests.factories import UserFactory
from tests.followup.conftest import allocate, open_contact, randomised
from trial.models import ParticipantStatus, Role
from trial.protocol.schedule import local_today

URL = reverse("followup:worklist")


def rows(response) -> list[tuple[str, str]]:
    return [
        (r.contact.participant.trial_number, r.contact.visit_code) for r in response.context["rows"]
    ]


@pytest.fixture
def nurse(world):
    return verified_client(world.users[Role.NURSE])


def test_it_shows_today_this_week_and_overdue(world, nurse):
    today = local_today()
    p = world.own_participant
    allocate(p, timezone.now())
    open_contact(p, "W1", target=today - dt.timedelta(days=1))  # overdue, window still open
    open_contact(p, "W2", target=today + dt.timedelta(days=2))  # due today
    open_contact(p, "W3", target=today + dt.timedelta(days=30), status="planned")  # later

    assert rows(nurse.get(URL)) == [(p.trial_number, "W1"), (p.trial_number, "W2")]
    assert rows(nurse.get(URL, {"tab": "overdue"})) == [(p.trial_number, "W1")]
    week = rows(nurse.get(URL, {"tab": "week"}))
    assert (p.trial_number, "W3") not in week and (p.trial_number, "W1") in week


def test_it_sorts_by_window_end(world, nurse):
    today = local_today()
    a, b = randomised(world.own, 2, start=10)
    open_contact(a, "W1", target=today + dt.timedelta(days=2))
    open_contact(b, "W1", target=today)
    assert [n for n, _ in rows(nurse.get(URL))] == [b.trial_number, a.trial_number]


def test_it_shows_only_the_users_sites(world, nurse):
    allocate(world.other_participant, timezone.now())
    open_contact(world.other_participant)
    own = randomised(world.own, 1, start=5)[0]
    open_contact(own)
    assert rows(nurse.get(URL)) == [(own.trial_number, "W1")]


def test_a_multi_site_nurse_can_filter_by_site(world):
    nurse = UserFactory(username="twosites", role=Role.NURSE, sites=[world.own, world.other])
    allocate(world.other_participant, timezone.now())
    open_contact(world.other_participant)
    own = randomised(world.own, 1, start=5)[0]
    open_contact(own)
    client = verified_client(nurse)
    assert len(rows(client.get(URL))) == 2
    filtered = rows(client.get(URL, {"site": world.other.pk}))
    assert filtered == [(world.other_participant.trial_number, "W1")]


def test_names_and_phones_only_for_who_may_see_them(world, nurse):
    own = randomised(world.own, 1, start=5)[0]
    open_contact(own)
    name = own.identity.full_name
    assert name in nurse.get(URL).content.decode()
    coordinator = verified_client(world.users[Role.COORDINATOR])
    page = coordinator.get(URL).content.decode()
    assert own.trial_number in page and name not in page


def test_the_coordinator_sees_every_site(world):
    allocate(world.other_participant, timezone.now())
    open_contact(world.other_participant)
    own = randomised(world.own, 1, start=5)[0]
    open_contact(own)
    client = verified_client(world.users[Role.COORDINATOR])
    assert len(rows(client.get(URL))) == 2


def test_it_says_so_when_nothing_is_due(world, nurse):
    response = nurse.get(URL)
    assert response.status_code == 200
    assert b'data-testid="empty"' in response.content


def test_it_paginates(world, nurse):
    for p in randomised(world.own, 55, start=10, identity=False):
        open_contact(p)
    first = nurse.get(URL)
    assert len(rows(first)) == 50
    assert len(rows(nurse.get(URL, {"page": 2}))) == 5


@pytest.mark.parametrize("tab", ["today", "week", "overdue"])
def test_the_number_of_queries_does_not_grow_with_rows(
    world, nurse, tab, django_assert_num_queries
):
    target = local_today() - dt.timedelta(days=1)  # in all three tabs
    for p in randomised(world.own, 5, start=100):
        open_contact(p, target=target)
    with CaptureQueriesContext(connection) as five:
        assert len(rows(nurse.get(URL, {"tab": tab}))) == 5
    for p in randomised(world.own, 45, start=200):
        open_contact(p, target=target)
    with django_assert_num_queries(len(five.captured_queries)):
        assert len(rows(nurse.get(URL, {"tab": tab}))) == 50


def test_deceased_and_withdrawn_participants_never_appear(world, nurse):
    from trial.participants.services import death_record, withdrawal_record

    today = local_today()
    dead, gone, alive = randomised(world.own, 3, start=20)
    for p in (dead, gone, alive):
        open_contact(p, "W1", target=today)
        open_contact(p, "W2", target=today + dt.timedelta(days=5), status="planned")
    user = world.users[Role.NURSE]
    death_record(participant=dead, user=user, date_of_death=today, relation="myeloma")
    withdrawal_record(
        participant=gone, user=user, withdrawn_on=today, reason="too tired", data_use_allowed=True
    )
    for tab in ("today", "week", "overdue"):
        numbers = {n for n, _ in rows(nurse.get(URL, {"tab": tab}))}
        assert dead.trial_number not in numbers and gone.trial_number not in numbers
    assert alive.trial_number in {n for n, _ in rows(nurse.get(URL))}
    dead.refresh_from_db()
    assert dead.status == ParticipantStatus.DECEASED
    assert set(dead.contacts.values_list("status", flat=True)) == {"cancelled"}


def test_a_site_without_nurses_access_gets_404_for_a_contact(world, nurse):
    allocate(world.other_participant, timezone.now())
    contact = open_contact(world.other_participant)
    response = nurse.get(reverse("followup:call_log", args=[contact.pk]))
    assert response.status_code == 404


def test_the_monitor_reads_but_cannot_log(world):
    own = randomised(world.own, 1, start=5)[0]
    contact = open_contact(own)
    client = verified_client(world.users[Role.MONITOR])
    assert client.get(URL).status_code == 200
    url = reverse("followup:call_log", args=[contact.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"outcome": "no_answer"}).status_code == 403
