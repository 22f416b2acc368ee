"""Writes of the outbox: enqueue in the caller's transaction, publish after the commit, sweep
what the broker refused, and mark a row done when its task has run.

Why an outbox: ``transaction.on_commit(task.delay)`` loses the job when the broker is down
(the data is committed, the publish raises, nothing remembers the job). Here the job is a row
committed with the data, so it outlives the broker, the web process and the worker.

Exactly once, in effect: the row is claimed by a conditional update before each publish, so
two sweepers (or a sweeper and the after-commit publish) never both send it; a message that
is nonetheless delivered twice (a redelivery after a lost acknowledgement) is harmless because
every task behind the outbox claims its own work with a conditional update and does nothing
the second time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from trial.outbox.models import PendingTask

logger = logging.getLogger(__name__)

# The message header that carries the row's id to the worker (never in the task's arguments,
# so the tasks keep their signatures and can still be called directly).
HEADER = "outbox_id"


def celery_app():
    from trial.celery import app

    return app


def _dedup_key(name: str, args: list) -> str:
    return f"{name}:{json.dumps(args, separators=(',', ':'), sort_keys=True)}"[:255]


def task_enqueue(*, name: str, args: list | tuple = (), dedup_key: str = "") -> PendingTask:
    """Record the job ``name(*args)`` in the current transaction; publish it after the commit.

    ``args`` must be JSON (ids, not instances or personal data). One logical job is one row:
    the same ``dedup_key`` (by default the name and the arguments) enqueued again returns the
    existing row and publishes nothing new.
    """
    args = list(args)
    json.dumps(args)  # fail here, in the caller's transaction, not later in the sweeper
    row, created = PendingTask.objects.get_or_create(
        dedup_key=dedup_key or _dedup_key(name, args), defaults={"name": name, "args": args}
    )
    if created:
        row_id = row.pk
        transaction.on_commit(lambda: task_dispatch(row_id))
    return row


_imported: list[bool] = []


def _task_modules_imported(app) -> None:
    """A web process imports the apps' tasks modules only when something uses them; an eager
    publish by name needs them all registered (a worker imports them at start)."""
    if not _imported:
        app.loader.import_default_modules()
        _imported.append(True)


def _publish(row: PendingTask) -> None:
    app = celery_app()
    headers = {HEADER: row.pk}
    if app.conf.task_always_eager:
        # The embedded default: the task runs here and now, as .delay() did before.
        _task_modules_imported(app)
        app.tasks[row.name].apply_async(args=row.args, headers=headers)
    else:
        # No result: the outcome lives in the database (the row, the export run, the link).
        app.send_task(row.name, args=row.args, headers=headers, ignore_result=True)


def _claim(row_id: int, *, dispatched_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Take the row for one publish; False when somebody else took it or it is done."""
    return (
        PendingTask.objects.filter(pk=row_id, done_at=None, dispatched_at=dispatched_at).update(
            dispatched_at=now, attempts=F("attempts") + 1
        )
        == 1
    )


def _publish_claimed(row_id: int, now: dt.datetime) -> bool:
    row = PendingTask.objects.get(pk=row_id)
    started = time.monotonic()
    try:
        _publish(row)
    except Exception as exc:  # a refused publish is expected during an outage: keep the row
        logger.warning(
            "Outbox: %s %s not published (%.1f s): %s",
            row.name,
            row.args,
            time.monotonic() - started,
            exc,
        )
        PendingTask.objects.filter(pk=row_id, done_at=None, dispatched_at=now).update(
            dispatched_at=None, last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        return False
    return True


def task_dispatch(row_id: int) -> bool:
    """Publish a row nobody has published yet (the after-commit step). Never raises: the
    user's request has committed its data and must answer; the sweeper retries."""
    now = timezone.now()
    try:
        if not _claim(row_id, dispatched_at=None, now=now):
            return False
    except Exception:  # the database itself failed after the commit; the sweeper will see it
        logger.exception("Outbox: could not claim row %s", row_id)
        return False
    published = _publish_claimed(row_id, now)
    if published and settings.OUTBOX_SWEEP_IN_PROCESS:
        outbox_sweep_maybe()
    return published


def rows_due(*, now: dt.datetime | None = None):
    """Pending rows the sweeper should publish: never published (or refused) for
    OUTBOX_SWEEP_AFTER_SECONDS, or published OUTBOX_REDISPATCH_AFTER_SECONDS ago and still not
    done (the message was lost with the broker, or the task failed)."""
    now = now or timezone.now()
    fresh = now - dt.timedelta(seconds=settings.OUTBOX_SWEEP_AFTER_SECONDS)
    stale = now - dt.timedelta(seconds=settings.OUTBOX_REDISPATCH_AFTER_SECONDS)
    return (
        PendingTask.objects.filter(done_at=None, attempts__lt=settings.OUTBOX_MAX_ATTEMPTS)
        .filter(Q(dispatched_at=None, created_at__lte=fresh) | Q(dispatched_at__lte=stale))
        .order_by("created_at", "pk")
    )


def outbox_sweep(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Publish the rows that are due; returns how many were published.

    Each row is claimed by a conditional update on the ``dispatched_at`` it was read with, so
    of two sweepers running at once only one publishes it. The sweep stops at the first
    refused publish: the broker is down, and every further row would only wait for the
    timeout again.
    """
    now = now or timezone.now()
    published = 0
    for row_id, dispatched_at in rows_due(now=now).values_list("pk", "dispatched_at")[:limit]:
        if not _claim(row_id, dispatched_at=dispatched_at, now=now):
            continue
        if not _publish_claimed(row_id, now):
            break
        published += 1
    return published


_last_in_process_sweep = [0.0]


def outbox_sweep_maybe() -> int:
    """The embedded default has no beat: sweep in-process, at most every
    OUTBOX_SWEEP_AFTER_SECONDS, piggybacking on the next successful publish."""
    if time.monotonic() - _last_in_process_sweep[0] < settings.OUTBOX_SWEEP_AFTER_SECONDS:
        return 0
    _last_in_process_sweep[0] = time.monotonic()
    try:
        return outbox_sweep()
    except Exception:
        logger.exception("Outbox: in-process sweep failed")
        return 0


def task_done(row_id: int) -> bool:
    """Mark a row done; True the first time only (a second run of the task changes nothing)."""
    return (
        PendingTask.objects.filter(pk=row_id, done_at=None).update(
            done_at=timezone.now(), last_error=""
        )
        == 1
    )


def _row_id(request) -> int | None:
    """The outbox id of the running task: a worker puts custom headers on the request, an
    eager run keeps them under ``request.headers``."""
    value = getattr(request, HEADER, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(HEADER)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def on_task_success(sender=None, **kwargs) -> None:
    row_id = _row_id(getattr(sender, "request", None))
    if row_id is not None:
        task_done(row_id)


def on_task_failure(sender=None, exception=None, **kwargs) -> None:
    row_id = _row_id(getattr(sender, "request", None))
    if row_id is not None:
        PendingTask.objects.filter(pk=row_id, done_at=None).update(
            last_error=f"{type(exception).__name__}: {exception}"[:2000]
        )
