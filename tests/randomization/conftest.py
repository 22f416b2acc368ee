"""Participants ready for randomisation and envelopes to randomise them with.

``make_ready`` builds the whole path through the factories of the screening and questionnaire
apps and then insists that nothing blocks randomisation, so a missing piece fails loudly here
instead of turning a randomisation test into a test of a refusal.
"""

from __future__ import annotations

import random

import pytest
from django.db.models import Max

from randomization import services
from tests.factories import ParticipantFactory, screening_complete
from trial.models import Participant, Role
from trial.participants.selectors import randomisation_blockers


def make_ready(site, user, *, myeloma_status="known", levels=("L1",), earlier_fractures=False):
    last = Participant.objects.filter(site=site).aggregate(m=Max("sequence"))["m"] or 0
    participant = ParticipantFactory(site=site, sequence=last + 1)
    screening_complete(
        participant,
        user,
        myeloma_status=myeloma_status,
        levels=levels,
        earlier_fractures=earlier_fractures,
    )
    from tests.questionnaires.factories import complete_visit

    complete_visit(participant)
    assert randomisation_blockers(participant) == [], randomisation_blockers(participant)
    return participant


def make_batch(site, stratum="A1N", count=10, *, user=None, seed=1, block_sizes=None):
    return services.envelope_batch_generate(
        site=site,
        stratum=stratum,
        count=count,
        user=user,
        block_sizes=block_sizes,
        rng=random.Random(seed),
    )


@pytest.fixture
def hematologist(world):
    return world.users[Role.HEMATOLOGIST]


@pytest.fixture
def coordinator(world):
    return world.users[Role.COORDINATOR]


@pytest.fixture
def ready_participant(world, hematologist):
    participant = make_ready(world.own, hematologist)
    assert randomisation_blockers(participant) == []
    return participant


@pytest.fixture(autouse=True)
def in_english(settings):
    """These tests read messages, PDFs and e-mails in the source language (the Danish
    catalogue is tested in tests/trial/test_i18n.py)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
