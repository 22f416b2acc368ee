"""The Celery app runs for real: a worker process on the Redis at 127.0.0.1:6379, reading the
same PostgreSQL test database, executes a task enqueued by the test."""

from __future__ import annotations

import re
import time
import uuid

import pytest

from tests.celery.workers import redis_url, require_services, start_worker, stop_worker
from tests.factories import ParticipantFactory, SiteFactory

REDIS = redis_url(15)

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]


@pytest.fixture
def worker():
    require_services(REDIS)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    process = start_worker(queue, queue, REDIS)
    try:
        yield queue
    finally:
        stop_worker(process)


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


@pytest.mark.django_db(transaction=True)
def test_a_pool_process_over_the_memory_limit_is_replaced_after_its_task(tmp_path):
    """CELERY_WORKER_MAX_MEMORY_PER_CHILD reaches a real prefork worker: with a limit below
    any Python process's size, the child finishes its task, is replaced, and the next task
    is answered by the new child."""
    require_services(REDIS)
    SiteFactory(code="MEM")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    process = start_worker(
        queue, queue, REDIS, {"CELERY_WORKER_MAX_MEMORY_PER_CHILD": "1"}, log=log, pool="prefork"
    )
    try:
        from celery import Celery

        client = Celery("client", broker=REDIS, backend=REDIS)
        ids = []
        for _ in range(2):
            result = client.send_task("trial.participant_count", args=["MEM"], queue=queue)
            assert result.get(timeout=60) == 0, log.read_text()
            ids.append(result.id)
        deadline = time.monotonic() + 20
        while not all(f"{i}] succeeded" in log.read_text() for i in ids):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        # Billiard names each pool process it starts: ForkPoolWorker-1, then -2, ...
        ran_in = [
            re.search(rf"INFO/(ForkPoolWorker-\d+)\] Task \S+\[{i}\] succeeded", log.read_text())
            for i in ids
        ]
        assert all(ran_in), log.read_text()
        assert ran_in[0].group(1) != ran_in[1].group(1), log.read_text()  # type: ignore[union-attr]
    finally:
        stop_worker(process)
