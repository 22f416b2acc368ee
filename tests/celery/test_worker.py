"""The Celery app runs for real: a worker process on the Redis at 127.0.0.1:6379, reading the
same PostgreSQL test database, executes a task enqueued by the test."""

from __future__ import annotations

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
