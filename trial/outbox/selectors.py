"""Reads of the outbox, for /healthz and the operators."""

from __future__ import annotations

import logging

from django.db.models import Min
from django.utils import timezone

from trial.outbox.models import PendingTask

logger = logging.getLogger(__name__)


def pending_summary() -> dict:
    """How many tasks wait and how old (seconds) the oldest one is (None when none waits)."""
    open_rows = PendingTask.objects.filter(done_at=None)
    agg = open_rows.aggregate(oldest=Min("created_at"))
    oldest = agg["oldest"]
    return {
        "pending": open_rows.count(),
        "oldest_pending_seconds": (
            round((timezone.now() - oldest).total_seconds(), 1) if oldest else None
        ),
    }


def broker_state() -> str:
    """``up``, ``down``, or ``embedded`` (no broker: tasks run in-process)."""
    from trial.outbox.services import celery_app

    app = celery_app()
    if app.conf.task_always_eager:
        return "embedded"
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
    except Exception as exc:  # any failure to reach the broker is "down", whatever its type
        logger.warning("Broker unreachable: %s", exc)
        return "down"
    return "up"
