"""Allocations made directly in the database, so the scheduler can be tested on its own."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from randomization.models import Allocation, Envelope, EnvelopeBatch
from trial.models import ParticipantStatus

_serials = itertools.count(1)


def allocate(participant, randomised_at: dt.datetime, arm: str = "pvp", user=None):
    """Record an allocation as participant_randomize would leave it (status randomised)."""
    n = next(_serials)
    batch = EnvelopeBatch.objects.create(
        site=participant.site,
        stratum="A1N",
        size=1,
        block_sizes=[2],
        first_sequence=n,
        created_by=user,
    )
    envelope = Envelope.objects.create(
        batch=batch,
        site=participant.site,
        stratum="A1N",
        sequence=n,
        serial=f"{participant.site.code}-A1N-{n:03d}",
        arm=arm,
        block_number=1,
        block_size=2,
        position_in_block=1,
        used_at=randomised_at,
        participant=participant,
    )
    participant.status = ParticipantStatus.RANDOMISED
    participant.save(update_fields=["status"])
    return Allocation.objects.create(
        participant=participant,
        envelope=envelope,
        arm=arm,
        stratum="A1N",
        randomised_at=randomised_at,
        randomised_by=user or participant.created_by or _user(),
    )


def _user():
    from tests.factories import UserFactory

    return UserFactory(username="randomiser")


@pytest.fixture
def allocate_fn():
    return allocate


def open_contact(participant, code="W1", *, target=None, before=3, after=3, status="due"):
    """A contact around ``target`` (default: today in Copenhagen), as the nightly run makes it."""
    from followup.models import Contact
    from trial.protocol.schedule import local_today

    target = target or local_today()
    return Contact.objects.create(
        participant=participant,
        visit_code=code,
        anchor="randomisation",
        anchor_date=target - dt.timedelta(days=7),
        target_date=target,
        window_opens=target - dt.timedelta(days=before),
        window_closes=target + dt.timedelta(days=after),
        status=status,
    )


def randomised(site, count, *, start=1, arm="pvp", identity=True):
    """``count`` randomised participants of ``site`` with an identity each."""
    from django.utils import timezone

    from tests.factories import IdentityFactory, ParticipantFactory

    people = []
    for n in range(start, start + count):
        participant = ParticipantFactory(site=site, sequence=n)
        allocate(participant, timezone.now() - dt.timedelta(days=7), arm=arm)
        if identity:
            IdentityFactory(participant=participant)
        people.append(participant)
    return people
