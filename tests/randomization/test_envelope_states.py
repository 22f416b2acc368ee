"""Envelope states: the one state machine, the wrong-envelope journey, reports of spoiled and
missing envelopes, the coordinator's decision, and stock and verification following states."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from randomization import oversight, selectors, services, verification
from randomization.models import (
    Allocation,
    Arm,
    DeviationKind,
    Envelope,
    EnvelopeState,
    ProtocolDeviation,
)
from randomization.verification import EventKind
from tests.randomization.conftest import make_batch, make_ready
from trial.errors import ServiceError

S = EnvelopeState
REASON = "Dropped in the sink while opening the box"


def _other(arm: str) -> str:
    return Arm.PVP if arm == Arm.CONSERVATIVE else Arm.CONSERVATIVE


def _envelope(serial: str) -> Envelope:
    return Envelope.objects.get(serial=serial)


# --- the state machine ------------------------------------------------------------------


def _put_in(envelope: Envelope, state: str, participant) -> Envelope:
    """Bring a fresh envelope into ``state`` through allowed moves only."""
    path = {
        S.SEALED: [],
        S.ISSUED: [S.ISSUED],
        S.OPENED: [S.OPENED],
        S.SPOILED: [S.SPOILED],
        S.MISSING: [S.MISSING],
    }[state]
    for to in path:
        envelope = services.envelope_transition(
            envelope=envelope,
            to=to,
            user=None,
            reason="test set-up",
            participant=participant if to in (S.ISSUED, S.OPENED) else None,
            card_arm=envelope.arm if to == S.OPENED else "",
        )
    return envelope


@pytest.mark.parametrize("start", list(S))
@pytest.mark.parametrize("to", list(S))
def test_every_move_is_allowed_or_refused_as_the_table_says(world, hematologist, start, to):
    make_batch(world.own, "A1N", 2)
    participant = world.own_participant
    envelope = _put_in(_envelope("AAR-A1N-001"), start, participant)
    arguments = {
        "envelope": envelope,
        "to": to,
        "user": hematologist,
        "reason": "moved by the test",
        "participant": participant if to in (S.ISSUED, S.OPENED) else None,
        "card_arm": envelope.arm if to == S.OPENED else "",
    }
    if to in services.ENVELOPE_TRANSITIONS[start]:
        moved = services.envelope_transition(**arguments)
        moved.refresh_from_db()
        assert moved.state == to
        assert (moved.participant_id is not None) == (to in (S.ISSUED, S.OPENED))
        latest = moved.history.order_by("-history_id").first()
        assert latest.state == to and latest.history_user == hematologist
        assert latest.history_change_reason == "moved by the test"
    else:
        with pytest.raises(services.EnvelopeTransitionRefused):
            services.envelope_transition(**arguments)
        envelope.refresh_from_db()
        assert envelope.state == start


def test_opened_and_spoiled_are_final_and_sealed_can_go_anywhere_else():
    assert services.ENVELOPE_TRANSITIONS[S.OPENED] == frozenset()
    assert services.ENVELOPE_TRANSITIONS[S.SPOILED] == frozenset()
    assert services.ENVELOPE_TRANSITIONS[S.SEALED] == {S.ISSUED, S.OPENED, S.SPOILED, S.MISSING}


def test_the_envelope_history_never_holds_the_arm(world):
    make_batch(world.own, "A1N", 2)
    history_fields = {f.name for f in Envelope.history.model._meta.fields}
    assert "state" in history_fields and "arm" not in history_fields


def test_the_database_refuses_unknown_states_and_unheld_issued_envelopes(world, hematologist):
    make_batch(world.own, "A1N", 2)
    with pytest.raises(IntegrityError), transaction.atomic():
        Envelope.objects.filter(serial="AAR-A1N-001").update(state="lost")
    with pytest.raises(IntegrityError), transaction.atomic():
        Envelope.objects.filter(serial="AAR-A1N-001").update(state=S.ISSUED)
    participant = make_ready(world.own, hematologist)
    with pytest.raises(IntegrityError), transaction.atomic():
        Envelope.objects.filter(serial="AAR-A1N-001").update(
            participant=participant, used_at=participant.created_at
        )


# --- randomising and the stock ---------------------------------------------------------------


def test_randomising_names_the_next_sealed_envelope_skipping_every_other_state(world, hematologist):
    make_batch(world.own, "A1N", 8)
    first = services.participant_randomize(
        participant=make_ready(world.own, hematologist), user=hematologist
    )
    assert first.envelope.serial == "AAR-A1N-001" and first.envelope.state == S.ISSUED
    assert first.named_envelope == first.envelope
    services.envelope_report(
        user=hematologist, serial="aar-a1n-002", state=S.SPOILED, reason=REASON
    )
    services.envelope_report(
        user=hematologist, serial="AAR-A1N-003", state=S.MISSING, reason=REASON
    )
    assert selectors.sealed_envelopes_left(world.own, "A1N") == 5
    second = services.participant_randomize(
        participant=make_ready(world.own, hematologist), user=hematologist
    )
    assert second.envelope.serial == "AAR-A1N-004"
    assert selectors.sealed_envelopes_left(world.own, "A1N") == 4


def test_the_stock_counts_sealed_envelopes_and_flags_empty_strata(world, hematologist):
    make_batch(world.own, "A1N", 2)
    services.participant_randomize(
        participant=make_ready(world.own, hematologist), user=hematologist
    )
    services.envelope_report(
        user=hematologist, serial="AAR-A1N-002", state=S.MISSING, reason=REASON
    )
    rows = {
        row.site.code: {c["stratum"]: c for c in row.cells} for row in selectors.stock_overview()
    }
    a1n = rows["AAR"]["A1N"]
    assert a1n["remaining"] == 0 and a1n["issued"] == 2 and a1n["empty"]
    never = rows["AAR"]["B2Y"]
    assert never["remaining"] == 0 and never["issued"] == 0 and never["empty"]


# --- the wrong envelope -----------------------------------------------------------------------


def test_the_wrong_envelope_journey_with_the_named_one_still_sealed(world, hematologist):
    make_batch(world.own, "A1N", 8)
    first = make_ready(world.own, hematologist)
    allocation = services.participant_randomize(participant=first, user=hematologist)
    assert allocation.envelope.serial == "AAR-A1N-001"
    third = _envelope("AAR-A1N-003")

    confirmed = services.allocation_confirm(
        allocation=allocation,
        user=hematologist,
        serial="aar-a1n-003",
        arm=third.arm,
        named_still_sealed=True,
    )

    third.refresh_from_db()
    named = _envelope("AAR-A1N-001")
    assert third.state == S.OPENED and third.participant == first and third.card_arm == third.arm
    assert named.state == S.SEALED and named.participant is None and named.used_at is None
    assert confirmed.envelope == third and confirmed.named_envelope == named
    assert confirmed.arm == third.arm and confirmed.mismatch
    deviation = ProtocolDeviation.objects.get()
    assert deviation.kind == DeviationKind.WRONG_ENVELOPE
    assert (deviation.named_envelope, deviation.opened_envelope) == (named, third)
    # The named envelope is sealed again: no arm may be written in the deviation.
    assert not [label for label in Arm.labels if str(label) in deviation.description]
    # Each state change is audited with who and why.
    reasons = list(
        named.history.order_by("history_id").values_list("history_change_reason", flat=True)
    )
    assert reasons[-1].startswith(f"named for {first.trial_number}; AAR-A1N-003 was opened")
    assert selectors.sealed_envelopes_left(world.own, "A1N") == 7

    # The next participant of the stratum is named the envelope put back, never 003.
    second = make_ready(world.own, hematologist)
    following = services.participant_randomize(participant=second, user=hematologist)
    assert following.envelope.serial == "AAR-A1N-001"
    services.allocation_confirm(
        allocation=following, user=hematologist, serial="AAR-A1N-001", arm=named.arm
    )
    third_patient = services.participant_randomize(
        participant=make_ready(world.own, hematologist), user=hematologist
    )
    assert third_patient.envelope.serial == "AAR-A1N-002"

    report = verification.verification_report()
    [event] = report.events_of(EventKind.OUT_OF_ORDER)
    assert event.serial == "AAR-A1N-003" and first.trial_number in event.detail
    assert "AAR-A1N-001" in event.detail
    assert report.stream_problems == []  # the event explains it; nothing else is wrong
    # The balance shows arms, so only the two confirmed allocations count; the third
    # participant's envelope is issued but not yet confirmed, its arm still concealed.
    assert report.total.total == 2

    rows = {r["serial"]: r for r in selectors.batch_overview(third.batch)}
    assert rows["AAR-A1N-003"]["state"] == S.OPENED
    assert any("out of order" in n and "AAR-A1N-001" in n for n in rows["AAR-A1N-003"]["notes"])
    assert any("AAR-A1N-003" in n for n in rows["AAR-A1N-001"]["notes"])
    assert rows["AAR-A1N-002"]["state"] == S.ISSUED and rows["AAR-A1N-002"]["arm_label"] == ""


def test_a_named_envelope_not_confirmed_sealed_is_spoiled_and_skipped(world, hematologist):
    make_batch(world.own, "A1N", 6)
    allocation = services.participant_randomize(
        participant=make_ready(world.own, hematologist), user=hematologist
    )
    second = _envelope("AAR-A1N-002")
    services.allocation_confirm(
        allocation=allocation, user=hematologist, serial="AAR-A1N-002", arm=second.arm
    )
    named = _envelope("AAR-A1N-001")
    assert named.state == S.SPOILED and named.participant is None
    following = services.participant_randomize(
        participant=make_ready(world.own, hematologist), user=hematologist
    )
    assert following.envelope.serial == "AAR-A1N-003"
    report = verification.verification_report()
    assert [e.serial for e in report.events_of(EventKind.SPOILED)] == ["AAR-A1N-001"]
    assert [e.serial for e in report.events_of(EventKind.OUT_OF_ORDER)] == ["AAR-A1N-002"]
    assert not report.ok
    assert selectors.envelopes_reported().get() == named


@pytest.mark.parametrize(
    ("serial", "message"),
    [
        ("AAR-A1N-099", "No envelope AAR-A1N-099 exists at this site"),
        ("ODE-A1N-002", "No envelope ODE-A1N-002 exists at this site"),
        ("AAR-A1N-002", "recorded as opened"),
    ],
)
def test_an_envelope_that_cannot_have_been_opened_is_refused_and_nothing_changes(
    world, hematologist, serial, message
):
    make_batch(world.own, "A1N", 4)
    make_batch(world.other, "A1N", 4)
    earlier = services.participant_randomize(
        participant=make_ready(world.own, hematologist), user=hematologist
    )
    services.allocation_confirm(
        allocation=earlier,
        user=hematologist,
        serial="AAR-A1N-002",
        arm=_envelope("AAR-A1N-002").arm,
        named_still_sealed=True,
    )
    allocation = services.participant_randomize(
        participant=make_ready(world.own, hematologist), user=hematologist
    )
    assert allocation.envelope.serial == "AAR-A1N-001"
    before = dict(Envelope.objects.values_list("serial", "state"))
    with pytest.raises(ServiceError, match=message):
        services.allocation_confirm(
            allocation=allocation, user=hematologist, serial=serial, arm=Arm.PVP
        )
    assert dict(Envelope.objects.values_list("serial", "state")) == before
    assert not Allocation.objects.get(pk=allocation.pk).is_confirmed


# --- the card's arm and the coordinator's decision ----------------------------------------------


def test_a_card_read_with_the_other_arm_is_a_flagged_deviation_until_the_coordinator_decides(
    world, hematologist, coordinator
):
    make_batch(world.own, "A1N", 4)
    participant = make_ready(world.own, hematologist)
    allocation = services.participant_randomize(participant=participant, user=hematologist)
    envelope = allocation.envelope
    card = _other(envelope.arm)
    confirmed = services.allocation_confirm(
        allocation=allocation, user=hematologist, serial=envelope.serial, arm=card
    )
    assert confirmed.arm == card and confirmed.mismatch
    deviation = ProtocolDeviation.objects.get()
    assert deviation.kind == DeviationKind.CARD_ARM_MISMATCH
    report = verification.verification_report()
    [event] = report.events_of(EventKind.CARD_ARM)
    assert event.serial == envelope.serial
    assert report.stream_problems == []
    counted = next(b for b in report.by_site if b.label == "AAR")
    assert (counted.pvp, counted.conservative) == ((1, 0) if card == Arm.PVP else (0, 1))

    with pytest.raises(ServiceError, match="reason"):
        oversight.deviation_decide_arm(
            deviation=deviation, user=coordinator, arm=envelope.arm, reason="ok"
        )
    decided = oversight.deviation_decide_arm(
        deviation=deviation,
        user=coordinator,
        arm=envelope.arm,
        reason="Card misprinted; the generated list was checked",
    )
    assert decided.arm == envelope.arm
    latest = decided.history.order_by("-history_id").first()
    assert latest.history_user == coordinator
    assert "Card misprinted" in latest.history_change_reason
    deviation.refresh_from_db()
    assert deviation.decided_arm == envelope.arm and deviation.decided_by == coordinator
    with pytest.raises(ServiceError, match="already been decided"):
        oversight.deviation_decide_arm(
            deviation=deviation, user=coordinator, arm=card, reason="Changed my mind again"
        )
    report = verification.verification_report()
    assert report.stream_problems == []
    counted = next(b for b in report.by_site if b.label == "AAR")
    assert (counted.pvp, counted.conservative) == ((1, 0) if envelope.arm == Arm.PVP else (0, 1))


def test_an_allocation_changed_behind_the_services_back_is_caught(world, hematologist):
    make_batch(world.own, "A1N", 2)
    allocation = services.participant_randomize(
        participant=make_ready(world.own, hematologist), user=hematologist
    )
    services.allocation_confirm(
        allocation=allocation, user=hematologist, serial="AAR-A1N-001", arm=allocation.arm
    )
    Allocation.objects.filter(pk=allocation.pk).update(arm=_other(allocation.arm))
    report = verification.verification_report()
    assert any("neither the arm on its card" in p for p in report.stream_problems)


# --- reports of spoiled and missing envelopes ----------------------------------------------------


def test_site_staff_report_spoiled_and_missing_envelopes_of_their_own_site_only(
    world, hematologist
):
    make_batch(world.own, "A1N", 4)
    make_batch(world.other, "A1N", 4)
    spoiled = services.envelope_report(
        user=hematologist, serial=" aar-a1n-003 ", state=S.SPOILED, reason=REASON
    )
    assert spoiled.state == S.SPOILED and spoiled.state_changed_by == hematologist
    assert spoiled.state_reason == REASON
    latest = spoiled.history.order_by("-history_id").first()
    assert latest.history_change_reason == REASON and latest.history_user == hematologist

    with pytest.raises(ServiceError, match="at least"):
        services.envelope_report(
            user=hematologist, serial="AAR-A1N-004", state=S.MISSING, reason="lost"
        )
    with pytest.raises(ServiceError, match="No envelope ODE-A1N-001"):
        services.envelope_report(
            user=hematologist, serial="ODE-A1N-001", state=S.MISSING, reason=REASON
        )
    with pytest.raises(ServiceError, match="spoiled or missing"):
        services.envelope_report(
            user=hematologist, serial="AAR-A1N-004", state=S.OPENED, reason=REASON
        )
    with pytest.raises(services.EnvelopeTransitionRefused):
        services.envelope_report(
            user=hematologist, serial="AAR-A1N-003", state=S.MISSING, reason=REASON
        )
    # An envelope named for a participant is settled by confirming it, not by a report.
    services.participant_randomize(
        participant=make_ready(world.own, hematologist), user=hematologist
    )
    with pytest.raises(ServiceError, match="named for a participant"):
        services.envelope_report(
            user=hematologist, serial="AAR-A1N-001", state=S.SPOILED, reason=REASON
        )
    assert Envelope.objects.get(serial="ODE-A1N-001").state == S.SEALED
    report = verification.verification_report()
    assert [e.serial for e in report.events_of(EventKind.SPOILED)] == ["AAR-A1N-003"]
