"""Real Celery worker processes for the worker tests: on the Redis at 127.0.0.1:6379 or
TEST_REDIS_URL (a database of the caller's choosing), reading the same PostgreSQL test database
as the test."""

from __future__ import annotations

import os
import subprocess
import sys
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
    queue: str, name: str, redis: str, extra_env: dict[str, str] | None = None
) -> subprocess.Popen:
    """One solo-pool worker consuming only ``queue`` (``extra_env``: e.g. where it writes)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis,
        **(extra_env or {}),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "trial", "worker", "-Q", queue,
        "--pool", "solo", "--without-gossip", "--without-mingle", "-l", "warning",
        "-n", f"{name}@%h",
    ]  # fmt: skip
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def stop_worker(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
