"""The Celery app runs for real: a worker process on the Redis at 127.0.0.1:6379, reading the
same PostgreSQL test database, executes a task enqueued by the test."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests.factories import ParticipantFactory, SiteFactory

ROOT = Path(__file__).resolve().parents[2]
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker():
    if connection.vendor != "postgresql":
        pytest.fail("The worker test needs PostgreSQL (run the suite with DATABASE_URL=postgres)")
    if not _redis_up():
        pytest.fail(f"Redis is not reachable at {REDIS}")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": REDIS,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "trial",
            "worker",
            "-Q",
            queue,
            "--pool",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "warning",
            "-n",
            f"{queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_against_the_database(worker, settings):
    site = SiteFactory(code="WRK")
    ParticipantFactory(site=site, sequence=1)
    ParticipantFactory(site=site, sequence=2)

    from celery import Celery

    # A client app of our own, pointed at Redis, so the eager setting of the test process
    # does not short-circuit the round trip.
    client = Celery("client", broker=REDIS, backend=REDIS)
    deadline = time.monotonic() + 60
    result = client.send_task("trial.participant_count", args=["WRK"], queue=worker)
    while not result.ready():
        assert time.monotonic() < deadline, "the worker did not answer within 60 s"
        time.sleep(0.2)
    assert result.get(timeout=5) == 2
