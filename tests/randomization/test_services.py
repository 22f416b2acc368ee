"""participant_randomize, envelope_batch_generate and allocation_confirm: the rules."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import translation

from randomization import services
from randomization.models import (
    Allocation,
    DeviationKind,
    Envelope,
    ProtocolDeviation,
    StratumStock,
)
from randomization.services import RandomisationRefused
from tests.factories import ParticipantFactory, ScreeningFormFactory
from tests.randomization.conftest import make_batch, make_ready
from trial.models import ParticipantStatus


def test_it_gives_the_first_envelope_of_the_site_and_stratum(
    ready_participant, hematologist, world
):
    make_batch(world.own, "A1N", 6)
    make_batch(world.own, "B1N", 6)
    make_batch(world.other, "A1N", 6)

    allocation = services.participant_randomize(participant=ready_participant, user=hematologist)

    assert allocation.envelope.serial == "AAR-A1N-001"
    assert allocation.arm == allocation.envelope.arm
    assert allocation.stratum == "A1N"
    assert allocation.randomised_by == hematologist
    ready_participant.refresh_from_db()
    assert ready_participant.status == ParticipantStatus.RANDOMISED
    envelope = Envelope.objects.get(serial="AAR-A1N-001")
    assert envelope.participant == ready_participant and envelope.used_at is not None


def test_it_takes_envelopes_in_serial_order_across_batches(world, hematologist):
    make_batch(world.own, "A1N", 2, seed=1)
    make_batch(world.own, "A1N", 3, seed=2)
    serials = [
        services.participant_randomize(
            participant=make_ready(world.own, hematologist), user=hematologist
        ).envelope.serial
        for _ in range(4)
    ]
    assert serials == ["AAR-A1N-001", "AAR-A1N-002", "AAR-A1N-003", "AAR-A1N-004"]


def test_the_stratum_comes_from_the_recorded_data(world, hematologist):
    for code in ("A1N", "B2Y"):
        make_batch(world.own, code, 4)
    participant = make_ready(
        world.own, hematologist, myeloma_status="new", levels=("T10", "T11"), earlier_fractures=True
    )
    allocation = services.participant_randomize(participant=participant, user=hematologist)
    assert allocation.stratum == "B2Y"
    assert allocation.envelope.serial == "AAR-B2Y-001"


def test_it_refuses_a_participant_already_randomised(ready_participant, hematologist, world):
    make_batch(world.own, "A1N", 4)
    first = services.participant_randomize(participant=ready_participant, user=hematologist)
    with pytest.raises(RandomisationRefused) as refused:
        services.participant_randomize(participant=ready_participant, user=hematologist)
    assert "already randomised" in str(refused.value)
    assert first.envelope.serial in str(refused.value)
    assert Allocation.objects.count() == 1
    assert Envelope.objects.filter(participant__isnull=False).count() == 1


def test_it_refuses_a_participant_with_blockers_and_says_what_is_missing(world, hematologist):
    make_batch(world.own, "A1N", 4)
    participant = ParticipantFactory(site=world.own, sequence=50)
    with pytest.raises(RandomisationRefused) as refused:
        services.participant_randomize(participant=participant, user=hematologist)
    text = str(refused.value)
    assert "screening form" in text
    assert "Consent" in text
    assert Envelope.objects.filter(participant__isnull=False).count() == 0


def test_it_names_the_missing_data_when_the_stratum_cannot_be_computed(world, hematologist):
    translation.activate("en")
    participant = ParticipantFactory(site=world.own, sequence=51)
    ScreeningFormFactory(participant=participant, completed_by=hematologist)
    stratum, problems = services.participant_stratum_check(participant)
    assert stratum is None
    assert "planned PVP levels (surgical assessment)" in problems[0]
    assert "earlier vertebral fractures" in problems[0]
    assert "myeloma status" not in problems[0]
    with pytest.raises(RandomisationRefused) as refused:
        services.participant_randomize(participant=participant, user=hematologist)
    assert "planned PVP levels" in str(refused.value)


def test_it_refuses_a_stratum_without_stock(ready_participant, hematologist, world):
    make_batch(world.own, "B1N", 4)  # another stratum
    make_batch(world.other, "A1N", 4)  # another site
    with pytest.raises(RandomisationRefused) as refused:
        services.participant_randomize(participant=ready_participant, user=hematologist)
    assert "No envelopes are left for site AAR in stratum A1N" in str(refused.value)
    ready_participant.refresh_from_db()
    assert ready_participant.status == ParticipantStatus.SCREENING


def test_it_refuses_when_the_stock_is_used_up(world, hematologist):
    make_batch(world.own, "A1N", 1)
    services.participant_randomize(
        participant=make_ready(world.own, hematologist), user=hematologist
    )
    late = make_ready(world.own, hematologist)
    with pytest.raises(RandomisationRefused, match="No envelopes are left"):
        services.participant_randomize(participant=late, user=hematologist)


def test_serials_continue_across_batches_and_have_the_documented_format(world):
    first = make_batch(world.own, "A1N", 3)
    second = make_batch(world.own, "A1N", 2)
    other = make_batch(world.other, "A1N", 2)
    assert list(first.envelopes.values_list("serial", flat=True)) == [
        "AAR-A1N-001",
        "AAR-A1N-002",
        "AAR-A1N-003",
    ]
    assert list(second.envelopes.values_list("serial", flat=True)) == ["AAR-A1N-004", "AAR-A1N-005"]
    assert second.first_sequence == 4
    assert list(other.envelopes.values_list("serial", flat=True)) == ["ODE-A1N-001", "ODE-A1N-002"]
    assert StratumStock.objects.get(site=world.own, stratum="A1N").last_sequence == 5


def test_a_batch_is_balanced_in_permuted_blocks(world):
    batch = make_batch(world.own, "A2N", 40, block_sizes=(2, 4))
    envelopes = list(batch.envelopes.order_by("sequence"))
    assert len(envelopes) == 40
    blocks_seen = {}
    for e in envelopes:
        blocks_seen.setdefault(e.block_number, []).append(e)
    for members in blocks_seen.values():
        assert {m.block_size for m in members} <= {2, 4}
        if len(members) == members[0].block_size:
            arms = [m.arm for m in members]
            assert arms.count("pvp") == arms.count("conservative")


def test_batches_use_the_secure_generator_by_default(world, monkeypatch):
    import secrets

    calls = []
    real = secrets.SystemRandom

    def spy():
        calls.append(1)
        return real()

    monkeypatch.setattr(secrets, "SystemRandom", spy)
    services.envelope_batch_generate(site=world.own, stratum="A1N", count=4, user=None)
    assert calls


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stratum": "XYZ"}, "Unknown stratum"),
        ({"count": 0}, "1 to 500"),
        ({"block_sizes": (3,)}, "even numbers"),
    ],
)
def test_batch_generation_refuses_bad_input(world, kwargs, message):
    arguments = {"site": world.own, "stratum": "A1N", "count": 4, "user": None, **kwargs}
    with pytest.raises(services.ServiceError, match=message):
        services.envelope_batch_generate(**arguments)


def test_batches_are_only_for_hematology_sites(world):
    with pytest.raises(services.ServiceError, match="hematology"):
        services.envelope_batch_generate(
            site=world.own.surgical_partner, stratum="A1N", count=2, user=None
        )


def test_the_database_refuses_a_second_envelope_for_a_participant(
    ready_participant, hematologist, world
):
    make_batch(world.own, "A1N", 4)
    services.participant_randomize(participant=ready_participant, user=hematologist)
    spare = Envelope.objects.get(serial="AAR-A1N-002")
    spare.participant = ready_participant
    spare.used_at = spare.batch.created_at
    spare.state = "issued"
    with pytest.raises(IntegrityError), transaction.atomic():
        spare.save()


def test_the_database_refuses_a_duplicate_sequence(world):
    batch = make_batch(world.own, "A1N", 2)
    clash = Envelope.objects.get(serial="AAR-A1N-001")
    clash.pk = None
    clash.serial = "AAR-A1N-999"
    with pytest.raises(IntegrityError), transaction.atomic():
        clash.save()
    assert batch.envelopes.count() == 2


def test_a_matching_confirmation_is_recorded(ready_participant, hematologist, world):
    make_batch(world.own, "A1N", 4)
    allocation = services.participant_randomize(participant=ready_participant, user=hematologist)
    confirmed = services.allocation_confirm(
        allocation=allocation,
        user=hematologist,
        serial=" aar-a1n-001 ",
        arm=allocation.arm,
    )
    assert confirmed.is_confirmed and not confirmed.mismatch
    assert confirmed.confirmed_serial == "AAR-A1N-001"
    assert ProtocolDeviation.objects.count() == 0
    with pytest.raises(services.ServiceError, match="already been confirmed"):
        services.allocation_confirm(
            allocation=allocation, user=hematologist, serial="AAR-A1N-001", arm=allocation.arm
        )


def test_a_mismatch_is_a_protocol_deviation_and_the_coordinator_is_told(
    ready_participant, hematologist, world, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.TRIAL_COORDINATOR_EMAILS = ["trial-office@example.org"]
    make_batch(world.own, "A1N", 8)
    allocation = services.participant_randomize(participant=ready_participant, user=hematologist)
    second = Envelope.objects.get(serial="AAR-A1N-002")
    # The wrong envelope, and its card read as the other arm than the one generated.
    card = "pvp" if second.arm == "conservative" else "conservative"
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = services.allocation_confirm(
            allocation=allocation, user=hematologist, serial="AAR-A1N-002", arm=card
        )
    assert confirmed.mismatch
    # What the participant was told stands until the coordinator decides otherwise.
    assert confirmed.arm == card and confirmed.envelope == second
    kinds = sorted(ProtocolDeviation.objects.values_list("kind", flat=True))
    assert kinds == [DeviationKind.CARD_ARM_MISMATCH, DeviationKind.WRONG_ENVELOPE]
    deviation = ProtocolDeviation.objects.get(kind=DeviationKind.WRONG_ENVELOPE)
    assert deviation.participant == ready_participant
    assert deviation.named_envelope.serial == "AAR-A1N-001" and deviation.opened_envelope == second
    assert "AAR-A1N-001" in deviation.description and "AAR-A1N-002" in deviation.description
    subjects = [m.subject for m in mailoutbox]
    assert len(subjects) == 2 and all(ready_participant.trial_number in s for s in subjects)
    assert any("trial-office@example.org" in m.to for m in mailoutbox)


def test_randomisation_is_audited(ready_participant, hematologist, world):
    make_batch(world.own, "A1N", 4)
    allocation = services.participant_randomize(participant=ready_participant, user=hematologist)
    history = allocation.history.get()
    assert history.history_user == hematologist
    latest = ready_participant.history.order_by("-history_date").first()
    assert latest.status == ParticipantStatus.RANDOMISED
    assert "AAR-A1N-001" in latest.history_change_reason
