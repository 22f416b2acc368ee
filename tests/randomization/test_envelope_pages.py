"""The pages of envelope states: confirming another envelope, reporting a spoiled or missing
one, the coordinator's decision on a deviation, stock, batch and verification pages."""

from __future__ import annotations

from django.urls import reverse

from randomization.models import Allocation, Arm, Envelope, EnvelopeState, ProtocolDeviation
from randomization.strata import STRATA
from tests.conftest import verified_client
from tests.randomization.conftest import make_batch
from trial import access
from trial.models import Role, Site, SiteKind

S = EnvelopeState
REASON = "Torn open by mistake while unpacking"


def _other(arm: str) -> str:
    return Arm.PVP if arm == Arm.CONSERVATIVE else Arm.CONSERVATIVE


def _randomise_and_open_the_wrong_one(client, participant, *, still_sealed: bool):
    client.post(reverse("randomization:participant_randomise", args=[participant.trial_number]))
    third = Envelope.objects.get(serial="AAR-A1N-003")
    data = {"serial": "AAR-A1N-003", "arm": third.arm}
    if still_sealed:
        data["named_still_sealed"] = "on"
    return client.post(
        reverse("randomization:allocation_confirm", args=[participant.trial_number]), data
    )


def test_confirming_another_envelope_through_the_page(ready_participant, hematologist, world):
    make_batch(world.own, "A1N", 6)
    client = verified_client(hematologist)
    page = client.get(
        reverse("randomization:participant_randomise", args=[ready_participant.trial_number])
    ).content.decode()
    assert 'data-testid="envelope-report-link"' in page

    response = _randomise_and_open_the_wrong_one(client, ready_participant, still_sealed=True)
    assert response.status_code == 302
    states = dict(Envelope.objects.values_list("serial", "state"))
    assert states["AAR-A1N-001"] == S.SEALED and states["AAR-A1N-003"] == S.OPENED
    assert Allocation.objects.get().envelope.serial == "AAR-A1N-003"
    message = client.get(response["Location"]).content.decode()
    assert "protocol deviation" in message


def test_without_the_tick_the_named_envelope_is_spoiled(ready_participant, hematologist, world):
    make_batch(world.own, "A1N", 6)
    client = verified_client(hematologist)
    _randomise_and_open_the_wrong_one(client, ready_participant, still_sealed=False)
    assert Envelope.objects.get(serial="AAR-A1N-001").state == S.SPOILED


def test_an_unknown_serial_is_an_error_on_the_page_not_a_500(
    ready_participant, hematologist, world
):
    make_batch(world.own, "A1N", 4)
    client = verified_client(hematologist)
    client.post(
        reverse("randomization:participant_randomise", args=[ready_participant.trial_number])
    )
    response = client.post(
        reverse("randomization:allocation_confirm", args=[ready_participant.trial_number]),
        {"serial": "AAR-A1N-777", "arm": Arm.PVP},
    )
    assert response.status_code == 200
    assert "No envelope AAR-A1N-777 exists at this site" in response.content.decode()
    assert not Allocation.objects.get().is_confirmed


def test_site_staff_report_an_envelope_and_the_coordinator_sees_it(world, coordinator):
    make_batch(world.own, "A1N", 4)
    url = reverse("randomization:envelope_report")
    for role in (Role.HEMATOLOGIST, Role.NURSE):
        assert verified_client(world.users[role]).get(url).status_code == 200
    for role in (Role.SURGEON, Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR):
        assert verified_client(world.users[role]).get(url).status_code == 403
    nurse = verified_client(world.users[Role.NURSE])
    short = nurse.post(url, {"serial": "AAR-A1N-002", "state": S.MISSING, "reason": "gone"})
    assert short.status_code == 200 and "at least" in short.content.decode()
    response = nurse.post(url, {"serial": "AAR-A1N-002", "state": S.MISSING, "reason": REASON})
    assert response.status_code == 302
    assert Envelope.objects.get(serial="AAR-A1N-002").state == S.MISSING
    elsewhere = verified_client(world.outsider).post(
        url, {"serial": "AAR-A1N-003", "state": S.SPOILED, "reason": REASON}
    )
    assert elsewhere.status_code == 200 and "No envelope AAR-A1N-003" in elsewhere.content.decode()
    assert Envelope.objects.get(serial="AAR-A1N-003").state == S.SEALED

    page = verified_client(coordinator).get(reverse("randomization:deviations")).content.decode()
    assert 'data-testid="reported-AAR-A1N-002"' in page and REASON in page
    verification = verified_client(coordinator).get(reverse("randomization:verification"))
    assert 'data-testid="event-missing-AAR-A1N-002"' in verification.content.decode()


def test_the_coordinator_decides_the_arm_on_the_deviations_page(
    ready_participant, hematologist, coordinator, world
):
    make_batch(world.own, "A1N", 4)
    client = verified_client(hematologist)
    client.post(
        reverse("randomization:participant_randomise", args=[ready_participant.trial_number])
    )
    allocation = Allocation.objects.get()
    generated = allocation.envelope.arm
    client.post(
        reverse("randomization:allocation_confirm", args=[ready_participant.trial_number]),
        {"serial": "AAR-A1N-001", "arm": _other(generated)},
    )
    deviation = ProtocolDeviation.objects.get()
    url = reverse("randomization:deviations")
    boss = verified_client(coordinator)
    assert f'data-testid="decide-{deviation.pk}"' in boss.get(url).content.decode()
    decision = {"action": "decide", "deviation": deviation.pk, "arm": generated}
    for role in (Role.DATA_MANAGER, Role.MONITOR, Role.HEMATOLOGIST):
        response = verified_client(world.users[role]).post(url, {**decision, "reason": REASON})
        assert response.status_code == 403
        assert not access.can(world.users[role], "deviation_decide_arm")
    refused = boss.post(url, {**decision, "reason": "no"})
    assert refused.status_code == 200
    allocation.refresh_from_db()
    assert allocation.arm == _other(generated)
    response = boss.post(url, {**decision, "reason": REASON})
    assert response.status_code == 302
    allocation.refresh_from_db()
    assert allocation.arm == generated
    assert f'data-testid="decision-{deviation.pk}"' in boss.get(url).content.decode()


def test_stock_batch_and_verification_pages_follow_the_states(world, coordinator, hematologist):
    batch = make_batch(world.own, "A1N", 2)
    client = verified_client(coordinator)
    stock = client.get(reverse("randomization:envelopes")).content.decode()
    sites = Site.objects.filter(kind=SiteKind.HEMATOLOGY).count()
    # Every stratum of every site is empty but the one with the batch.
    assert stock.count(">empty<") == sites * len(STRATA) - 1
    verified_client(hematologist).post(
        reverse("randomization:envelope_report"),
        {"serial": "AAR-A1N-001", "state": S.SPOILED, "reason": REASON},
    )
    detail = client.get(reverse("randomization:batch_detail", args=[batch.pk])).content.decode()
    assert REASON in detail
    row = detail.split('data-testid="state-AAR-A1N-001"', 1)[1].split("</td>", 1)[0]
    assert "spoiled" in row
