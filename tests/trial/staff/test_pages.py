"""The coordinator's staff pages: list, invite, role and sites, deactivate, second-factor reset,
and the invited member's one-time set-password link."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import authenticate
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import verified_client
from tests.factories import UserFactory
from trial.models import Role, SiteMembership, User

NEW_PASSWORD = "lilla-bjoern-springer-42"


def _invite(client, world, **overrides):
    data = {
        "first_name": "Karen",
        "last_name": "Blixen",
        "email": "Karen.Blixen@example.org",
        "role": Role.NURSE,
        "sites": [world.own.pk],
        **overrides,
    }
    return client.post(reverse("trial:staff_invite"), data)


@pytest.fixture
def coordinator(world):
    return verified_client(world.users[Role.COORDINATOR])


# --- who may open what -----------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR])
def test_central_roles_see_the_staff_list(world, role):
    response = verified_client(world.users[role]).get(reverse("trial:staff_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert world.users[Role.NURSE].username in body
    may_manage = role == Role.COORDINATOR
    assert (reverse("trial:staff_invite") in body) is may_manage
    assert (reverse("trial:staff_edit", args=[world.users[Role.NURSE].pk]) in body) is may_manage


@pytest.mark.parametrize("role", [Role.HEMATOLOGIST, Role.SURGEON, Role.NURSE])
def test_site_roles_and_the_outsider_are_refused(world, role):
    for user in (world.users[role], world.outsider):
        client = verified_client(user)
        nurse = world.users[Role.NURSE].pk
        assert client.get(reverse("trial:staff_list")).status_code == 403
        assert _invite(client, world).status_code == 403
        for name in (
            "trial:staff_edit",
            "trial:staff_deactivate",
            "trial:staff_second_factor_reset",
        ):
            assert client.post(reverse(name, args=[nurse]), {"reason": "x" * 20}).status_code == 403
    assert not User.objects.filter(email__iexact="karen.blixen@example.org").exists()


@pytest.mark.parametrize("role", [Role.DATA_MANAGER, Role.MONITOR])
def test_readers_of_the_list_change_nothing(world, role):
    client = verified_client(world.users[role])
    nurse = world.users[Role.NURSE]
    assert _invite(client, world).status_code == 403
    response = client.post(
        reverse("trial:staff_edit", args=[nurse.pk]),
        {"role": Role.MONITOR, "reason": "no reason at all"},
    )
    assert response.status_code == 403
    nurse.refresh_from_db()
    assert nurse.role == Role.NURSE


def test_the_list_is_paginated(world, coordinator):
    for n in range(55):
        UserFactory(username=f"bulk{n:02}", role=Role.NURSE)
    first = coordinator.get(reverse("trial:staff_list"))
    assert first.context["page"].paginator.num_pages == 2
    assert coordinator.get(reverse("trial:staff_list") + "?page=2").status_code == 200
    assert coordinator.get(reverse("trial:staff_list") + "?page=abc").status_code == 200
    assert coordinator.get(reverse("trial:staff_list") + "?page=999").status_code == 200


# --- invitation -------------------------------------------------------------------------------


def test_an_invitation_creates_an_inactive_account_and_mails_a_one_time_link(
    world, coordinator, django_capture_on_commit_callbacks
):
    # The e-mail goes through the outbox: it is sent after the invitation commits.
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(coordinator, world)
    assert response.status_code == 302
    user = User.objects.get(username="karen.blixen@example.org")
    assert (user.role, user.is_active, user.has_usable_password()) == (Role.NURSE, False, False)
    assert not user.is_staff and not user.is_superuser
    assert list(user.sites.all()) == [world.own]
    created = user.history.earliest()
    assert created.history_user == world.users[Role.COORDINATOR]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["karen.blixen@example.org"]
    link = re.search(r"https?://\S+/account/welcome/\S+/", mail.outbox[0].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]

    invited = Client()
    landing = invited.get("/" + path)
    assert landing.status_code == 302  # the token moves into the session, out of the URL
    form_url = landing["Location"]
    too_short = invited.post(form_url, {"new_password1": "kort", "new_password2": "kort"})
    assert too_short.status_code == 200 and too_short.context["form"].errors
    done = invited.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == reverse("account:login")
    user.refresh_from_db()
    assert user.is_active and user.check_password(NEW_PASSWORD)
    request = RequestFactory().post("/account/login/")
    assert authenticate(request, username=user.username, password=NEW_PASSWORD) == user
    # No second factor yet: the first login leads to setting one up.
    assert not TOTPDevice.objects.filter(user=user).exists()

    # The link works once.
    again = Client().get("/" + path, follow=True)
    assert again.status_code == 200 and not again.context["validlink"]


def test_a_link_dies_when_the_invitation_is_withdrawn(
    world, coordinator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _invite(coordinator, world)
    user = User.objects.get(username="karen.blixen@example.org")
    path = re.search(r"/account/welcome/\S+/", mail.outbox[0].body).group(0)
    response = coordinator.post(
        reverse("trial:staff_deactivate", args=[user.pk]), {"reason": "invited by mistake"}
    )
    assert response.status_code == 302
    page = Client().get(path, follow=True)
    assert not page.context["validlink"]
    user.refresh_from_db()
    assert not user.is_active


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"role": Role.DATA_MANAGER}, "role"),
        ({"role": "superuser"}, "role"),
        ({"email": "not-an-address"}, "email"),
        ({"first_name": ""}, "first_name"),
        ({"sites": ["999999"]}, "sites"),
        ({"sites": ["abc"]}, "sites"),
    ],
)
def test_bad_invitations_are_form_errors(world, coordinator, overrides, field):
    response = _invite(coordinator, world, **overrides)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not User.objects.filter(email__iexact="karen.blixen@example.org").exists()
    assert mail.outbox == []


def test_an_address_already_in_use_is_a_form_error(world, coordinator):
    nurse = world.users[Role.NURSE]
    response = _invite(coordinator, world, email=nurse.email.upper())
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()


# --- role and sites ----------------------------------------------------------------------------


def test_the_coordinator_changes_role_and_sites_with_a_reason(world, coordinator):
    nurse = world.users[Role.NURSE]
    response = coordinator.post(
        reverse("trial:staff_edit", args=[nurse.pk]),
        {"role": Role.HEMATOLOGIST, "sites": [world.other.pk], "reason": "moved to Odense"},
    )
    assert response.status_code == 302
    nurse.refresh_from_db()
    assert nurse.role == Role.HEMATOLOGIST
    assert list(nurse.sites.all()) == [world.other]
    latest, previous = nurse.history.all()[:2]
    assert (previous.role, latest.role) == (Role.NURSE, Role.HEMATOLOGIST)
    assert latest.history_user == world.users[Role.COORDINATOR]
    assert latest.history_change_reason == "moved to Odense"
    removed = SiteMembership.history.filter(user_id=nurse.pk, history_type="-").get()
    assert removed.history_user == world.users[Role.COORDINATOR]


@pytest.mark.parametrize(
    "data, field",
    [
        ({"role": Role.DATA_MANAGER, "reason": "promotion please"}, "role"),
        ({"role": Role.MONITOR, "reason": "short"}, "reason"),
        ({"role": Role.MONITOR}, "reason"),
        ({"role": Role.MONITOR, "reason": "a good long reason", "sites": ["x"]}, "sites"),
    ],
)
def test_bad_changes_are_form_errors(world, coordinator, data, field):
    nurse = world.users[Role.NURSE]
    response = coordinator.post(reverse("trial:staff_edit", args=[nurse.pk]), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    nurse.refresh_from_db()
    assert nurse.role == Role.NURSE


def test_accounts_the_coordinator_may_not_touch(world, coordinator):
    root = UserFactory(username="root", role="", is_superuser=True, is_staff=True)
    for target in (world.users[Role.COORDINATOR], world.users[Role.DATA_MANAGER], root):
        for name in (
            "trial:staff_edit",
            "trial:staff_deactivate",
            "trial:staff_second_factor_reset",
        ):
            url = reverse(name, args=[target.pk])
            assert coordinator.get(url).status_code == 403, (name, target)
            response = coordinator.post(url, {"role": Role.MONITOR, "reason": "take over now"})
            assert response.status_code == 403, (name, target)
        target.refresh_from_db()
        assert target.is_active and target.role in ("", Role.COORDINATOR, Role.DATA_MANAGER)
    for name in ("trial:staff_edit", "trial:staff_deactivate", "trial:staff_second_factor_reset"):
        assert coordinator.get(reverse(name, args=[987654])).status_code == 404
    assert coordinator.get("/staff/not-a-number/").status_code == 404


# --- deactivation and second factor ------------------------------------------------------------


def test_deactivation_ends_access_and_is_audited(world, coordinator):
    nurse = world.users[Role.NURSE]
    nurse_client = verified_client(nurse)
    assert nurse_client.get(reverse("home")).status_code == 200
    short = coordinator.post(reverse("trial:staff_deactivate", args=[nurse.pk]), {"reason": "x"})
    assert short.status_code == 200 and "reason" in short.context["form"].errors
    response = coordinator.post(
        reverse("trial:staff_deactivate", args=[nurse.pk]), {"reason": "left the department"}
    )
    assert response.status_code == 302
    nurse.refresh_from_db()
    assert not nurse.is_active
    latest = nurse.history.first()
    assert latest.history_change_reason == "left the department"
    assert latest.history_user == world.users[Role.COORDINATOR]
    assert nurse.history.all()[1].is_active is True
    assert nurse_client.get(reverse("home")).status_code == 302  # logged out
    # Deactivated accounts get no more actions.
    again = coordinator.post(
        reverse("trial:staff_deactivate", args=[nurse.pk]), {"reason": "left the department"}
    )
    assert again.status_code == 200 and again.context["form"].non_field_errors()


def test_a_second_factor_reset_makes_the_member_enrol_again(world, coordinator):
    nurse = world.users[Role.NURSE]
    nurse_client = verified_client(nurse)
    assert TOTPDevice.objects.filter(user=nurse).exists()
    short = coordinator.post(
        reverse("trial:staff_second_factor_reset", args=[nurse.pk]), {"reason": "phone"}
    )
    assert short.status_code == 200 and "reason" in short.context["form"].errors
    assert TOTPDevice.objects.filter(user=nurse).exists()
    response = coordinator.post(
        reverse("trial:staff_second_factor_reset", args=[nurse.pk]),
        {"reason": "phone lost on the ward"},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=nurse).exists()
    latest = nurse.history.first()
    assert latest.history_user == world.users[Role.COORDINATOR]
    assert "phone lost on the ward" in latest.history_change_reason
    # The open session no longer counts as verified: set up the authenticator again.
    follow = nurse_client.get(reverse("trial:participant_list"))
    assert follow.status_code == 302 and follow["Location"] == reverse("account:otp_setup")


def test_the_staff_actions_show_in_the_audit_trail(world, coordinator):
    nurse = world.users[Role.NURSE]
    coordinator.post(
        reverse("trial:staff_second_factor_reset", args=[nurse.pk]),
        {"reason": "phone lost on the ward"},
    )
    page = coordinator.get(reverse("trial:audit_log"))
    assert "phone lost on the ward" in page.content.decode()
