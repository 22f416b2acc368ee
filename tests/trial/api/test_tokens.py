import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from tests.conftest import verified_client
from tests.trial.api.conftest import token_client
from trial.api.models import ApiToken
from trial.api.services import api_token_create, api_token_revoke, token_hash
from trial.models import Role

URL = "/api/v1/metadata/"


def test_a_token_is_stored_hashed_and_shown_once(world):
    token, secret = api_token_create(user=world.users[Role.NURSE], name="R", scopes=["read"])
    stored = ApiToken.objects.get(pk=token.pk)
    assert secret not in (stored.key_hash, stored.prefix, stored.name)
    assert stored.key_hash == token_hash(secret)
    assert secret.startswith(stored.prefix)


def test_a_token_opens_the_api_and_records_its_last_use(world):
    client = token_client(world.users[Role.NURSE])
    assert client.get(URL).status_code == 200
    assert ApiToken.objects.get().last_used_at is not None


def test_no_token_answers_401_as_json(world):
    response = Client().get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_session_login_does_not_open_the_api(world):
    response = verified_client(world.users[Role.COORDINATOR]).get(URL)
    assert response.status_code == 401


def test_a_wrong_token_answers_401(world):
    response = Client(HTTP_AUTHORIZATION="Bearer vtb_nope").get(URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_token_expires_after_its_days(world):
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), tick=False):
        _t, secret = api_token_create(user=world.users[Role.NURSE], name="x", scopes=["read"])
        assert _t.expires_at == dt.datetime(2026, 5, 30, 12, tzinfo=dt.UTC)  # 90 days
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    with time_machine.travel(dt.datetime(2026, 5, 30, 11, tzinfo=dt.UTC), tick=False):
        assert client.get(URL).status_code == 200
    with time_machine.travel(dt.datetime(2026, 5, 30, 13, tzinfo=dt.UTC), tick=False):
        assert client.get(URL).status_code == 401


def test_a_revoked_token_stops_working_and_the_revocation_is_audited(world):
    nurse = world.users[Role.NURSE]
    token, secret = api_token_create(user=nurse, name="x", scopes=["read"])
    api_token_revoke(token=token, user=nurse)
    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get(URL).status_code == 401
    assert token.history.first().history_user == nurse


def test_a_token_without_the_scope_is_refused(world):
    client = token_client(world.users[Role.COORDINATOR], scopes=["read"])
    response = client.post("/api/v1/exports/", {}, content_type="application/json")
    assert response.status_code == 403
    assert "export" in response.json()["error"]["message"]


def test_a_deactivated_users_token_stops_working(world):
    nurse = world.users[Role.NURSE]
    client = token_client(nurse)
    nurse.is_active = False
    nurse.save()
    assert client.get(URL).status_code == 401


def test_staff_create_and_revoke_their_own_tokens_on_their_account_page(world):
    client = verified_client(world.users[Role.NURSE])
    response = client.post(
        reverse("account:api_tokens"), {"name": "laptop", "scopes": ["read"], "days": 30}
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(user=world.users[Role.NURSE])
    secret = response.context["secret"]
    assert secret.startswith(token.prefix) and secret.encode() in response.content
    # Shown once: the list shows only the prefix from now on.
    assert secret.encode() not in client.get(reverse("account:api_tokens")).content
    client.post(reverse("account:api_token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_nobody_revokes_another_users_token_but_the_coordinator(world):
    token, _s = api_token_create(user=world.users[Role.NURSE], name="x", scopes=["read"])
    other = verified_client(world.users[Role.HEMATOLOGIST])
    assert other.post(reverse("account:api_token_revoke", args=[token.pk])).status_code == 404
    coordinator = verified_client(world.users[Role.COORDINATOR])
    listing = coordinator.get(reverse("trial:api_token_list"))
    assert token.prefix.encode() in listing.content
    coordinator.post(reverse("account:api_token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_by == world.users[Role.COORDINATOR]


@pytest.mark.parametrize("role", [Role.NURSE, Role.MONITOR, Role.DATA_MANAGER])
def test_only_the_coordinator_sees_every_token(world, role):
    assert (
        verified_client(world.users[role]).get(reverse("trial:api_token_list")).status_code == 403
    )
