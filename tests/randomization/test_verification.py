"""The verification report: sound data pass, tampered data are caught."""

from __future__ import annotations

from django.utils import timezone

from randomization import services
from randomization.models import Allocation, Envelope
from randomization.verification import EventKind, verification_report
from tests.randomization.conftest import make_batch, make_ready


def test_sound_batches_pass_and_arms_are_counted(world, hematologist):
    make_batch(world.own, "A1N", 6)
    make_batch(world.own, "A1N", 6, seed=2)
    make_batch(world.other, "B1N", 4)
    allocations = [
        services.participant_randomize(
            participant=make_ready(world.own, hematologist), user=hematologist
        )
        for _ in range(4)
    ]
    for allocation in allocations[:3]:
        services.allocation_confirm(
            allocation=allocation,
            user=hematologist,
            serial=allocation.envelope.serial,
            arm=allocation.arm,
        )
    report = verification_report()
    assert report.ok, (report.stream_problems, [b.problems for b in report.batches])
    # The fourth envelope is taken but not confirmed: checked, but its arm is not counted.
    assert report.total.total == 3
    a1n = next(b for b in report.by_stratum if b.label.startswith("A1N"))
    assert a1n.total == 3
    assert [b.label for b in report.by_site] == ["AAR"]


def test_an_envelope_used_out_of_order_is_reported(world, hematologist):
    make_batch(world.own, "A1N", 6)
    participant = make_ready(world.own, hematologist)
    services.participant_randomize(participant=participant, user=hematologist)
    # Tamper: move the allocation from envelope 001 to 003, skipping 001 and 002.
    allocation = Allocation.objects.get()
    # No recorded event explains it: the allocation also claims 003 was the envelope named.
    Envelope.objects.filter(serial="AAR-A1N-001").update(
        participant=None, used_at=None, state="sealed"
    )
    third = Envelope.objects.get(serial="AAR-A1N-003")
    Envelope.objects.filter(pk=third.pk).update(
        participant=participant, used_at=timezone.now(), state="issued"
    )
    Allocation.objects.filter(pk=allocation.pk).update(
        envelope=third, named_envelope=third, arm=third.arm
    )
    report = verification_report()
    assert not report.ok
    assert any("out of order" in p and "AAR-A1N-003" in p for p in report.stream_problems)


def test_a_gap_in_the_serials_is_reported(world):
    batch = make_batch(world.own, "A1N", 6)
    Envelope.objects.filter(serial="AAR-A1N-004").delete()
    report = verification_report()
    assert not report.ok
    [gap] = report.events_of(EventKind.GAP)
    assert gap.serial == "AAR-A1N-004" and gap.batch_id == batch.pk
    check = next(b for b in report.batches if b.batch == batch)
    assert any("4" in p for p in check.problems)


def test_an_unbalanced_block_is_reported(world):
    make_batch(world.own, "A1N", 8, block_sizes=(4,))
    block = list(Envelope.objects.filter(block_number=1).order_by("sequence"))
    Envelope.objects.filter(pk__in=[e.pk for e in block]).update(arm="pvp")
    report = verification_report()
    assert not report.ok
    assert any("Block 1" in p for b in report.batches for p in b.problems)


def test_an_envelope_used_without_an_allocation_is_reported(world, hematologist):
    make_batch(world.own, "A1N", 4)
    participant = make_ready(world.own, hematologist)
    Envelope.objects.filter(serial="AAR-A1N-001").update(
        participant=participant, used_at=timezone.now(), state="issued"
    )
    report = verification_report()
    assert any("no allocation" in p for p in report.stream_problems)
