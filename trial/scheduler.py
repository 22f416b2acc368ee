"""The embedded default's beat: the periodic jobs of CELERY_BEAT_SCHEDULE, run in-process.

Production runs Celery beat next to the workers. The embedded default (``make run``: SQLite,
tasks eager, no Redis) has no beat, so without this the nightly follow-up job would never run
and the demo's worklist would never move on. Here a daemon thread of the development server
asks each beat entry, once a minute, whether it is due (Celery's own schedule objects decide,
so the crontab times are the beat's), and runs the task in the process when it is, once per
due time. Each job is idempotent already, so a run that overlaps a command twin is harmless.

It starts only in the development server with RUN_PERIODIC_IN_PROCESS on and no broker
(CELERY_TASK_ALWAYS_EAGER): never in gunicorn, a worker, a management command or the tests.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

logger = logging.getLogger(__name__)

# How often the thread wakes up to ask the schedule; the beat's own resolution is the minute.
POLL_SECONDS = 30.0

_started: InProcessBeat | None = None


def should_start(argv: Sequence[str], environ: Mapping[str, str], settings: Any) -> bool:
    """Whether this process is the development server that should run the periodic jobs.

    With the autoreloader, ``runserver`` runs twice: a watcher and the serving child (marked
    RUN_MAIN=true); only the child runs the jobs, or each would run twice.
    """
    if not (settings.RUN_PERIODIC_IN_PROCESS and settings.CELERY_TASK_ALWAYS_EAGER):
        return False
    if len(argv) < 2 or argv[1] != "runserver":
        return False
    return environ.get("RUN_MAIN") == "true" or "--noreload" in argv


def _run_task(name: str, entry: Mapping[str, Any]) -> None:
    from trial.celery import app

    # A web process has not imported the apps' tasks modules (a worker does at start).
    app.loader.import_default_modules()
    app.tasks[entry["task"]].apply(
        args=entry.get("args", ()), kwargs=entry.get("kwargs", {}), throw=True
    )


class InProcessBeat:
    """Runs the due entries of a beat schedule; ``tick()`` is one look at the clock."""

    def __init__(
        self,
        schedule: Mapping[str, Mapping[str, Any]],
        *,
        run: Callable[[str, Mapping[str, Any]], None] = _run_task,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        from celery.schedules import maybe_schedule

        from trial.celery import app

        self.app = app
        self.entries = dict(schedule)
        self.schedules = {
            name: maybe_schedule(entry["schedule"], app=app) for name, entry in schedule.items()
        }
        self.run = run
        self.poll_seconds = poll_seconds
        # As Celery beat does for a new entry: counted from the start, so an hourly job first
        # runs an hour after start and the 01:15 job at the next 01:15, not all at once.
        started = self.app.now()
        self.last_run: dict[str, dt.datetime] = dict.fromkeys(self.entries, started)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> list[str]:
        """Run every entry that is due now; returns their names (in schedule order)."""
        ran = []
        for name, entry in self.entries.items():
            due, _next_check = self.schedules[name].is_due(self.last_run[name])
            if not due:
                continue
            self.last_run[name] = self.app.now()
            try:
                self.run(name, entry)
            except Exception:
                # One failing job must not stop the others, nor the next night's run.
                logger.exception("In-process periodic job %s failed", name)
            ran.append(name)
        return ran

    def start(self) -> InProcessBeat:
        self._thread = threading.Thread(target=self._loop, name="in-process-beat", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        from django.db import close_old_connections, connection

        while not self._stop.is_set():
            try:
                ran = self.tick()
                if ran:
                    logger.debug("In-process periodic jobs ran: %s", ", ".join(ran))
            finally:
                # The thread outlives requests: give back what it used, as a request would.
                close_old_connections()
                connection.close()
            self._stop.wait(self.poll_seconds)


def start_if_dev_server(argv: Sequence[str], environ: Mapping[str, str]) -> InProcessBeat | None:
    """Start the in-process beat once, when this process is the embedded development server."""
    global _started
    from django.conf import settings

    if _started is not None or not should_start(argv, environ, settings):
        return None
    _started = InProcessBeat(settings.CELERY_BEAT_SCHEDULE).start()
    logger.info(
        "Periodic jobs run in this process (no Celery beat): %s", ", ".join(_started.entries)
    )
    return _started
