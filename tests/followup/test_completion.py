"""Completion of the follow-up: the nightly job moves a randomised participant to "follow-up
completed" once the window of the last visit of their schedule has closed, audited, once, and
never a locked, deceased or withdrawn participant or one still in follow-up."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from followup import services
from followup.models import Contact, ContactStatus
from tests.factories import ParticipantFactory, ProcedureFactory, randomised
from trial.models import Participant, ParticipantStatus, Role
from trial.monitoring import locks
from trial.protocol.schedule import active_schedule
from trial.protocol.windows import participant_timings

pytestmark = pytest.mark.django_db


def _last_window_closes(participant) -> dt.date:
    _randomised, timings = participant_timings(participant)
    return max(t.closes for t in timings.values() if t.closes)


def test_the_follow_up_completes_the_day_after_the_last_window_closes(world, fixed_day):
    participant = randomised(ParticipantFactory(site=world.own, sequence=30), days_ago=300)
    closes = _last_window_closes(participant)
    assert services.participants_complete(today=closes) == 0  # the window's last day
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.RANDOMISED

    assert services.participants_complete(today=closes + dt.timedelta(days=1)) == 1
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.COMPLETED
    latest = participant.history.order_by("-history_id").first()
    assert latest.history_user is None
    assert "last visit" in latest.history_change_reason
    # A second run changes nothing and writes no history.
    count = participant.history.count()
    assert services.participants_complete(today=closes + dt.timedelta(days=2)) == 0
    assert participant.history.count() == count


def test_only_randomised_unlocked_participants_whose_follow_up_is_over_complete(world, fixed_day):
    over = randomised(ParticipantFactory(site=world.own, sequence=31), days_ago=500)
    recent = randomised(ParticipantFactory(site=world.own, sequence=32), days_ago=40)
    locked = randomised(ParticipantFactory(site=world.own, sequence=33), days_ago=500)
    died = randomised(ParticipantFactory(site=world.own, sequence=34), days_ago=500)
    Participant.objects.filter(pk=died.pk).update(status=ParticipantStatus.DECEASED)
    locks.participant_lock(
        participant=locked, user=world.users[Role.DATA_MANAGER], reason="Monitoring visit hold"
    )
    assert services.participants_complete() == 1
    statuses = dict(
        Participant.objects.filter(pk__in=[over.pk, recent.pk, locked.pk, died.pk]).values_list(
            "pk", "status"
        )
    )
    assert statuses == {
        over.pk: ParticipantStatus.COMPLETED,
        recent.pk: ParticipantStatus.RANDOMISED,
        locked.pk: ParticipantStatus.RANDOMISED,
        died.pk: ParticipantStatus.DECEASED,
    }
    # Nobody in screening or never randomised is touched.
    assert Participant.objects.get(pk=world.own_participant.pk).status == (
        world.own_participant.status
    )


def test_a_procedure_recorded_late_keeps_the_follow_up_open_until_its_visits_close(
    world, fixed_day
):
    """Visits anchored on the procedure extend the follow-up: the rule reads every window of
    the schedule in force, not the last randomisation-anchored one."""
    assert any(v.anchor == "procedure" for v in active_schedule().visits)  # SC, in "vertebra"
    participant = randomised(ParticipantFactory(site=world.own, sequence=35), days_ago=400)
    before = _last_window_closes(participant)
    ProcedureFactory(participant=participant, procedure_date=before - dt.timedelta(days=20))
    after = _last_window_closes(participant)
    assert after > before
    assert services.participants_complete(today=before + dt.timedelta(days=1)) == 0
    assert services.participants_complete(today=after + dt.timedelta(days=1)) == 1


def test_the_nightly_command_completes_after_marking_the_last_contact_missed(world, fixed_day):
    participant = randomised(ParticipantFactory(site=world.own, sequence=36), days_ago=200)
    closes = _last_window_closes(participant)
    day = closes + dt.timedelta(days=1)
    out = io.StringIO()
    call_command("followup_nightly", "--catch-up", f"--today={day.isoformat()}", stdout=out)
    assert "1 follow-ups completed" in out.getvalue()
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.COMPLETED
    open_contacts = Contact.objects.filter(
        participant=participant, status__in=[ContactStatus.PLANNED, ContactStatus.DUE]
    )
    assert not open_contacts.exists()
