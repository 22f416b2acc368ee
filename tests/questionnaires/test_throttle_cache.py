"""The wrong-token throttle must count across gunicorn workers: the cache it counts in is
Redis whenever REDIS_URL (or CACHE_URL) is set, and a count made through one cache client is
seen through another (another process) sharing that Redis."""

from __future__ import annotations

import pytest
from django.core.cache.backends.redis import RedisCache
from django.test import RequestFactory

from tests.celery.workers import redis_url, require_redis
from tests.conftest import production_env, run

REDIS = redis_url(14)

PRINT_CACHE = (
    "import django; django.setup(); from django.conf import settings; "
    "c = settings.CACHES['default']; print(c['BACKEND'], c.get('LOCATION', ''))"
)


def _cache_setting(**env: str | None) -> str:
    result = run(["-c", PRINT_CACHE], production_env(**env))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_cache_is_redis_when_redis_url_is_set():
    out = _cache_setting(REDIS_URL="redis://redis:6379/0", CACHE_URL=None)
    assert out == "trial.cache.FallbackRedisCache redis://redis:6379/0"


def test_cache_url_overrides_the_redis_address():
    out = _cache_setting(REDIS_URL="redis://redis:6379/0", CACHE_URL="redis://cache:6379/3")
    assert out.endswith("FallbackRedisCache redis://cache:6379/3")


def test_without_redis_the_cache_is_local_memory():
    out = _cache_setting(REDIS_URL=None, CACHE_URL=None)
    assert out.startswith("django.core.cache.backends.locmem.LocMemCache")


@pytest.mark.slow
def test_the_throttle_counts_across_two_cache_clients_sharing_redis(settings, monkeypatch):
    """Two RedisCache clients stand for two gunicorn workers: guesses spread over both are
    counted together, and the limit reached through one closes the door in the other."""
    require_redis(REDIS)
    from questionnaires.views import patient as views

    settings.QUESTIONNAIRE_TOKEN_THROTTLE_LIMIT = 5
    worker_a = RedisCache(REDIS, {"KEY_PREFIX": "vertebra-test-throttle"})
    worker_b = RedisCache(REDIS, {"KEY_PREFIX": "vertebra-test-throttle"})
    request = RequestFactory().get("/q/x/", REMOTE_ADDR="203.0.113.9")
    worker_a.delete(views._throttle_key(request))
    try:
        for number in range(5):
            worker = worker_a if number % 2 else worker_b
            monkeypatch.setattr(views, "cache", worker)
            assert not views._throttled(request)
            views._count_bad_token(request)
        for worker in (worker_a, worker_b):
            monkeypatch.setattr(views, "cache", worker)
            assert views._throttled(request)
        # A local-memory cache per worker would have let each worker count to the limit.
        assert worker_b.get(views._throttle_key(request)) == 5
    finally:
        worker_a.delete(views._throttle_key(request))


def _dead_redis_url() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{probe.getsockname()[1]}/0"


@pytest.mark.django_db
def test_the_patient_pages_answer_while_redis_is_down(client, settings):
    """A stopped Redis used to make every /q/<token> page a 500; now the cache falls back to
    local memory after one short timeout, and the throttle still counts (per process)."""
    import time

    from django.urls import reverse

    settings.CACHES = {
        "default": {"BACKEND": "trial.cache.FallbackRedisCache", "LOCATION": _dead_redis_url()}
    }
    settings.QUESTIONNAIRE_TOKEN_THROTTLE_LIMIT = 3
    url = reverse("questionnaires:patient_start", args=["x" * 43])
    started = time.monotonic()
    statuses = [client.get(url, REMOTE_ADDR="203.0.113.7").status_code for _ in range(4)]
    assert time.monotonic() - started < 5
    assert all(status < 500 for status in statuses), statuses
    assert statuses[-1] == 429  # the fallback still counted the wrong tokens


def test_the_fallback_cache_retries_redis_after_a_while(monkeypatch):
    from trial import cache as fallback

    backend = fallback.FallbackRedisCache(_dead_redis_url(), {"KEY_PREFIX": "t"})
    backend.set("k", 1)
    assert backend.get("k") == 1  # served from local memory
    assert backend._down_until > 0
    calls = []
    monkeypatch.setattr(fallback.RedisCache, "get", lambda self, *a, **k: calls.append(a))
    backend.get("k")
    assert calls == []  # within the window Redis is not asked (no timeout per request)
    backend._down_until = 0.0
    backend.get("k")
    assert calls == [("k",)]  # after it, Redis is tried again
