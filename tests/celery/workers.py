"""Real Celery worker processes for the worker tests: on the Redis at 127.0.0.1:6379 or
TEST_REDIS_URL (a database of the caller's choosing), reading the same PostgreSQL test database
as the test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def redis_url(default_db: int) -> str:
    """The test Redis, in database ``default_db`` so that modules running in parallel do not
    share one. TEST_REDIS_URL names the server (scripts/test.sh sets it to the Redis it made
    sure of); a database given in it is used as it is."""
    server = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379"
    if urlsplit(server).path.strip("/"):
        return server
    return f"{server.rstrip('/')}/{default_db}"


def require_redis(redis: str) -> None:
    """Fail loudly (never skip) when Redis does not answer: one policy for missing services."""
    import redis as redis_client

    try:
        up = bool(redis_client.Redis.from_url(redis, socket_connect_timeout=2).ping())
    except redis_client.RedisError:
        up = False
    if not up:
        pytest.fail(f"Redis is not reachable at {redis} (make test starts one; see README)")


def require_services(redis: str) -> None:
    """Fail loudly (never skip) when the worker tests cannot run for real."""
    if connection.vendor != "postgresql":
        pytest.fail("The worker test needs PostgreSQL (run the suite with DATABASE_URL=postgres)")
    require_redis(redis)


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_worker(
    queue: str,
    name: str,
    redis: str,
    extra_env: dict[str, str] | None = None,
    log: Path | None = None,
    pool: str = "solo",
) -> subprocess.Popen:
    """One worker consuming only ``queue``, in a solo pool unless ``pool`` says otherwise
    (``extra_env``: e.g. where it writes; ``log``: a file for its output at info level, to
    show in a failing assertion)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis,
        **(extra_env or {}),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "trial", "worker", "-Q", queue,
        "--pool", pool, "--concurrency", "1", "--without-gossip", "--without-mingle",
        "-l", "info" if log else "warning", "-n", f"{name}@%h",
    ]  # fmt: skip
    output = log.open("ab") if log else subprocess.DEVNULL
    try:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    finally:
        if log:
            output.close()  # the child holds its own copy


def stop_worker(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


class OwnRedis:
    """A throwaway redis-server on a free port (never the shared 6379), stopped and started
    again on the same port by the test that owns it."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        import redis

        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=1).ping()
                return
            except redis.RedisError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


def web_app(redis: str, settings, monkeypatch):
    """The web side as in production, publishing to ``redis`` (not eagerly): a Celery app of
    the test's own, read from the test's settings, that the outbox publishes with."""
    from celery import Celery

    from trial.outbox import services as outbox

    settings.CELERY_BROKER_URL = settings.CELERY_RESULT_BACKEND = redis
    settings.CELERY_TASK_ALWAYS_EAGER = False
    web = Celery("web", set_as_current=False)  # shared tasks must keep the real app
    web.config_from_object("django.conf:settings", namespace="CELERY")
    monkeypatch.setattr(outbox, "celery_app", lambda: web)
    return web
