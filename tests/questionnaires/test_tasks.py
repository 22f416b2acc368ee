"""Sending links (e-mail after commit, SMS backend) and the one reminder."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from questionnaires import links, selectors, tasks, tokens
from questionnaires.models import Mode, QuestionnaireLink, SentVia
from questionnaires.sms import LocmemSmsBackend
from tests.factories import IdentityFactory
from tests.questionnaires.factories import complete_visit
from trial.models import ParticipantStatus

pytestmark = pytest.mark.django_db

URL = re.compile(r"http://\S+/q/([0-9A-Z]{4}(?:-[0-9A-Z]{4}){7})/")


@pytest.fixture
def patient(world):
    IdentityFactory(participant=world.own_participant, email="pt@example.dk", phone="+4512345678")
    return world.own_participant


def _send(patient, world, via=SentVia.EMAIL, language="da"):
    return links.link_send(
        participant=patient, visit_code="BL", user=world.users["nurse"], via=via, language=language
    )


def test_the_email_goes_out_after_commit_with_a_working_link(
    patient, world, django_capture_on_commit_callbacks, client
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        link = _send(patient, world)
    assert mail.outbox == [] and len(callbacks) == 1
    link.refresh_from_db()
    # The token is minted in the request (a broker outage cannot leave the link without
    # one) but not sent yet; only its seed is kept until the delivery task has sent it.
    assert link.token_hash and link.delivery_seed and link.sent_at is None
    callbacks[0]()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["pt@example.dk"]
    token = URL.search(message.body).group(1)
    link.refresh_from_db()
    assert link.sent_at and link.token_hash == tokens.token_hash(token)
    assert link.delivery_seed == ""  # sent: the token now exists only in the message
    opened = client.get(reverse("questionnaires:patient_start", args=[token]), follow=True)
    assert opened.status_code == 200 and opened.context["channel"].access.link == link


def test_the_email_is_in_the_links_language(patient, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _send(patient, world, language="en")
    assert "Dear participant" in mail.outbox[0].body


def test_delivering_twice_sends_once(patient, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        link = _send(patient, world)
    assert links.link_deliver(link_id=link.pk) is False
    assert len(mail.outbox) == 1


def test_sms_goes_through_the_configured_backend(
    patient, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _send(patient, world, via=SentVia.SMS)
    assert len(LocmemSmsBackend.outbox) == 1
    assert LocmemSmsBackend.outbox[0].to == "+4512345678"
    assert URL.search(LocmemSmsBackend.outbox[0].body)


def test_the_logging_sms_backend_logs(caplog):
    from questionnaires.sms import LoggingSmsBackend, SmsMessage

    with caplog.at_level("INFO"):
        assert LoggingSmsBackend().send_messages([SmsMessage("+4512345678", "hello")]) == 1
    assert "hello" in caplog.text and "12345678" not in caplog.text


def _age(link, days):
    QuestionnaireLink.objects.filter(pk=link.pk).update(
        sent_at=timezone.now() - dt.timedelta(days=days),
        created_at=timezone.now() - dt.timedelta(days=days),
    )


def test_one_reminder_after_the_set_days_and_never_twice(
    patient, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        link = _send(patient, world)
    assert selectors.links_due_for_reminder() == []
    _age(link, 6)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.link_reminders_send() == 1
    assert len(mail.outbox) == 2
    assert "Påmindelse" in mail.outbox[1].subject or "Reminder" in mail.outbox[1].subject
    # Running again (beat every hour, or a task retried) sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.link_reminders_send() == 0
        assert links.link_remind(link_id=link.pk) is False
    assert len(mail.outbox) == 2
    # Both the first link and the reminder's open the questionnaire.
    tokens = [URL.search(m.body).group(1) for m in mail.outbox]
    assert all(selectors.link_access(t).ok for t in tokens)


@pytest.mark.parametrize("case", ["submitted", "deceased", "withdrawn", "revoked", "expired"])
def test_no_reminder_after_submission_death_withdrawal_revocation_or_expiry(
    patient, world, django_capture_on_commit_callbacks, case
):
    with django_capture_on_commit_callbacks(execute=True):
        link = _send(patient, world)
    _age(link, 6)
    if case == "submitted":
        complete_visit(patient)
    elif case in ("deceased", "withdrawn"):
        patient.status = (
            ParticipantStatus.DECEASED if case == "deceased" else ParticipantStatus.WITHDRAWN
        )
        patient.save()
    elif case == "revoked":
        links.link_revoke(link=link, user=world.users["nurse"], reason="wrong address")
    elif case == "expired":
        QuestionnaireLink.objects.filter(pk=link.pk).update(expires_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.link_reminders_send() == 0
        assert links.link_remind(link_id=link.pk) is False
    assert len(mail.outbox) == 1


def test_no_reminder_for_printed_letters(world):
    from tests.questionnaires.factories import letter_link

    link, _token = letter_link(world.own_participant)
    _age(link, 30)
    assert selectors.links_due_for_reminder() == []


def test_no_link_is_sent_to_an_ended_participant(patient, world):
    from trial.errors import ServiceError

    patient.status = ParticipantStatus.DECEASED
    patient.save()
    with pytest.raises(ServiceError):
        _send(patient, world)


def test_the_reminder_task_is_in_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["questionnaire-reminders"]
    assert entry["task"] == "questionnaires.tasks.link_reminders_send"


def test_mode_is_kept_for_each_response(world):
    complete_visit(world.own_participant, mode=Mode.TABLET)
    assert set(world.own_participant.questionnaire_responses.values_list("mode", flat=True)) == {
        "tablet"
    }


def test_an_sms_link_is_reminded_by_sms(patient, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        link = _send(patient, world, via=SentVia.SMS)
    _age(link, 6)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.link_reminders_send() == 1
    assert len(LocmemSmsBackend.outbox) == 2 and mail.outbox == []
    reminder = QuestionnaireLink.objects.get(reminder_of=link)
    assert reminder.sent_via == SentVia.SMS and reminder.expires_at == link.expires_at


def test_a_failed_send_can_be_retried_with_a_fresh_token(
    patient, world, django_capture_on_commit_callbacks, monkeypatch
):
    from questionnaires import messaging

    with django_capture_on_commit_callbacks(execute=False):
        link = _send(patient, world)

    def broken(**kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr(messaging, "send_link", broken)
    with pytest.raises(OSError):
        links.link_deliver(link_id=link.pk)
    link.refresh_from_db()
    assert link.sent_at is None and link.delivery_seed  # unclaimed again, seed kept
    minted = link.token_hash
    monkeypatch.undo()
    assert links.link_deliver(link_id=link.pk) is True
    assert len(mail.outbox) == 1
    token = URL.search(mail.outbox[0].body).group(1)
    assert tokens.token_hash(token) == minted  # the retry sends the token of the request


def test_a_seed_that_no_longer_gives_the_token_gets_a_fresh_one(
    patient, world, django_capture_on_commit_callbacks, settings
):
    """SECRET_KEY rotated between the request and the delivery: the patient still gets a
    token that opens the link."""
    with django_capture_on_commit_callbacks(execute=False):
        link = _send(patient, world)
    settings.SECRET_KEY = settings.SECRET_KEY + "-rotated"
    assert links.link_deliver(link_id=link.pk) is True
    token = URL.search(mail.outbox[0].body).group(1)
    link.refresh_from_db()
    assert link.token_hash == tokens.token_hash(token) and link.delivery_seed == ""


def test_a_link_made_before_tokens_were_minted_in_the_request_is_still_delivered(
    patient, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        link = _send(patient, world)
    QuestionnaireLink.objects.filter(pk=link.pk).update(token_hash=None, delivery_seed="")
    assert links.link_deliver(link_id=link.pk) is True
    token = URL.search(mail.outbox[0].body).group(1)
    link.refresh_from_db()
    assert link.token_hash == tokens.token_hash(token)
    assert links.link_deliver(link_id=link.pk) is False
