"""Participants: trial numbers, who sees which participant, and who sees identifying data."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from tests.conftest import verified_client
from tests.factories import (
    IdentityFactory,
    ParticipantFactory,
    SiteFactory,
    SurgicalSiteFactory,
    UserFactory,
)
from trial.access import can_see_identity, participants_for
from trial.errors import ServiceError
from trial.models import Participant, Role
from trial.participants.selectors import participant_get_for
from trial.participants.services import identity_set, participant_create


def _create(site, user=None, **kwargs):
    values = {"initials": "AB", "sex": "F", "year_of_birth": 1950, "user": user}
    values.update(kwargs)
    return participant_create(site=site, **values)


# --- participant_create -------------------------------------------------------------------


@pytest.mark.django_db
def test_it_numbers_participants_per_site():
    aar, ode = SiteFactory(code="AAR"), SiteFactory(code="ODE")
    first = _create(aar)
    other = _create(ode)
    second = _create(aar)
    assert [first.trial_number, second.trial_number] == ["AAR-001", "AAR-002"]
    assert (first.sequence, second.sequence) == (1, 2)
    assert other.trial_number == "ODE-001"


@pytest.mark.django_db
def test_it_continues_after_the_highest_number_of_the_site():
    aar = SiteFactory(code="AAR")
    ParticipantFactory(site=aar, sequence=41)
    assert _create(aar).trial_number == "AAR-042"


@pytest.mark.django_db
def test_it_refuses_a_surgical_site():
    surgery = SurgicalSiteFactory(code="AARS")
    with pytest.raises(ServiceError):
        _create(surgery)
    assert not Participant.objects.exists()


@pytest.mark.django_db
def test_it_records_who_registered_the_participant():
    aar = SiteFactory(code="AAR")
    user = UserFactory(role=Role.HEMATOLOGIST, sites=[aar])
    participant = _create(aar, user=user, initials="abc")
    assert participant.initials == "ABC"
    assert participant.created_by == user
    row = participant.history.get()
    assert row.history_type == "+"
    assert row.history_user == user


@pytest.mark.django_db
def test_it_refuses_invalid_initials():
    aar = SiteFactory(code="AAR")
    with pytest.raises(ValidationError):
        _create(aar, initials="A1")
    assert not Participant.objects.exists()


# --- participants_for: the one site-scoping rule ---------------------------------------


def _numbers(qs) -> set[str]:
    return set(qs.values_list("trial_number", flat=True))


@pytest.mark.parametrize("role", [Role.HEMATOLOGIST, Role.NURSE])
def test_hematologists_and_nurses_see_their_own_site(world, role):
    assert _numbers(participants_for(world.users[role])) == {world.own_participant.trial_number}


def test_a_member_of_two_sites_sees_both(world):
    user = UserFactory(role=Role.NURSE, sites=[world.own, world.other])
    assert _numbers(participants_for(user)) == {
        world.own_participant.trial_number,
        world.other_participant.trial_number,
    }


def test_surgeons_see_the_hematology_sites_they_partner(world):
    # A second hematology department referring to the same surgical department.
    third = SiteFactory(code="VEJ", surgical_partner=world.own.surgical_partner)
    third_participant = ParticipantFactory(site=third, sequence=1)
    seen = _numbers(participants_for(world.users[Role.SURGEON]))
    assert seen == {world.own_participant.trial_number, third_participant.trial_number}


def test_a_surgeon_does_not_see_a_hematology_site_by_membership(world):
    # Membership of a hematology site does not make a surgeon see it: only partnership does.
    surgeon = UserFactory(role=Role.SURGEON, sites=[world.other])
    assert _numbers(participants_for(surgeon)) == set()


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR])
def test_central_roles_see_every_site(world, role):
    assert _numbers(participants_for(world.users[role])) == {
        world.own_participant.trial_number,
        world.other_participant.trial_number,
    }


@pytest.mark.parametrize("role", list(Role))
def test_an_inactive_user_sees_nobody(world, role):
    user = world.users[role]
    user.is_active = False
    user.save()
    assert _numbers(participants_for(user)) == set()


def test_a_user_without_a_role_sees_nobody(world):
    user = UserFactory(role="", sites=[world.own])
    assert _numbers(participants_for(user)) == set()


def test_a_site_role_without_a_site_sees_nobody(world):
    user = UserFactory(role=Role.HEMATOLOGIST)
    assert _numbers(participants_for(user)) == set()


def test_an_anonymous_user_sees_nobody(world):
    from django.contrib.auth.models import AnonymousUser

    assert _numbers(participants_for(AnonymousUser())) == set()


def test_another_sites_participant_is_not_found(world):
    from django.http import Http404

    with pytest.raises(Http404):
        participant_get_for(world.outsider, world.own_participant.trial_number)


# --- identifying data -------------------------------------------------------------------

IDENTITY_MATRIX = {
    Role.HEMATOLOGIST: True,
    Role.NURSE: True,
    Role.SURGEON: False,
    Role.COORDINATOR: False,
    Role.MONITOR: False,
    Role.DATA_MANAGER: True,
}


@pytest.mark.parametrize(("role", "allowed"), IDENTITY_MATRIX.items())
def test_can_see_identity_follows_the_matrix_at_the_own_site(world, role, allowed):
    assert can_see_identity(world.users[role], world.own_participant) is allowed


@pytest.mark.parametrize("role", [Role.HEMATOLOGIST, Role.NURSE])
def test_site_roles_cannot_see_identity_at_another_site(world, role):
    assert can_see_identity(world.users[role], world.other_participant) is False


def test_the_data_manager_sees_identity_at_every_site(world):
    assert can_see_identity(world.users[Role.DATA_MANAGER], world.other_participant) is True


def test_an_inactive_data_manager_cannot_see_identity(world):
    user = world.users[Role.DATA_MANAGER]
    user.is_active = False
    user.save()
    assert can_see_identity(user, world.own_participant) is False


@pytest.mark.parametrize(("role", "allowed"), IDENTITY_MATRIX.items())
def test_the_detail_page_shows_the_cpr_number_only_to_roles_allowed_to_see_it(world, role, allowed):
    identity = IdentityFactory(participant=world.own_participant, full_name="Karen Identitetsen")
    url = reverse("trial:participant_detail", args=[world.own_participant.trial_number])
    response = verified_client(world.users[role]).get(url)
    assert response.status_code == 200
    content = response.content.decode()
    assert world.own_participant.trial_number in content
    assert (identity.cpr in content) is allowed
    assert ("Karen Identitetsen" in content) is allowed
    assert ('data-testid="identity"' in content) is allowed


def test_the_detail_page_says_when_no_identity_is_recorded(world):
    url = reverse("trial:participant_detail", args=[world.own_participant.trial_number])
    response = verified_client(world.users[Role.HEMATOLOGIST]).get(url)
    assert response.status_code == 200
    assert response.context["identity"] is None
    assert response.context["can_see_identity"] is True


def _identity_with_correction(participant, user):
    identity_set(
        participant=participant, user=user, full_name="Grethe Førstenavn", cpr="150550-1234"
    )
    identity_set(
        participant=participant,
        user=user,
        full_name="Grethe Andetnavn",
        cpr="150550-1236",
        reason="Misspelt at registration",
    )


@pytest.mark.parametrize(("role", "allowed"), IDENTITY_MATRIX.items())
def test_the_history_page_masks_identity_changes_for_roles_that_cannot_see_identity(
    world, role, allowed
):
    _identity_with_correction(world.own_participant, world.users[Role.HEMATOLOGIST])
    url = reverse("trial:participant_history", args=[world.own_participant.trial_number])
    response = verified_client(world.users[role]).get(url)
    assert response.status_code == 200
    content = response.content.decode()
    for secret in ("150550-1234", "150550-1236", "Grethe Førstenavn", "Grethe Andetnavn"):
        assert (secret in content) is allowed, (role, secret)
    assert ("•••" in content) is not allowed
    # Who changed it and why stays visible to everyone who may read the history.
    assert "Misspelt at registration" in content


# --- concurrency (PostgreSQL row locks) ---------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_registrations_get_consecutive_numbers():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks")
    site = SiteFactory(code="AAR")
    threads_count = 16
    barrier = threading.Barrier(threads_count)
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def register():
        try:
            barrier.wait(timeout=30)
            participant = _create(site)
            with lock:
                numbers.append(participant.trial_number)
        except BaseException as exc:  # reported by the main thread
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=register) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(numbers) == [f"AAR-{n:03d}" for n in range(1, threads_count + 1)]
    assert Participant.objects.filter(site=site).count() == threads_count
