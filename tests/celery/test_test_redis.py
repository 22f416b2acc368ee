"""The Redis the tests use: where they look for it, and the throwaway one make test starts when
none answers (scripts/ensure_redis.sh)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess

import redis

from tests.celery.workers import ROOT, redis_url

SCRIPT = ROOT / "scripts" / "ensure_redis.sh"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_each_module_gets_its_own_database_on_the_default_server(monkeypatch):
    monkeypatch.delenv("TEST_REDIS_URL", raising=False)
    assert redis_url(11) == "redis://127.0.0.1:6379/11"


def test_test_redis_url_names_the_server(monkeypatch):
    monkeypatch.setenv("TEST_REDIS_URL", "redis://127.0.0.1:56379")
    assert redis_url(11) == "redis://127.0.0.1:56379/11"


def test_a_database_in_test_redis_url_is_kept(monkeypatch):
    monkeypatch.setenv("TEST_REDIS_URL", "redis://127.0.0.1:56379/3")
    assert redis_url(11) == "redis://127.0.0.1:56379/3"


def test_ensure_redis_starts_a_throwaway_redis_when_none_answers():
    # Nothing listens on the first port; the script must start a Redis on the second. Only
    # that Redis is stopped afterwards, never the shared one.
    absent, port = _free_port(), _free_port()
    result = _ensure(TEST_REDIS_URL=f"redis://127.0.0.1:{absent}", TEST_REDIS_PORT=str(port))
    try:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"redis://127.0.0.1:{port}"
        assert redis.Redis(port=port, socket_connect_timeout=2).ping()
    finally:
        started = redis.Redis(port=port, socket_connect_timeout=2)
        # Shutting down closes the connection the command came on.
        with contextlib.suppress(redis.ConnectionError):
            started.shutdown(nosave=True)


def test_ensure_redis_uses_a_redis_that_answers():
    url = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379"
    result = _ensure(TEST_REDIS_URL=url, TEST_REDIS_PORT="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == url


def test_ensure_redis_fails_loudly_when_none_can_be_started():
    absent = _free_port()
    # 99999 is no port: redis-server refuses to start, and the script must say so and fail.
    result = _ensure(TEST_REDIS_URL=f"redis://127.0.0.1:{absent}", TEST_REDIS_PORT="99999")
    assert result.returncode != 0
    assert "Redis is not reachable" in result.stderr
    assert result.stdout.strip() == ""
