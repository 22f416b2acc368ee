"""The follow-up beat tasks run for real: worker processes on the Redis at 127.0.0.1:6379,
reading the same PostgreSQL test database, run the nightly and the weekly-list tasks; two
workers at once change nothing twice, and a second round changes nothing at all."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from followup.models import Contact, WeeklyList
from followup.schedule import local_today
from followup.services import coming_week_start
from tests.factories import ParticipantFactory, SiteFactory, UserFactory
from tests.followup.conftest import allocate
from trial.models import Role

ROOT = Path(__file__).resolve().parents[2]
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")

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


def _start_worker(queue: str, name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": REDIS,
    }
    return subprocess.Popen(
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
            f"{name}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def workers():
    """Two worker processes on one queue of our own."""
    if connection.vendor != "postgresql":
        pytest.fail("The worker test needs PostgreSQL (run the suite with DATABASE_URL=postgres)")
    if not _redis_up():
        pytest.fail(f"Redis is not reachable at {REDIS}")
    queue = f"test-followup-{uuid.uuid4().hex[:8]}"
    processes = [_start_worker(queue, f"{queue}-{n}") for n in (1, 2)]
    with ExitStack() as stack:
        for process in processes:
            stack.callback(_stop, process)
        yield queue


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def _run_all(client, queue: str, tasks: list[tuple[str, list]]) -> list:
    results = [client.send_task(name, args=args, queue=queue) for name, args in tasks]
    deadline = time.monotonic() + 90
    for result in results:
        while not result.ready():
            assert time.monotonic() < deadline, "the workers did not answer within 90 s"
            time.sleep(0.2)
    return [result.get(timeout=5) for result in results]


def _state():
    return (
        sorted(Contact.objects.values_list("participant_id", "visit_code", "status", "attempts")),
        Contact.history.count(),
        sorted(WeeklyList.objects.values_list("nurse_id", "week_start", "contact_count")),
        WeeklyList.objects.exclude(sent_at=None).count(),
    )


@pytest.mark.django_db(transaction=True)
def test_nightly_and_weekly_tasks_run_on_two_workers_and_change_nothing_twice(workers):
    site = SiteFactory(code="FWK")
    UserFactory(username="fwk-nurse-1", role=Role.NURSE, sites=[site])
    UserFactory(username="fwk-nurse-2", role=Role.NURSE, sites=[site])
    now = timezone.now()
    for n, days_ago in enumerate((3, 8, 20, 40, 100), start=1):
        allocate(ParticipantFactory(site=site, sequence=n), now - dt.timedelta(days=days_ago))
    week = coming_week_start(local_today()).isoformat()

    from celery import Celery

    # A client app of our own, pointed at Redis, so the eager setting of the test process does
    # not short-circuit the round trip.
    client = Celery("client", broker=REDIS, backend=REDIS)
    nightly = _run_all(client, workers, [("followup.nightly", []), ("followup.nightly", [])])
    assert all(result["created"] >= 0 for result in nightly)
    assert Contact.objects.count() > 0
    # One contact per participant and visit, whichever worker created it.
    assert Contact.objects.values("participant_id", "visit_code").distinct().count() == (
        Contact.objects.count()
    )
    assert Contact.objects.filter(status="missed").exists()
    weekly = _run_all(
        client, workers, [("followup.weekly_lists", [week]), ("followup.weekly_lists", [week])]
    )
    # Each nurse's list was sent exactly once, by one of the two runs.
    assert sum(result["sent"] for result in weekly) == 2
    assert WeeklyList.objects.exclude(sent_at=None).count() == 2
    before = _state()

    second = _run_all(
        client, workers, [("followup.nightly", []), ("followup.weekly_lists", [week])]
    )
    assert second[0] == {"created": 0, "due": 0, "missed": 0}
    assert second[1] == {"sent": 0, "skipped": 0}
    assert _state() == before
