"""Protocol deviations the coordinator acknowledges, and the allocation list as CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from randomization import oversight, services
from randomization.models import Allocation, AllocationListView, Arm, ProtocolDeviation
from tests.conftest import verified_client
from tests.randomization.conftest import make_batch, make_ready
from trial import access_matrix
from trial.errors import ServiceError
from trial.models import Role


def _deviation(world, hematologist) -> ProtocolDeviation:
    participant = make_ready(world.own, hematologist)
    if not ProtocolDeviation.objects.exists():
        make_batch(world.own, "A1N", 8)
    allocation = services.participant_randomize(participant=participant, user=hematologist)
    wrong = Arm.PVP if allocation.arm == Arm.CONSERVATIVE else Arm.CONSERVATIVE
    services.allocation_confirm(
        allocation=allocation, user=hematologist, serial=allocation.envelope.serial, arm=wrong
    )
    return ProtocolDeviation.objects.get(participant=participant)


def test_the_coordinator_acknowledges_a_deviation_with_a_note(world, hematologist, coordinator):
    deviation = _deviation(world, hematologist)
    client = verified_client(coordinator)
    url = reverse("randomization:deviations")
    page = client.get(url).content.decode()
    assert deviation.participant.trial_number in page
    assert f'data-testid="acknowledge-{deviation.pk}"' in page

    response = client.post(url, {"deviation": deviation.pk, "note": "Site called; retrained."})
    assert response.status_code == 302
    deviation.refresh_from_db()
    assert deviation.acknowledged_by == coordinator and deviation.acknowledged_at
    assert deviation.acknowledgement_note == "Site called; retrained."
    latest = deviation.history.order_by("-history_date").first()
    assert latest.history_user == coordinator
    assert latest.history_change_reason == "acknowledged by the coordinator"
    assert latest.acknowledgement_note == "Site called; retrained."
    page = client.get(url).content.decode()
    assert f'data-testid="acknowledge-{deviation.pk}"' not in page
    assert "Site called; retrained." in page


def test_an_acknowledgement_needs_a_note_and_happens_once(world, hematologist, coordinator):
    deviation = _deviation(world, hematologist)
    client = verified_client(coordinator)
    url = reverse("randomization:deviations")
    response = client.post(url, {"deviation": deviation.pk, "note": "  "})
    assert response.status_code == 200
    deviation.refresh_from_db()
    assert deviation.acknowledged_at is None
    with pytest.raises(ServiceError):
        oversight.deviation_acknowledge(deviation=deviation, user=coordinator, note="")
    oversight.deviation_acknowledge(deviation=deviation, user=coordinator, note="done")
    with pytest.raises(ServiceError):
        oversight.deviation_acknowledge(deviation=deviation, user=coordinator, note="again")


def test_unacknowledged_deviations_come_first(world, hematologist, coordinator):
    first = _deviation(world, hematologist)
    second = _deviation(world, hematologist)
    oversight.deviation_acknowledge(deviation=second, user=coordinator, note="seen")
    third = _deviation(world, hematologist)
    page = verified_client(coordinator).get(reverse("randomization:deviations")).content.decode()
    positions = [page.index(f'data-testid="deviation-{d.pk}"') for d in (third, first, second)]
    assert positions == sorted(positions)


@pytest.mark.parametrize("role", [Role.DATA_MANAGER, Role.MONITOR])
def test_data_managers_and_monitors_read_deviations_but_cannot_acknowledge(
    world, hematologist, role
):
    deviation = _deviation(world, hematologist)
    client = verified_client(world.users[role])
    url = reverse("randomization:deviations")
    page = client.get(url).content.decode()
    assert deviation.participant.trial_number in page
    assert "acknowledge-" not in page
    response = client.post(url, {"deviation": deviation.pk, "note": "x"})
    assert response.status_code == 403
    deviation.refresh_from_db()
    assert deviation.acknowledged_at is None


def test_site_roles_cannot_open_the_deviation_list(world):
    for role in (Role.HEMATOLOGIST, Role.SURGEON, Role.NURSE):
        client = verified_client(world.users[role])
        assert client.get(reverse("randomization:deviations")).status_code == 403


def test_the_deviation_list_is_in_the_coordinators_navigation(world, coordinator):
    page = verified_client(coordinator).get(reverse("home")).content.decode()
    assert reverse("randomization:deviations") in page


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_the_data_manager_downloads_the_allocation_list_and_each_download_is_logged(
    world, hematologist
):
    batch = make_batch(world.own, "A1N", 6)
    participant = make_ready(world.own, hematologist)
    services.participant_randomize(participant=participant, user=hematologist)
    manager = world.users[Role.DATA_MANAGER]
    client = verified_client(manager)
    url = reverse("randomization:allocation_list_csv")
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert response["Cache-Control"] == "no-store"
        rows = _csv(response)
    assert [r["serial"] for r in rows] == list(
        batch.envelopes.order_by("sequence").values_list("serial", flat=True)
    )
    envelopes = {e.serial: e for e in batch.envelopes.all()}
    assert all(r["arm"] == envelopes[r["serial"]].arm for r in rows)
    used = Allocation.objects.get().envelope.serial
    assert next(r for r in rows if r["serial"] == used)["participant"] == participant.trial_number
    assert [r["state"] for r in rows] == ["issued"] + ["sealed"] * 5
    assert AllocationListView.objects.filter(user=manager, what__contains=".csv").count() == 2
    page = client.get(reverse("randomization:allocation_list")).content.decode()
    assert url in page


def test_no_site_role_coordinator_or_monitor_gets_the_allocation_csv(world):
    batch = make_batch(world.own, "A1N", 4)
    serials = [e.serial.encode() for e in batch.envelopes.all()]
    url = reverse("randomization:allocation_list_csv")
    for role in (Role.HEMATOLOGIST, Role.SURGEON, Role.NURSE, Role.MONITOR, Role.COORDINATOR):
        response = verified_client(world.users[role]).get(url)
        assert response.status_code == 403, role
        # Not a search for "pvp": the page's random CSP nonce once contained those letters.
        assert response["Content-Type"].startswith("text/html")
        assert not any(serial in response.content for serial in serials)
    assert not AllocationListView.objects.exists()


def test_the_coordinator_downloads_the_csv_when_the_trial_allows(world, settings, monkeypatch):
    make_batch(world.own, "A1N", 4)
    url = reverse("randomization:allocation_list_csv")
    coordinator = world.users[Role.COORDINATOR]
    rule = access_matrix.MATRIX["randomization:allocation_list_csv"]
    widened = access_matrix.Rule(
        kind=rule.kind, roles=rule.roles | {Role.COORDINATOR}, description=rule.description
    )
    monkeypatch.setitem(access_matrix.MATRIX, "randomization:allocation_list_csv", widened)
    settings.RANDOMISATION_COORDINATOR_SEES_ALLOCATIONS = False
    assert verified_client(coordinator).get(url).status_code == 403  # the view checks too
    settings.RANDOMISATION_COORDINATOR_SEES_ALLOCATIONS = True
    response = verified_client(coordinator).get(url)
    assert response.status_code == 200 and len(_csv(response)) == 4
    assert AllocationListView.objects.filter(user=coordinator).count() == 1


def test_the_setting_alone_opens_the_csv_to_the_coordinator(world, settings):
    make_batch(world.own, "A1N", 4)
    settings.RANDOMISATION_COORDINATOR_SEES_ALLOCATIONS = True
    response = verified_client(world.users[Role.COORDINATOR]).get(
        reverse("randomization:allocation_list_csv")
    )
    assert response.status_code == 200
