"""The weekly query digest: one e-mail per site and week to its staff who answer queries,
trial numbers only, oldest first, sent through the outbox, never twice."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import call_command
from django.utils import timezone

from tests.factories import IdentityFactory, ParticipantFactory, UserFactory, query_raised
from trial.models import PendingTask, QueryDigest, QueryState, Role
from trial.monitoring import digest, services

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_queries(world, fixed_day):
    """Two queries at AAR: one raised 9 days ago on a participant with identifying data, one
    today; none at ODE."""
    monitor = world.users[Role.MONITOR]
    older = query_raised(world.own_participant, user=monitor, text="Please check the onset.")
    older.raised_at = timezone.now() - dt.timedelta(days=9)
    older.save(update_fields=["raised_at"])
    IdentityFactory(participant=world.own_participant, full_name="Karen Blixen Testesen")
    second = ParticipantFactory(site=world.own, sequence=2)
    newer = query_raised(second, user=monitor, text="Is the date right?")
    return older, newer


def _queue(capture, **kwargs):
    with capture(execute=True):
        return digest.query_digests_queue(**kwargs)


def test_each_site_staff_member_who_answers_queries_gets_one_email_oldest_first(
    world, open_queries, django_capture_on_commit_callbacks
):
    older, newer = open_queries
    result = _queue(django_capture_on_commit_callbacks)
    assert result == {"sites": 1, "queued": 1}
    to = sorted(address for m in mail.outbox for address in m.to)
    # The site's hematologist and nurse, the partner's surgeon; never the monitor, the
    # coordinator, the data manager or another site's staff.
    assert to == sorted(
        world.users[role].email for role in (Role.HEMATOLOGIST, Role.NURSE, Role.SURGEON)
    )
    body = mail.outbox[0].body
    first = older.participant.trial_number
    second = newer.participant.trial_number
    assert body.index(first) < body.index(second)
    assert "9 " in body.split(first)[1].splitlines()[0]  # the age in days of the oldest
    assert f"/queries/?site={world.own.pk}" in body
    digest_row = QueryDigest.objects.get()
    assert (digest_row.site, digest_row.query_count, digest_row.recipient_count) == (
        world.own,
        2,
        3,
    )
    assert digest_row.week_start.weekday() == 0


def test_the_email_carries_trial_numbers_never_names_or_cpr_numbers(
    world, open_queries, django_capture_on_commit_callbacks
):
    identity = world.own_participant.identity
    _queue(django_capture_on_commit_callbacks)
    assert mail.outbox
    for message in mail.outbox:
        text = message.subject + message.body
        assert world.own_participant.trial_number in text
        for secret in (identity.full_name, "Blixen", identity.cpr, identity.cpr.replace("-", "")):
            assert secret not in text


def test_running_twice_in_a_week_sends_once(
    world, open_queries, django_capture_on_commit_callbacks
):
    _queue(django_capture_on_commit_callbacks)
    sent = len(mail.outbox)
    assert _queue(django_capture_on_commit_callbacks) == {"sites": 1, "queued": 0}
    assert len(mail.outbox) == sent
    # A duplicate delivery of the outbox job finds the digest claimed.
    assert digest.query_digest_send(digest_id=QueryDigest.objects.get().pk) is False
    assert len(mail.outbox) == sent
    assert PendingTask.objects.filter(name=digest.QUERY_DIGEST_SEND_TASK).count() == 1
    # Next week it goes again.
    _queue(django_capture_on_commit_callbacks, today=timezone.localdate() + dt.timedelta(days=7))
    assert len(mail.outbox) == 2 * sent


def test_nothing_is_sent_to_a_site_without_queries_not_closed(
    world, open_queries, django_capture_on_commit_callbacks
):
    for query in open_queries:
        services.query_step(query=query, step="close", user=world.users[Role.MONITOR])
    assert _queue(django_capture_on_commit_callbacks) == {"sites": 0, "queued": 0}
    assert mail.outbox == []
    assert not QueryDigest.objects.exists()


def test_an_answered_query_is_still_listed(world, open_queries, django_capture_on_commit_callbacks):
    _older, newer = open_queries
    services.query_step(
        query=newer, step="answer", user=world.users[Role.NURSE], text="Checked the notes."
    )
    _queue(django_capture_on_commit_callbacks)
    assert newer.participant.trial_number in mail.outbox[0].body
    newer.refresh_from_db()
    assert newer.state == QueryState.ANSWERED


def test_the_email_is_in_the_trial_language_for_staff_without_one(
    world, open_queries, django_capture_on_commit_callbacks, settings
):
    settings.LANGUAGE_CODE = "da"
    _queue(django_capture_on_commit_callbacks)
    assert "queries at besvare på AAR" in mail.outbox[0].subject


def test_a_failed_send_releases_the_claim_for_the_retry(
    world, open_queries, django_capture_on_commit_callbacks, monkeypatch
):
    def refuse(self, messages):
        raise OSError("mail server down")

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)
    with django_capture_on_commit_callbacks(execute=False):
        digest.query_digests_queue()
    row = QueryDigest.objects.get()
    with pytest.raises(OSError):
        digest.query_digest_send(digest_id=row.pk)
    row.refresh_from_db()
    assert row.claimed_at is None and row.sent_at is None
    monkeypatch.undo()
    assert digest.query_digest_send(digest_id=row.pk) is True
    assert len(mail.outbox) == 3


def test_inactive_staff_and_staff_without_an_address_get_nothing(
    world, open_queries, django_capture_on_commit_callbacks
):
    nurse = world.users[Role.NURSE]
    nurse.is_active = False
    nurse.save()
    UserFactory(username="noaddress", role=Role.NURSE, email="", sites=[world.own])
    _queue(django_capture_on_commit_callbacks)
    to = {address for m in mail.outbox for address in m.to}
    assert nurse.email not in to and "" not in to and len(to) == 2


def test_the_command_twin_queues_the_digest(world, open_queries):
    out = io.StringIO()
    call_command("query_digest", stdout=out)
    assert out.getvalue().startswith("1 sites with queries not closed: 1 digests queued")
    assert QueryDigest.objects.count() == 1


def test_the_beat_runs_it_on_monday_at_seven(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["query-digest"]
    assert entry["task"] == "trial.query_digest_weekly"
    schedule = entry["schedule"]
    assert schedule.hour == {7} and schedule.minute == {0} and schedule.day_of_week == {1}
