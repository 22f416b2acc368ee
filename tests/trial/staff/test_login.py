"""Staff login: password plus TOTP code, first-login set-up, lock-out, sessions, logout."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import SiteFactory, UserFactory
from trial.models import Role

PASSWORD = "correct-horse-battery-9"  # tests/factories.py


@pytest.fixture
def user(db):
    return UserFactory(username="hanne", role=Role.HEMATOLOGIST, sites=[SiteFactory(code="AAR")])


@pytest.fixture
def device(user):
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def _totp(device: TOTPDevice) -> TOTP:
    return TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)


def right_token(device: TOTPDevice) -> str:
    return f"{_totp(device).token():0{device.digits}d}"


def wrong_token(device: TOTPDevice) -> str:
    totp = _totp(device)
    now = totp.t()
    accepted = set()
    for offset in range(-device.tolerance - 1, device.tolerance + 2):
        totp.time = (now + offset) * device.step + device.t0
        accepted.add(totp.token())
    candidate = 0
    while candidate in accepted:
        candidate += 1
    return f"{candidate:0{device.digits}d}"


def _login(client, username="hanne", password=PASSWORD, otp_token="", **extra):
    data = {"username": username, "password": password, "otp_token": otp_token, **extra}
    return client.post(reverse("account:login"), data)


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_second_factor_is_required_in_the_tests():
    assert settings.TRIAL_REQUIRE_2FA is True


def test_the_login_page_renders(client):
    response = client.get(reverse("account:login"))
    assert response.status_code == 200
    assert 'name="otp_token"' in response.content.decode()


# --- first login: setting up the authenticator --------------------------------------------


def test_a_user_without_a_device_is_sent_to_set_one_up(client, user):
    response = _login(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("account:otp_setup")
    assert _logged_in(client)


def test_a_user_without_a_confirmed_device_cannot_open_home(client, user):
    _login(client)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("account:otp_setup")


def test_the_setup_page_shows_a_qr_code_until_confirmed(client, user):
    _login(client)
    response = client.get(reverse("account:otp_setup"))
    assert response.status_code == 200
    assert response.context["setting_up"] is True
    qr = client.get(reverse("account:otp_qr"))
    assert qr.status_code == 200
    assert qr["Content-Type"] == "image/svg+xml"
    # The same pending device is reused, not one per page view.
    client.get(reverse("account:otp_setup"))
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_confirming_a_correct_code_lets_the_user_in(client, user):
    _login(client)
    client.get(reverse("account:otp_setup"))
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(
        reverse("account:otp_setup"), {"password": PASSWORD, "otp_token": right_token(device)}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("home")).status_code == 200
    # The secret of a confirmed device is never shown again.
    assert client.get(reverse("account:otp_qr")).status_code == 302


def test_a_wrong_code_does_not_confirm_the_device(client, user):
    _login(client)
    client.get(reverse("account:otp_setup"))
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(
        reverse("account:otp_setup"), {"password": PASSWORD, "otp_token": wrong_token(device)}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["otp_token"]
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get(reverse("home")).status_code == 302


# --- later logins: password and code ------------------------------------------------------


def test_a_user_with_a_device_logs_in_with_password_and_code(client, device):
    response = _login(client, otp_token=right_token(device))
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_a_wrong_code_is_refused_on_the_page(client, device):
    response = _login(client, otp_token=wrong_token(device))
    assert response.status_code == 200
    assert response.context["form"].errors["otp_token"]
    assert not _logged_in(client)


def test_a_missing_code_is_refused_for_a_user_with_a_device(client, device):
    response = _login(client, otp_token="")
    assert response.status_code == 200
    assert response.context["form"].errors["otp_token"]
    assert not _logged_in(client)


def test_a_code_cannot_be_used_twice(client, device):
    token = right_token(device)
    _login(client, otp_token=token)
    client.post(reverse("account:logout"))
    response = _login(client, otp_token=token)
    assert response.status_code == 200
    assert not _logged_in(client)


def test_a_wrong_password_is_refused(client, user):
    response = _login(client, password="not-the-password-1")
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not _logged_in(client)


def test_a_user_without_a_role_cannot_log_in(client, db):
    UserFactory(username="norole", role="")
    response = _login(client, username="norole")
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not _logged_in(client)


def test_an_inactive_user_cannot_log_in(client, device, user):
    user.is_active = False
    user.save()
    response = _login(client, otp_token=right_token(device))
    assert response.status_code == 200
    assert not _logged_in(client)


# --- lock-out (django-axes) ---------------------------------------------------------------


def _assert_locked_out(response):
    assert response.status_code == 429
    assert "account/locked_out.html" in [t.name for t in response.templates]


def test_five_wrong_passwords_lock_the_account(client, device):
    for _ in range(5):
        _login(client, password="not-the-password-1")
    response = _login(client, otp_token=right_token(device))
    _assert_locked_out(response)
    assert not _logged_in(client)


def test_four_wrong_passwords_do_not_lock_the_account(client, device):
    for _ in range(4):
        _login(client, password="not-the-password-1")
    response = _login(client, otp_token=right_token(device))
    assert response.status_code == 302
    assert _logged_in(client)


def test_wrong_codes_at_login_count_as_failures(client, device):
    for _ in range(5):
        _login(client, otp_token=wrong_token(device))
    response = _login(client, otp_token=right_token(device))
    _assert_locked_out(response)
    assert not _logged_in(client)


def test_wrong_codes_at_setup_count_as_failures(client, user):
    _login(client)
    client.get(reverse("account:otp_setup"))
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    for _ in range(5):
        client.post(
            reverse("account:otp_setup"), {"password": PASSWORD, "otp_token": wrong_token(device)}
        )
    client.post(reverse("account:logout"))
    _assert_locked_out(_login(client))
    assert not _logged_in(client)


def test_a_lock_out_is_lifted_by_a_reset(client, device):
    from axes.utils import reset

    for _ in range(5):
        _login(client, password="not-the-password-1")
    reset(username="hanne")
    response = _login(client, otp_token=right_token(device))
    assert response.status_code == 302
    assert _logged_in(client)


def test_a_lock_out_does_not_lock_other_users(client, device):
    for _ in range(5):
        _login(client, password="not-the-password-1")
    other = UserFactory(username="ole", role=Role.HEMATOLOGIST)
    response = _login(client, username=other.username)
    assert response.status_code == 302
    assert response["Location"] == reverse("account:otp_setup")


# --- sessions -----------------------------------------------------------------------------


def test_sessions_end_after_30_idle_minutes():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def _session_row(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_each_request_renews_the_idle_clock(client, device):
    _login(client, otp_token=right_token(device))
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() + dt.timedelta(minutes=1)
    )
    client.get(reverse("home"))
    remaining = _session_row(client).expire_date - timezone.now()
    assert dt.timedelta(minutes=29) < remaining <= dt.timedelta(minutes=30)


def test_an_idle_session_has_ended(client, device):
    _login(client, otp_token=right_token(device))
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account:login"))


# --- where to go after login, and logout --------------------------------------------------


def test_it_follows_a_local_next(client, device):
    response = _login(client, otp_token=right_token(device), next="/participants/")
    assert response.status_code == 302
    assert response["Location"] == "/participants/"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "http://evil.example/participants/"],
)
def test_it_ignores_a_next_on_another_host(client, device, target):
    response = _login(client, otp_token=right_token(device), next=target)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_logout_works_by_post(client, device):
    _login(client, otp_token=right_token(device))
    response = client.post(reverse("account:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("account:login")
    assert not _logged_in(client)
    assert client.get(reverse("home")).status_code == 302


def test_logout_by_get_is_refused(client, device):
    _login(client, otp_token=right_token(device))
    response = client.get(reverse("account:logout"))
    assert response.status_code == 405
    assert _logged_in(client)


# --- enrolling a second factor needs the current password ---------------------------------


def test_enrolment_without_the_password_does_not_confirm_the_device(client, user):
    _login(client)
    client.get(reverse("account:otp_setup"))
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    for data in ({}, {"password": "not-the-password-1"}):
        response = client.post(
            reverse("account:otp_setup"), {**data, "otp_token": right_token(device)}
        )
        assert response.status_code == 200
        assert response.context["form"].errors["password"]
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get(reverse("home")).status_code == 302


def test_wrong_passwords_at_enrolment_count_as_failures(client, user):
    _login(client)
    client.get(reverse("account:otp_setup"))
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    for _ in range(5):
        client.post(
            reverse("account:otp_setup"),
            {"password": "not-the-password-1", "otp_token": right_token(device)},
        )
    client.post(reverse("account:logout"))
    _assert_locked_out(_login(client))


def test_after_a_reset_re_enrolment_needs_the_password(client, device, user):
    _login(client, otp_token=right_token(device))
    device.delete()  # the coordinator's reset removes the devices
    client.get(reverse("account:otp_setup"))
    new = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(reverse("account:otp_setup"), {"otp_token": right_token(new)})
    assert response.status_code == 200 and "password" in response.context["form"].errors
    response = client.post(
        reverse("account:otp_setup"), {"password": PASSWORD, "otp_token": right_token(new)}
    )
    assert response.status_code == 302
    new.refresh_from_db()
    assert new.confirmed
