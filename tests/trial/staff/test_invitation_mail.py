"""The staff invitation e-mail goes through the outbox: a mail server that is down delays it,
never fails the coordinator's request or loses the message, and it goes out once."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation

from tests.conftest import verified_client
from trial.models import Role, User
from trial.outbox import services as outbox
from trial.outbox.models import PendingTask
from trial.staff import tasks

ADDRESS = "karen.blixen@example.org"


@pytest.fixture
def coordinator(world, settings):
    settings.LANGUAGE_CODE = "en"
    client = verified_client(world.users[Role.COORDINATOR])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _invite(client, world, capture):
    data = {
        "first_name": "Karen",
        "last_name": "Blixen",
        "email": ADDRESS,
        "role": Role.NURSE,
        "sites": [world.own.pk],
    }
    with capture(execute=True), translation.override("en"):
        return client.post(reverse("trial:staff_invite"), data, follow=True)


def _row() -> PendingTask:
    return PendingTask.objects.get(name=tasks.staff_invitation_send.name)


def test_an_invitation_outlives_a_mail_server_outage_and_is_mailed_once(
    world, coordinator, mail_server, settings, django_capture_on_commit_callbacks
):
    response = _invite(coordinator, world, django_capture_on_commit_callbacks)

    # The page answers and says the e-mail is queued; the account exists, the mail does not.
    assert response.status_code == 200
    assert "the e-mail with the link is queued" in response.content.decode()
    user = User.objects.get(username=ADDRESS)
    assert user.invitation_sent_at is None
    assert mail.outbox == []
    # The refused send asked for a retry; the outbox row stays pending, with the reason.
    assert mail_server.attempts == 1
    row = _row()
    assert row.done_at is None and row.dispatched_at is None
    assert "SMTPServerDisconnected" in row.last_error

    # On a worker the task retries with backoff (eagerly here, at once): a refused attempt
    # undoes its claim, so the retry sends the mail once the server takes it again.
    mail_server.refusals = 1
    assert tasks.staff_invitation_send.apply(args=row.args, throw=False).get() is True
    assert mail_server.attempts == 3
    assert [m.to for m in mail.outbox] == [[ADDRESS]]
    assert "/account/welcome/" in mail.outbox[0].body
    user.refresh_from_db()
    assert user.invitation_sent_at is not None
    assert user.history.filter(history_change_reason="invitation e-mailed").count() == 1

    # The outbox row is still pending (that run was not from the outbox): the sweeper
    # publishes it, the task finds the mail sent and only marks the row done.
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
    assert outbox.outbox_sweep() == 1
    row.refresh_from_db()
    assert row.done_at is not None
    assert len(mail.outbox) == 1

    # Nothing sends it twice: a second sweep, or a duplicate delivery of the task.
    assert outbox.outbox_sweep() == 0
    assert tasks.staff_invitation_send.apply(args=row.args).get() is False
    assert len(mail.outbox) == 1


def test_an_invitation_withdrawn_before_its_mail_went_out_is_not_sent(
    world, coordinator, mail_server, settings, django_capture_on_commit_callbacks
):
    _invite(coordinator, world, django_capture_on_commit_callbacks)
    user = User.objects.get(username=ADDRESS)
    response = coordinator.post(
        reverse("trial:staff_deactivate", args=[user.pk]), {"reason": "invited by mistake"}
    )
    assert response.status_code == 302

    mail_server.refusals = 0
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
    assert outbox.outbox_sweep() == 1
    assert mail.outbox == []
    assert _row().done_at is not None  # nothing left to retry
    user.refresh_from_db()
    assert user.invitation_sent_at is None


def test_a_working_mail_server_gets_the_invitation_right_after_the_commit(
    world, coordinator, mail_server, django_capture_on_commit_callbacks
):
    mail_server.refusals = 0
    _invite(coordinator, world, django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [[ADDRESS]]
    assert mail_server.attempts == 1
    assert _row().done_at is not None
