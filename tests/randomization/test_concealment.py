"""An allocation taken but not yet confirmed shows its arm nowhere; confirmed, it shows.

The whole-site walk (every URL as every role) is tests/trial/test_concealment_walk.py; these
are the readers one by one, fast enough for the SQLite suite.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from randomization import selectors, services, verification
from randomization.dashboard import allocations, arm_balance
from randomization.exports import AllocationExporter, analysis_rows
from randomization.models import Allocation, Arm
from tests.conftest import verified_client
from tests.factories import allocate
from tests.randomization.conftest import make_batch, make_ready
from trial.models import Participant, Role
from trial.registry import allocation_revealed, revealed_allocation_q
from trial.treatment import selectors as tselectors
from trial.treatment import services as tservices


@pytest.fixture
def pending(world, hematologist):
    """A participant after "Randomise now", before the opened envelope is confirmed."""
    make_batch(world.own, "A1N", 4)
    participant = make_ready(world.own, hematologist)
    allocation = services.participant_randomize(participant=participant, user=hematologist)
    return Participant.objects.get(pk=participant.pk), allocation


def _confirm(allocation, user):
    return services.allocation_confirm(
        allocation=allocation, user=user, serial=allocation.envelope.serial, arm=allocation.arm
    )


def _label(arm) -> str:
    return str(Arm(arm).label)


def test_the_rule_has_one_answer_for_objects_queries_and_trial(pending, hematologist):
    participant, allocation = pending
    assert not selectors.allocation_revealed(allocation)
    assert not allocation_revealed(allocation)  # through trial.registry
    assert selectors.revealed_arm(allocation) is None
    assert not Participant.objects.filter(revealed_allocation_q("allocation__")).exists()
    _confirm(allocation, hematologist)
    allocation.refresh_from_db()
    assert selectors.allocation_revealed(allocation) and allocation_revealed(allocation)
    assert selectors.revealed_arm(allocation) == allocation.arm
    assert list(Participant.objects.filter(revealed_allocation_q("allocation__"))) == [participant]


def test_the_participant_page_names_no_arm_until_the_envelope_is_confirmed(
    pending, hematologist, world
):
    participant, allocation = pending
    for role in (Role.HEMATOLOGIST, Role.SURGEON, Role.NURSE, Role.COORDINATOR):
        page = verified_client(world.users[role]).get(participant.get_absolute_url())
        text = page.content.decode()
        assert page.status_code == 200
        assert 'data-testid="allocated-arm"' not in text  # the treatment panel waits
        assert 'data-testid="allocation-arm-concealed"' in text
        assert _label(Arm.PVP) not in text and _label(Arm.CONSERVATIVE) not in text
    _confirm(allocation, hematologist)
    text = verified_client(hematologist).get(participant.get_absolute_url()).content.decode()
    assert 'data-testid="allocated-arm"' in text
    assert _label(allocation.arm) in text


def test_treatment_refuses_without_naming_an_arm_while_pending(pending, hematologist):
    participant, allocation = pending
    assert tservices.allocated_arm(participant) is None
    refusals = {
        tservices.procedure_refusal(participant),
        tservices.usual_care_refusal(participant),
        tservices.crossover_refusal(participant),
    }
    assert len(refusals) == 1  # the same words whatever the arm
    assert "not confirmed yet" in refusals.pop()
    assert tselectors.as_treated_arm(participant) is None
    _confirm(allocation, hematologist)
    participant = Participant.objects.get(pk=participant.pk)
    assert tservices.allocated_arm(participant) == allocation.arm
    assert tselectors.as_treated_arm(participant) == "conservative"  # no procedure yet


def test_exports_counts_and_report_leave_a_pending_allocation_out(pending, hematologist):
    participant, allocation = pending
    assert list(AllocationExporter().rows()) == []
    assert [pid for pid, _ in analysis_rows()] == []
    assert participant.pk not in allocations()
    assert sum(row["total"] for row in arm_balance()) == 0
    assert verification.verification_report().total.total == 0
    _confirm(allocation, hematologist)
    rows = list(AllocationExporter().rows())
    assert len(rows) == 1 and allocation.arm in rows[0]
    assert [pid for pid, _ in analysis_rows()] == [participant.pk]
    assert allocations()[participant.pk]["arm"] == allocation.arm
    assert sum(row["total"] for row in arm_balance()) == 1
    assert verification.verification_report().total.total == 1


def test_the_audit_trail_masks_the_arm_until_confirmed(pending, hematologist, world):
    participant, allocation = pending
    history = reverse("trial:participant_history", args=[participant.trial_number])
    trail = reverse("trial:audit_log") + f"?participant={participant.trial_number}"
    coordinator = verified_client(world.users[Role.COORDINATOR])
    for client, url in ((verified_client(hematologist), history), (coordinator, trail)):
        text = client.get(url).content.decode()
        assert allocation.envelope.serial in text  # the allocation's row is there...
        assert "•••" in text  # ...with its arm masked
        assert _label(Arm.PVP) not in text and _label(Arm.CONSERVATIVE) not in text
    _confirm(allocation, hematologist)
    text = coordinator.get(trail).content.decode()
    assert _label(allocation.arm) in text


def test_the_trail_never_shows_the_arm_of_an_envelope_named_but_not_opened(world, hematologist):
    """The clinician opens another envelope than the one named, of the other arm, and says the
    named one is still sealed: it goes back into the box for the next patient, so the arm the
    allocation held before the confirmation (the named envelope's) is never shown, not even
    after the confirmation reveals the arm on the opened card."""
    from randomization.models import Envelope, EnvelopeState

    make_batch(world.own, "A1N", 8)
    participant = make_ready(world.own, hematologist)
    allocation = services.participant_randomize(participant=participant, user=hematologist)
    named = allocation.envelope
    opened = (
        Envelope.objects.filter(batch=named.batch, state=EnvelopeState.SEALED)
        .exclude(arm=named.arm)
        .order_by("sequence")
        .first()
    )
    services.allocation_confirm(
        allocation=allocation,
        user=hematologist,
        serial=opened.serial,
        arm=opened.arm,
        named_still_sealed=True,
    )
    named.refresh_from_db()
    assert named.state == EnvelopeState.SEALED
    coordinator = verified_client(world.users[Role.COORDINATOR])
    trail = reverse("trial:audit_log") + f"?participant={participant.trial_number}"
    history = reverse("trial:participant_history", args=[participant.trial_number])
    for client, url in ((coordinator, trail), (verified_client(hematologist), history)):
        text = client.get(url).content.decode()
        assert _label(opened.arm) in text  # the arm on the opened card, now revealed
        assert _label(named.arm) not in text, url  # never the re-sealed envelope's


def test_the_batch_page_shows_a_used_envelopes_arm_only_once_confirmed(
    pending, coordinator, hematologist
):
    _participant, allocation = pending
    client = verified_client(coordinator)
    url = reverse("randomization:batch_detail", args=[allocation.envelope.batch_id])
    rows = selectors.batch_overview(allocation.envelope.batch)
    assert rows[0]["used"] and rows[0]["arm_label"] == ""
    assert _label(allocation.arm) not in client.get(url).content.decode()
    _confirm(allocation, hematologist)
    assert _label(allocation.arm) in client.get(url).content.decode()


def test_the_timeline_says_the_arm_only_after_confirmation(pending, hematologist):
    from randomization.timeline import allocation_events

    participant, allocation = pending
    titles = [e.title for e in allocation_events(hematologist, participant)]
    assert not any(_label(arm) in t for t in titles for arm in Arm.values)
    _confirm(allocation, hematologist)
    titles = [e.title for e in allocation_events(hematologist, participant)]
    assert any(_label(allocation.arm) in t for t in titles)


def test_the_factory_can_leave_an_allocation_pending(world):
    participant = world.own_participant
    allocate(participant, participant.created_at, arm=Arm.PVP, confirmed=False)
    assert not selectors.allocation_revealed(Allocation.objects.get(participant=participant))
