"""A broker outage loses no work: with Redis stopped, every write that enqueues background
work answers promptly without a 5xx and leaves its job pending in the outbox; with Redis back,
the sweeper publishes the jobs and a real worker runs each exactly once.

Runs on PostgreSQL with a Redis of its own (a free port, never the shared 6379) so that it
can stop it, and a real Celery worker process reading the same test database.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from randomization.models import BatchPrint
from tests.celery.workers import require_services, start_worker, stop_worker, web_app
from tests.conftest import verified_client
from tests.factories import IdentityFactory, sae_report
from tests.randomization.conftest import make_batch, make_ready
from trial.models import AdverseEvent, ExportRun, ExportStatus, Role
from trial.outbox import services as outbox
from trial.outbox.models import PendingTask

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]

PROMPT = 5.0  # seconds: a request made during the outage must answer well within this


def _client(user):
    client = verified_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _mails(directory: Path) -> list[str]:
    """The subjects of every message the worker wrote to its e-mail files."""
    from email.header import decode_header, make_header

    return [
        str(make_header(decode_header(line.split(":", 1)[1].strip())))
        for path in sorted(directory.glob("*"))
        for line in path.read_text(errors="replace").splitlines()
        if line.startswith("Subject:")
    ]


@pytest.mark.django_db(transaction=True)
def test_writes_survive_a_broker_outage_and_run_once_afterwards(
    world, own_redis, settings, monkeypatch, tmp_path, caplog
):
    require_services(own_redis.url)
    # The web side, as in production: Celery and the cache on our Redis, not eager.
    web = web_app(own_redis.url, settings, monkeypatch)
    settings.CACHES = {
        "default": {"BACKEND": "trial.cache.FallbackRedisCache", "LOCATION": own_redis.url}
    }
    settings.EXPORT_ROOT = tmp_path / "exports"
    settings.RANDOMISATION_PDF_ROOT = tmp_path / "envelope-batches"

    hematologist, nurse = world.users[Role.HEMATOLOGIST], world.users[Role.NURSE]
    coordinator = world.users[Role.COORDINATOR]
    coordinator.email = "karen@example.org"
    coordinator.save()
    participant = make_ready(world.own, hematologist)
    batch = make_batch(world.own, "A1N", 6)
    IdentityFactory(participant=world.own_participant, email="pt@example.dk")
    assert _client(hematologist).get(reverse("healthz")).json()["broker"] == "up"

    own_redis.stop()  # --- the outage -------------------------------------------------------
    answers = {}
    answers["randomise"] = _timed(
        lambda: _client(hematologist).post(
            reverse("randomization:participant_randomise", args=[participant.trial_number])
        )
    )
    onset = timezone.localdate(participant.allocation.randomised_at).isoformat()
    serious_event = {
        "description": "Pneumonia",
        "onset_date": onset,
        "grade": "3",
        "serious": "yes",
        "relation": "not_related",
        "outcome": "recovering",
        **sae_report(dt.date.fromisoformat(onset), form=True),
    }
    answers["sae"] = _timed(
        lambda: _client(nurse).post(
            reverse("trial:adverse_event_create", args=[participant.trial_number]),
            serious_event,
        )
    )
    answers["export"] = _timed(
        lambda: _client(coordinator).post(
            reverse("trial:export_list"), {"exporter": "full", "format": "csv"}
        )
    )
    answers["link"] = _timed(
        lambda: _client(nurse).post(
            reverse("questionnaires:staff_send", args=[world.own_participant.trial_number, "BL"]),
            {"via": "email", "language": "da"},
        )
    )
    answers["batch_pdf"] = _timed(
        lambda: _client(coordinator).post(reverse("randomization:batch_pdf", args=[batch.pk]))
    )
    answers["patient_page"] = _timed(
        lambda: _client(nurse).get(reverse("questionnaires:patient_start", args=["x" * 43]))
    )
    answers["healthz"] = _timed(lambda: _client(nurse).get(reverse("healthz")))
    # The figures the README quotes.
    print("\nduring the outage:")
    for what, (response, seconds) in answers.items():
        print(f"  {what}: {response.status_code} in {seconds:.2f} s")
    for what, (response, seconds) in answers.items():
        assert seconds < PROMPT, f"{what} took {seconds:.1f} s"
        if what == "healthz":
            assert response.status_code == 503 and response.json()["broker"] == "down"
        else:
            assert response.status_code < 500, (what, response.status_code)
    assert answers["randomise"][0].status_code == 302
    assert answers["sae"][0].status_code == 302
    assert answers["export"][0].status_code == 302
    assert answers["link"][0].status_code == 302
    assert answers["batch_pdf"][0].status_code == 302

    expected = {
        "randomization.envelope_stock_check",
        "trial.sae_notify",
        "trial.export_render",
        "questionnaires.tasks.link_deliver_task",
        "randomization.batch_pdf_render",
    }
    rows = list(PendingTask.objects.all())
    for record in caplog.records:
        if "not published" in record.getMessage():
            print("  refused publish:", record.getMessage().split(": ", 1)[1])
    print(f"  pending: {len(rows)} ({', '.join(sorted(row.name for row in rows))})")
    assert sorted(row.name for row in rows) == sorted(expected)  # one row per job, none lost
    assert all(row.done_at is None and row.dispatched_at is None for row in rows)
    assert all(row.attempts == 1 and row.last_error for row in rows)

    # --- Redis is back: the sweeper publishes, a real worker runs each job ---------------
    own_redis.start()
    mail_dir = tmp_path / "mail"
    worker = start_worker(
        "celery",
        f"outage-{own_redis.port}",
        own_redis.url,
        {
            "TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_URL": f"filemail:///{mail_dir}",  # three slashes: an absolute path
            "EXPORT_ROOT": str(settings.EXPORT_ROOT),
            "RANDOMISATION_PDF_ROOT": str(settings.RANDOMISATION_PDF_ROOT),
        },
    )
    try:
        settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
        first_sweep, second_sweep = outbox.outbox_sweep(), outbox.outbox_sweep()
        print(f"Redis back: first sweep published {first_sweep}, second {second_sweep}")
        assert first_sweep == len(expected)
        assert second_sweep == 0  # claimed: a second sweeper publishes nothing
        deadline = time.monotonic() + 240
        while PendingTask.objects.filter(done_at=None).exists():
            assert time.monotonic() < deadline, list(
                PendingTask.objects.filter(done_at=None).values("name", "last_error")
            )
            time.sleep(0.5)
        assert all(row.attempts == 2 for row in PendingTask.objects.all())

        # A duplicate delivery of every job (a redelivered message) changes nothing.
        for row in PendingTask.objects.all():
            web.send_task(row.name, args=row.args).get(timeout=120)
    finally:
        stop_worker(worker)

    event = AdverseEvent.objects.get(participant=participant)
    assert event.sae_notified_at is not None
    run = ExportRun.objects.get()
    assert run.status == ExportStatus.DONE
    assert (Path(settings.EXPORT_ROOT) / f"{run.id}.zip").exists()
    record = BatchPrint.objects.get(batch=batch)
    assert record.status == "ready"
    assert (Path(settings.RANDOMISATION_PDF_ROOT) / record.file_name).exists()
    link = world.own_participant.questionnaire_links.get()
    assert link.sent_at is not None and link.token_hash
    subjects = _mails(mail_dir)
    print(f"e-mails sent after the duplicate deliveries: {len(subjects)}")
    # Two e-mails in all, despite the refused publish, the sweep and the duplicate delivery:
    # the SAE notice (its subject names the participant) and the questionnaire link.
    assert len(subjects) == 2, subjects
    assert sum(participant.trial_number in s for s in subjects) == 1, subjects
    assert _client(nurse).get(reverse("healthz")).status_code == 200
