"""The transactional outbox (trial.outbox): a job is a row committed with its data, published
after the commit, swept when the broker refused it, and marked done once by its task."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import time
from io import StringIO

import pytest
from celery import Celery
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from tests.factories import ParticipantFactory, SiteFactory
from trial.outbox import services
from trial.outbox.models import PendingTask

pytestmark = pytest.mark.django_db

TASK = "trial.participant_count"  # a real, cheap task (counts participants)
# Seconds within which a refused publish must be over: about 0.1 s on an idle machine, the
# bound leaves room for a loaded CI machine (the old code took 19 s).
FAST = 4


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dead_broker(monkeypatch):
    """The project's Celery settings (timeouts, no publish retries) pointed at a port where
    nothing listens: a Redis that has been stopped."""
    url = f"redis://127.0.0.1:{_free_port()}/0"
    app = Celery("dead-broker", set_as_current=False)  # shared tasks must keep the real app
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    monkeypatch.setattr(services, "celery_app", lambda: app)
    # A web process is warm when Redis goes away: pay the app's one-off set-up (finalising,
    # importing the transport) here, so that the timings below measure the refusal alone.
    with contextlib.suppress(Exception):
        app.send_task(TASK, args=[], ignore_result=True)
    return app


def _old(seconds: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=seconds)


def test_a_job_is_written_with_the_data_and_published_after_the_commit(
    django_capture_on_commit_callbacks,
):
    site = SiteFactory(code="OBX")
    ParticipantFactory(site=site, sequence=1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        row = services.task_enqueue(name=TASK, args=["OBX"])
    row.refresh_from_db()
    assert (row.dispatched_at, row.done_at, row.attempts) == (None, None, 0)
    assert len(callbacks) == 1
    callbacks[0]()  # the commit: eagerly run in the embedded default
    row.refresh_from_db()
    assert row.attempts == 1 and row.dispatched_at is not None
    assert row.done_at is not None  # the task's success marked it, through its header


def test_a_rolled_back_write_leaves_no_job(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.task_enqueue(name=TASK, args=["X"])
        raise RuntimeError("the write failed")
    assert callbacks == [] and not PendingTask.objects.exists()


def test_one_logical_job_is_one_row(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = services.task_enqueue(name=TASK, args=["A"])
        again = services.task_enqueue(name=TASK, args=["A"])
        other = services.task_enqueue(name=TASK, args=["A"], dedup_key="count-A-second")
    assert first.pk == again.pk != other.pk
    assert PendingTask.objects.count() == 2 and len(callbacks) == 2


def test_arguments_must_be_json():
    with pytest.raises(TypeError):
        services.task_enqueue(name=TASK, args=[object()])
    assert not PendingTask.objects.exists()


def test_a_refused_publish_keeps_the_row_pending_and_fails_fast(
    dead_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        row = services.task_enqueue(name=TASK, args=["X"])
    started = time.monotonic()
    callbacks[0]()  # must not raise: the user's data is committed and the page must answer
    assert time.monotonic() - started < FAST
    row.refresh_from_db()
    assert row.done_at is None and row.dispatched_at is None
    assert row.attempts == 1 and "OperationalError" in row.last_error


def test_a_failing_task_leaves_its_row_pending_with_the_error():
    row = PendingTask.objects.create(
        name="trial.exports_expire", args=["unexpected"], dedup_key="x"
    )
    assert services.task_dispatch(row.pk) is False
    row.refresh_from_db()
    assert row.done_at is None and row.dispatched_at is None
    assert "TypeError" in row.last_error


def test_the_sweeper_publishes_due_rows_once():
    due = PendingTask.objects.create(name=TASK, args=["A"], dedup_key="a", created_at=_old(60))
    fresh = PendingTask.objects.create(name=TASK, args=["B"], dedup_key="b")
    assert services.outbox_sweep() == 1
    due.refresh_from_db()
    fresh.refresh_from_db()
    assert due.done_at is not None and due.attempts == 1
    assert fresh.attempts == 0  # its own after-commit publish is still in flight
    assert services.outbox_sweep() == 0


def test_two_sweepers_never_claim_the_same_row():
    row = PendingTask.objects.create(name=TASK, args=["A"], dedup_key="a", created_at=_old(60))
    # Both sweepers read the row as due (never dispatched) ...
    seen_by_a = seen_by_b = services.rows_due().get().dispatched_at
    now = timezone.now()
    # ... only the first conditional update takes it.
    assert services._claim(row.pk, dispatched_at=seen_by_a, now=now) is True
    assert services._claim(row.pk, dispatched_at=seen_by_b, now=now) is False
    row.refresh_from_db()
    assert row.attempts == 1
    assert not services.rows_due().exists()


def test_a_sweep_stops_at_the_first_refusal(dead_broker):
    for key in "abc":
        PendingTask.objects.create(name=TASK, args=[key], dedup_key=key, created_at=_old(60))
    started = time.monotonic()
    assert services.outbox_sweep() == 0
    assert time.monotonic() - started < FAST
    attempts = list(PendingTask.objects.order_by("pk").values_list("attempts", flat=True))
    assert attempts == [1, 0, 0]
    assert PendingTask.objects.filter(done_at=None, dispatched_at=None).count() == 3


def test_a_published_row_not_done_for_long_is_published_again(settings):
    settings.OUTBOX_REDISPATCH_AFTER_SECONDS = 600
    lost = PendingTask.objects.create(
        name=TASK, args=["A"], dedup_key="a", created_at=_old(900), dispatched_at=_old(700),
        attempts=1,
    )  # fmt: skip
    running = PendingTask.objects.create(
        name=TASK, args=["B"], dedup_key="b", created_at=_old(900), dispatched_at=_old(100),
        attempts=1,
    )  # fmt: skip
    assert services.outbox_sweep() == 1
    lost.refresh_from_db()
    running.refresh_from_db()
    assert lost.done_at is not None and lost.attempts == 2
    assert running.done_at is None and running.attempts == 1


def test_a_row_past_its_attempts_waits_for_a_person(settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    PendingTask.objects.create(
        name=TASK, args=["A"], dedup_key="a", created_at=_old(60), attempts=3
    )
    assert services.outbox_sweep() == 0


def test_done_is_marked_once():
    row = PendingTask.objects.create(name=TASK, args=[], dedup_key="a")
    assert services.task_done(row.pk) is True
    first = PendingTask.objects.get(pk=row.pk).done_at
    assert services.task_done(row.pk) is False
    assert PendingTask.objects.get(pk=row.pk).done_at == first


def test_the_command_sweeps_and_reports():
    PendingTask.objects.create(name=TASK, args=["A"], dedup_key="a", created_at=_old(60))
    out = StringIO()
    call_command("outbox_sweep", stdout=out)
    assert out.getvalue().startswith("published 1; pending 0")


def test_the_embedded_default_sweeps_in_process(settings, django_capture_on_commit_callbacks):
    settings.OUTBOX_SWEEP_IN_PROCESS = True
    waiting = PendingTask.objects.create(name=TASK, args=["A"], dedup_key="a", created_at=_old(60))
    services._last_in_process_sweep[0] = 0.0
    with django_capture_on_commit_callbacks(execute=True):
        services.task_enqueue(name=TASK, args=["B"])
    waiting.refresh_from_db()
    assert waiting.done_at is not None


def test_the_beat_schedule_runs_the_sweeper(settings):
    from trial.celery import app

    app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["outbox-sweep"]
    assert entry["task"] == "trial.outbox_sweep" and entry["task"] in app.tasks
    PendingTask.objects.create(name=TASK, args=["A"], dedup_key="a", created_at=_old(60))
    assert app.tasks["trial.outbox_sweep"].delay().get() == 1


# --- /healthz -----------------------------------------------------------------------------


def test_healthz_is_unhealthy_while_a_task_waits_too_long(client, settings):
    settings.OUTBOX_HEALTH_MAX_AGE_SECONDS = 300
    PendingTask.objects.create(name=TASK, args=["A"], dedup_key="a", created_at=_old(200))
    response = client.get(reverse("healthz"))
    assert response.status_code == 200 and response.json()["tasks_pending"] == 1
    PendingTask.objects.create(name=TASK, args=["B"], dedup_key="b", created_at=_old(400))
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["tasks_pending"] == 2
    assert 400 <= body["oldest_pending_task_seconds"] < 460


def test_healthz_reports_a_broker_that_is_down(client, dead_broker):
    started = time.monotonic()
    response = client.get(reverse("healthz"))
    assert time.monotonic() - started < FAST
    assert response.status_code == 503
    assert response.json()["broker"] == "down"
