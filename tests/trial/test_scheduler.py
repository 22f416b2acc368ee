"""The embedded default's in-process beat: it runs the beat schedule's jobs when due, once,
and only in the development server of the embedded default."""

from __future__ import annotations

import datetime as dt
import threading
from types import SimpleNamespace

import pytest
import time_machine
from celery.schedules import crontab

from tests.clock import COPENHAGEN
from trial.scheduler import InProcessBeat, should_start

NIGHTLY = {"nightly": {"task": "followup.nightly", "schedule": crontab(hour=1, minute=15)}}


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 9, day, hour, minute, tzinfo=COPENHAGEN)


def recorder():
    calls: list[tuple[str, dt.datetime]] = []

    def run(name, entry):
        calls.append((name, dt.datetime.now(COPENHAGEN)))

    return calls, run


def test_the_nightly_job_runs_once_when_its_time_comes():
    calls, run = recorder()
    with time_machine.travel(at(15, 23, 50), tick=False) as clock:
        beat = InProcessBeat(NIGHTLY, run=run)
        assert beat.tick() == []
        clock.move_to(at(16, 1, 14))
        assert beat.tick() == []
        clock.move_to(
            at(
                16,
                1,
                15,
            )
        )
        assert beat.tick() == ["nightly"]
        for later in (at(16, 1, 16), at(16, 3, 0), at(16, 23, 59)):
            clock.move_to(later)
            assert beat.tick() == []
        clock.move_to(at(17, 1, 15))
        assert beat.tick() == ["nightly"]
    assert [name for name, _ in calls] == ["nightly", "nightly"]


def test_an_interval_job_counts_from_the_start_like_celery_beat():
    calls, run = recorder()
    with time_machine.travel(at(15, 10, 0), tick=False) as clock:
        beat = InProcessBeat({"sweep": {"task": "trial.outbox_sweep", "schedule": 60}}, run=run)
        assert beat.tick() == []
        clock.move_to(at(15, 10, 1))
        assert beat.tick() == ["sweep"]
        assert beat.tick() == []
    assert len(calls) == 1


def test_a_failing_job_does_not_stop_the_others():
    def run(name, entry):
        if name == "broken":
            raise RuntimeError("boom")
        ran.append(name)

    ran: list[str] = []
    schedule = {
        "broken": {"task": "x", "schedule": 60},
        "fine": {"task": "y", "schedule": 60},
    }
    with time_machine.travel(at(15, 10, 0), tick=False) as clock:
        beat = InProcessBeat(schedule, run=run)
        clock.move_to(at(15, 10, 2))
        assert beat.tick() == ["broken", "fine"]
    assert ran == ["fine"]


def test_the_started_thread_runs_a_due_job_once():
    seen = threading.Event()
    calls, record = recorder()

    def run(name, entry):
        record(name, entry)
        seen.set()

    with time_machine.travel(
        at(
            16,
            1,
            14,
        ),
        tick=False,
    ) as clock:
        beat = InProcessBeat(NIGHTLY, run=run, poll_seconds=0.05)
        clock.move_to(at(16, 1, 15))
        beat.start()
        try:
            assert seen.wait(10)
            # Many more looks at the same clock: still one run.
            for _ in range(5):
                beat._stop.wait(0.05)
        finally:
            beat.stop()
    assert [name for name, _ in calls] == ["nightly"]
    assert calls[0][1] == at(16, 1, 15)


@pytest.mark.django_db
def test_the_real_nightly_task_runs_in_process(world):
    """The default runner applies the Celery task by name, eagerly, in this process."""
    from followup.models import Contact
    from tests.factories import allocate

    with time_machine.travel(at(15, 12), tick=False) as clock:
        allocate(world.own_participant, at(15, 12))
        beat = InProcessBeat(NIGHTLY)
        clock.move_to(at(16, 1, 15))
        assert beat.tick() == ["nightly"]
    assert list(Contact.objects.values_list("visit_code", flat=True)) == ["W1"]


def _settings(periodic=True, eager=True):
    return SimpleNamespace(RUN_PERIODIC_IN_PROCESS=periodic, CELERY_TASK_ALWAYS_EAGER=eager)


@pytest.mark.parametrize(
    ("argv", "environ", "settings", "starts"),
    [
        # The serving child of the autoreloader, and runserver without the reloader.
        (["manage.py", "runserver", "127.0.0.1:8000"], {"RUN_MAIN": "true"}, _settings(), True),
        (["manage.py", "runserver", "--noreload"], {}, _settings(), True),
        # The reloader's watcher process would run every job a second time.
        (["manage.py", "runserver"], {}, _settings(), False),
        # Never in production processes, commands or tests.
        (["gunicorn", "trial.wsgi:application"], {"RUN_MAIN": "true"}, _settings(), False),
        (["manage.py", "migrate"], {"RUN_MAIN": "true"}, _settings(), False),
        (["pytest"], {}, _settings(), False),
        # Switched off, or a broker (and so Celery beat) is there.
        (["manage.py", "runserver", "--noreload"], {}, _settings(periodic=False), False),
        (["manage.py", "runserver", "--noreload"], {}, _settings(eager=False), False),
    ],
)
def test_it_starts_only_in_the_embedded_development_server(argv, environ, settings, starts):
    assert should_start(argv, environ, settings) is starts


def test_the_test_settings_keep_it_off(settings):
    assert settings.RUN_PERIODIC_IN_PROCESS is False
