"""The per-token rate limit: over it a 429 with Retry-After, counted per token (not per
address or user), and still counted when Redis is down (the local-memory fallback)."""

import pytest
from django.core.cache import cache

from tests.trial.api.conftest import token_client
from trial.models import Role

URL = "/api/v1/metadata/"


@pytest.fixture(autouse=True)
def three_a_minute(settings):
    settings.API_RATE = "3/min"
    cache.clear()
    yield
    cache.clear()


def _statuses(client, n, **extra) -> list[int]:
    return [client.get(URL, **extra).status_code for _ in range(n)]


def test_over_the_rate_a_token_gets_429_with_retry_after_as_json(world):
    client = token_client(world.users[Role.NURSE])
    assert _statuses(client, 3) == [200, 200, 200]
    response = client.get(URL)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["error"]["code"] == "throttled"
    assert response.json()["error"]["message"]


def test_the_limit_is_per_token_not_per_address(world):
    client = token_client(world.users[Role.NURSE])
    statuses = [
        client.get(
            URL, REMOTE_ADDR=f"192.0.2.{n}", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}"
        ).status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_two_tokens_of_one_user_are_counted_apart(world):
    nurse = world.users[Role.NURSE]
    first, second = token_client(nurse), token_client(nurse)
    assert _statuses(first, 4) == [200, 200, 200, 429]
    assert _statuses(second, 3) == [200, 200, 200]
    assert first.get(URL).status_code == 429


def test_the_message_is_in_the_users_language(world):
    client = token_client(world.users[Role.NURSE])
    _statuses(client, 3)
    english = client.get(URL).json()["error"]["message"]
    danish = client.get(URL, HTTP_ACCEPT_LANGUAGE="da").json()["error"]["message"]
    assert danish != english


def test_the_limit_holds_while_redis_is_down(world, settings):
    # Nothing listens on port 1: every Redis call fails fast and the fallback counts.
    settings.CACHES = {
        "default": {
            "BACKEND": "trial.cache.FallbackRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    client = token_client(world.users[Role.NURSE])
    assert _statuses(client, 4) == [200, 200, 200, 429]
