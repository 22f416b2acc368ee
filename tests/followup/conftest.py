"""Follow-up helpers. Allocations are made directly in the database (tests.factories.allocate),
so the scheduler can be tested on its own."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import allocate


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
