"""Every Celery beat job has a management-command twin that runs the same service now (for an
operator, or a cron job where no beat runs), and the message tasks share one retry policy that
really retries."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.core.management import call_command, get_commands
from django.utils import timezone

from questionnaires import links as qlinks
from questionnaires import tasks as qtasks
from questionnaires.models import QuestionnaireLink, SentVia
from randomization import printing as rprinting
from randomization import services as rservices
from randomization import tasks as rtasks
from randomization.models import DeviationKind, ProtocolDeviation
from tests.factories import IdentityFactory
from tests.randomization.conftest import make_batch
from trial.celery import MESSAGE_RETRY
from trial.celery import app as celery_app
from trial.models import Role
from trial.staff import tasks as stasks
from trial.treatment import tasks as ttasks

# Beat job -> its command. A beat job added without a twin fails the first test.
TWINS = {
    "followup-nightly": "followup_nightly",
    "followup-weekly-lists": "followup_weekly_lists",
    "questionnaire-reminders": "questionnaire_reminders",
    "outbox-sweep": "outbox_sweep",
    "envelope-stock": "envelope_stock_check",
    "exports-expire": "exports_expire",
    "edit-checks-nightly": "edit_checks",
    "query-digest": "query_digest",
    "casebooks-expire": "casebooks_expire",
}


def run(name: str) -> str:
    out = io.StringIO()
    call_command(name, stdout=out)
    return out.getvalue()


def test_every_beat_job_has_a_command_twin(settings):
    assert set(settings.CELERY_BEAT_SCHEDULE) == set(TWINS)
    commands = get_commands()
    assert [name for name in TWINS.values() if name not in commands] == []


@pytest.mark.django_db
def test_questionnaire_reminders_sends_each_due_reminder_once(
    world, django_capture_on_commit_callbacks
):
    IdentityFactory(participant=world.own_participant, email="pt@example.dk")
    with django_capture_on_commit_callbacks(execute=True):
        link = qlinks.link_send(
            participant=world.own_participant,
            visit_code="BL",
            user=world.users[Role.NURSE],
            via=SentVia.EMAIL,
            language="da",
        )
    assert run("questionnaire_reminders").startswith("0 reminders sent")  # not due yet
    six_days_ago = timezone.now() - dt.timedelta(days=6)
    QuestionnaireLink.objects.filter(pk=link.pk).update(
        sent_at=six_days_ago, created_at=six_days_ago
    )
    before = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        assert run("questionnaire_reminders").startswith("1 reminders sent")
    assert len(mail.outbox) == before + 1
    assert QuestionnaireLink.objects.filter(reminder_of=link).count() == 1
    assert run("questionnaire_reminders").startswith("0 reminders sent")


@pytest.mark.django_db
def test_envelope_stock_check_alerts_the_coordinator_once(world, settings):
    settings.RANDOMISATION_STOCK_THRESHOLD = 4
    settings.TRIAL_COORDINATOR_EMAILS = ["coordinator@example.dk"]
    make_batch(world.own, "A1N", 3)
    before = len(mail.outbox)
    assert run("envelope_stock_check").strip() == "1 low-stock alerts sent"
    assert "AAR A1N" in mail.outbox[before].subject
    assert run("envelope_stock_check").strip() == "0 low-stock alerts sent"
    assert len(mail.outbox) == before + 1


@pytest.mark.django_db
def test_exports_expire_deletes_expired_files(world, settings, django_capture_on_commit_callbacks):
    from trial.exports import services as export_services
    from trial.models import ExportRun, ExportStatus

    with django_capture_on_commit_callbacks(execute=True):
        run_ = export_services.export_request(
            user=world.users[Role.COORDINATOR], exporter="participants", format="csv"
        )
    run_.refresh_from_db()
    path = settings.EXPORT_ROOT / run_.file_name
    assert path.exists()
    assert run("exports_expire").strip() == "0 exports expired"
    ExportRun.objects.filter(pk=run_.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert run("exports_expire").strip() == "1 exports expired"
    run_.refresh_from_db()
    assert run_.status == ExportStatus.EXPIRED and not path.exists()


def test_the_message_tasks_share_the_retry_policy():
    for task in (
        qtasks.link_deliver_task,
        rtasks.deviation_notify,
        rtasks.envelope_stock_check,
        ttasks.sae_notify,
        stasks.staff_invitation_send,
    ):
        assert task.autoretry_for == MESSAGE_RETRY["autoretry_for"], task.name
        assert task.max_retries == MESSAGE_RETRY["max_retries"], task.name
        assert task.retry_backoff == MESSAGE_RETRY["retry_backoff"], task.name


def test_the_services_enqueue_the_names_the_tasks_are_registered_under():
    # The services queue tasks by name (they do not import the task modules); a name that
    # drifted from its task would leave outbox rows no worker runs. The names are the ones
    # queued messages and outbox rows already carry, so they are spelt out here.
    queued = {
        qlinks.LINK_DELIVER_TASK: "questionnaires.tasks.link_deliver_task",
        qlinks.LINK_REMIND_TASK: "questionnaires.tasks.link_remind_task",
        rprinting.BATCH_PDF_RENDER_TASK: "randomization.batch_pdf_render",
        rservices.ENVELOPE_STOCK_CHECK_TASK: "randomization.envelope_stock_check",
        rservices.DEVIATION_NOTIFY_TASK: "randomization.deviation_notify",
    }
    assert queued == {name: name for name in queued.values()}
    registered = {
        task.name
        for task in (
            qtasks.link_deliver_task,
            qtasks.link_remind_task,
            rtasks.batch_pdf_render,
            rtasks.envelope_stock_check,
            rtasks.deviation_notify,
        )
    }
    assert registered == set(queued)
    assert registered <= set(celery_app.tasks)


def test_tasks_whose_service_cannot_be_retried_declare_no_retry():
    # Their services claim before sending or record failures themselves (see the tasks).
    for task in (rtasks.batch_pdf_render,):
        assert not getattr(task, "autoretry_for", ()), task.name


@pytest.mark.django_db
def test_a_deviation_notice_is_retried_when_the_mail_server_fails(world, settings, monkeypatch):
    settings.TRIAL_COORDINATOR_EMAILS = ["coordinator@example.dk"]
    attempts = []
    send = locmem.EmailBackend.send_messages

    def flaky(self, messages):
        attempts.append(len(messages))
        if len(attempts) == 1:
            raise ConnectionRefusedError("the mail server is down")
        return send(self, messages)

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", flaky)
    deviation = ProtocolDeviation.objects.create(
        participant=world.own_participant,
        kind=DeviationKind.ENVELOPE_MISMATCH,
        description="Envelope 7 opened for the wrong participant.",
        reported_by=world.users[Role.HEMATOLOGIST],
    )
    before = len(mail.outbox)
    # Eagerly (and without propagating the first failure), a retry runs at once; a worker
    # would wait for the backoff.
    assert rtasks.deviation_notify.apply(args=[deviation.pk], throw=False).get() is True
    assert len(attempts) == 2
    assert len(mail.outbox) == before + 1
