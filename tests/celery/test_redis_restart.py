"""A running worker survives a Redis restart: it reconnects on its own and runs the next job.

Redis restarts without persistence (as the throwaway one here, or a container recreated): the
queue, its bindings and every unacknowledged message are gone. Jobs are not lost with them,
since they live in the outbox (test_broker_outage.py); this test is about the worker: with no
restart of its own, it must consume again once Redis is back.
"""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from tests.celery.workers import require_services, start_worker, stop_worker, web_app
from trial.outbox import services as outbox
from trial.outbox.models import PendingTask

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]

TIMEOUT = 90.0  # seconds for a job to run once Redis answers again


def _enqueue(key: str) -> int:
    with transaction.atomic():  # published after the commit, as after a user's request
        row = outbox.task_enqueue(name="trial.participant_count", dedup_key=key)
    return row.pk


def _wait_done(row_id: int, log, *, sweep: bool) -> float:
    """Seconds until the worker ran the row's task. While waiting, sweep as beat would: a
    publish the restarted Redis refused (a stale pooled connection) is published again."""
    started = time.monotonic()
    while not PendingTask.objects.filter(pk=row_id, done_at__isnull=False).exists():
        elapsed = time.monotonic() - started
        assert elapsed < TIMEOUT, (
            f"the worker did not run the task within {TIMEOUT:.0f} s:\n{log.read_text()[-4000:]}"
        )
        if sweep:
            outbox.outbox_sweep()
        time.sleep(0.5)
    return time.monotonic() - started


@pytest.mark.django_db(transaction=True)
def test_a_running_worker_reconnects_after_redis_restarts(
    own_redis, settings, monkeypatch, tmp_path
):
    require_services(own_redis.url)
    web_app(own_redis.url, settings, monkeypatch)
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
    log = tmp_path / "worker.log"
    worker = start_worker("celery", f"restart-{own_redis.port}", own_redis.url, log=log)
    try:
        before = _wait_done(_enqueue("restart:before"), log, sweep=False)

        own_redis.stop()  # the worker loses its connection ...
        time.sleep(3)  # ... and notices while Redis is away
        own_redis.start()  # same port, empty: no queue, no bindings
        restarted = time.monotonic()

        row_id = _enqueue("restart:after")
        after = _wait_done(row_id, log, sweep=True)
        total = time.monotonic() - restarted
        assert worker.poll() is None, "the worker exited instead of reconnecting"
        row = PendingTask.objects.get(pk=row_id)
        print(
            f"\nRedis restart: first job {before:.1f} s; after the restart the job ran in "
            f"{after:.1f} s ({total:.1f} s after Redis was back), published "
            f"{row.attempts} time(s)"
        )
    finally:
        stop_worker(worker)
    assert "Connection to broker lost" in log.read_text()  # it really lost the connection
