"""The pages: randomise and confirm, batches, PDFs, and above all concealment."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse

from randomization.models import (
    Allocation,
    AllocationListView,
    Arm,
    BatchPrint,
    EnvelopeBatch,
    ProtocolDeviation,
)
from randomization.pdf import LABELS_PER_SHEET
from tests.conftest import verified_client
from tests.randomization.conftest import make_batch, make_ready
from trial import access_matrix
from trial.models import Role


def _arm_labels() -> list[str]:
    from django.utils import translation

    labels = []
    for language in ("en", "da"):
        with translation.override(language):
            labels += [str(label) for label in Arm.labels]
    return labels


# Both languages: concealment must hold whichever the page is rendered in.
ARM_LABELS = _arm_labels()


def _randomise(client, participant):
    return client.post(
        reverse("randomization:participant_randomise", args=[participant.trial_number])
    )


def test_a_hematologist_randomises_and_confirms_through_the_pages(
    ready_participant, hematologist, world
):
    make_batch(world.own, "A1N", 4)
    client = verified_client(hematologist)
    detail = client.get(ready_participant.get_absolute_url())
    assert b'data-testid="randomise"' in detail.content
    assert "A1N" in detail.content.decode()  # the computed stratum is shown first

    page = client.get(
        reverse("randomization:participant_randomise", args=[ready_participant.trial_number])
    )
    assert page.status_code == 200 and b"randomise-submit" in page.content

    response = _randomise(client, ready_participant)
    confirm_url = reverse("randomization:allocation_confirm", args=[ready_participant.trial_number])
    assert response.status_code == 302 and response["Location"] == confirm_url
    page = client.get(confirm_url).content.decode()
    assert "AAR-A1N-001" in page
    allocation = Allocation.objects.get()
    # The page says which envelope to open, not what is in it (the arms are only the choices).
    assert str(allocation.get_arm_display()) not in _without_choices(page)

    response = client.post(confirm_url, {"serial": "AAR-A1N-001", "arm": allocation.arm})
    assert response.status_code == 302
    allocation.refresh_from_db()
    assert allocation.is_confirmed and not allocation.mismatch
    detail = client.get(ready_participant.get_absolute_url()).content.decode()
    assert str(allocation.get_arm_display()) in detail
    assert "Randomised: envelope AAR-A1N-001" in detail or "AAR-A1N-001" in detail


def test_a_mismatch_through_the_page_is_recorded(ready_participant, hematologist, world):
    make_batch(world.own, "A1N", 4)
    client = verified_client(hematologist)
    _randomise(client, ready_participant)
    allocation = Allocation.objects.get()
    wrong = Arm.PVP if allocation.arm == Arm.CONSERVATIVE else Arm.CONSERVATIVE
    client.post(
        reverse("randomization:allocation_confirm", args=[ready_participant.trial_number]),
        {"serial": "AAR-A1N-001", "arm": wrong},
    )
    assert ProtocolDeviation.objects.filter(participant=ready_participant).exists()


def test_a_refusal_is_shown_as_a_message(world, hematologist):
    participant = make_ready(world.own, hematologist)  # but no envelopes
    client = verified_client(hematologist)
    response = _randomise(client, participant)
    page = client.get(response["Location"]).content.decode()
    assert "No envelopes are left" in page
    assert not Allocation.objects.exists()


def test_the_randomise_page_lists_what_is_missing(world, hematologist):
    client = verified_client(hematologist)
    page = client.get(
        reverse("randomization:participant_randomise", args=[world.own_participant.trial_number])
    ).content.decode()
    assert "randomise-problems" in page and "randomise-submit" not in page


def test_another_sites_hematologist_gets_404(ready_participant, world):
    make_batch(world.own, "A1N", 4)
    outsider = verified_client(world.outsider)
    url = reverse("randomization:participant_randomise", args=[ready_participant.trial_number])
    assert outsider.post(url).status_code == 404
    assert not Allocation.objects.exists()


def test_the_coordinator_generates_a_batch_through_the_page(world, coordinator):
    client = verified_client(coordinator)
    response = client.post(
        reverse("randomization:batch_create"),
        {"site": world.own.pk, "stratum": "B1Y", "count": 12, "block_sizes": "2, 4", "note": "x"},
    )
    batch = EnvelopeBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("randomization:batch_detail", args=[batch.pk])
    assert batch.created_by == coordinator and batch.size == 12
    assert batch.history.get().history_user == coordinator


def _without_choices(body: str) -> str:
    """The page without the confirmation form's radio buttons, which list both arms."""
    return re.sub(r"<fieldset.*?</fieldset>", "", body, flags=re.S)


def _bodies_for_every_role(world, urls):
    users = [*world.users.values(), world.outsider]
    for user in users:
        client = verified_client(user)
        for url in urls:
            response = client.get(url)
            if response.status_code == 200 and response.get("Content-Type", "").startswith(
                "text/html"
            ):
                yield user, url, response.content.decode()


def test_no_page_shows_the_arm_of_an_unused_envelope_to_anyone_but_the_allocation_list(
    world, hematologist
):
    """Every randomisation page, as every role: no unused envelope appears with an arm."""
    batch = make_batch(world.own, "A1N", 6)
    participant = make_ready(world.own, hematologist)
    client = verified_client(hematologist)
    _randomise(client, participant)  # one used, unconfirmed envelope; five unused
    unused = list(batch.envelopes.filter(participant__isnull=True).values_list("serial", flat=True))
    urls = [
        reverse("home"),
        reverse("randomization:envelopes"),
        reverse("randomization:batch_detail", args=[batch.pk]),
        reverse("randomization:verification"),
        reverse("randomization:participant_randomise", args=[participant.trial_number]),
        reverse("randomization:allocation_confirm", args=[participant.trial_number]),
        participant.get_absolute_url(),
        reverse("trial:participant_history", args=[participant.trial_number]),
        reverse("trial:audit_log"),
    ]
    checked = 0
    for user, url, body in _bodies_for_every_role(world, urls):
        checked += 1
        text = re.sub(r"\s+", " ", _without_choices(body))
        for serial in unused:
            for match in re.finditer(re.escape(serial), text):
                # The envelope's own row or line: up to the end of its table row.
                rest = text[match.end() : match.end() + 200]
                window = rest.split("</tr>", 1)[0]
                for label in ARM_LABELS:
                    assert label not in window, (user.username, url, serial, label)
        if user.role in (Role.HEMATOLOGIST, Role.SURGEON, Role.NURSE) and "/history/" not in url:
            for label in ARM_LABELS:
                # Before confirmation not even the used envelope's arm is on a page (its audit
                # history records the allocation, which is no longer concealed).
                assert label not in text, (user.username, url, label)
    assert checked > 20


def test_site_roles_and_the_monitor_cannot_open_batches_or_print(world):
    batch = make_batch(world.own, "A1N", 4)
    for role in (Role.HEMATOLOGIST, Role.SURGEON, Role.NURSE, Role.MONITOR):
        client = verified_client(world.users[role])
        assert client.get(reverse("randomization:batch_pdf", args=[batch.pk])).status_code == 403
        assert client.post(reverse("randomization:batch_pdf", args=[batch.pk])).status_code == 403
        assert client.get(reverse("randomization:allocation_list")).status_code == 403
        assert client.get(reverse("randomization:allocation_list_csv")).status_code == 403
    for role in (Role.HEMATOLOGIST, Role.SURGEON, Role.NURSE):
        client = verified_client(world.users[role])
        assert client.get(reverse("randomization:batch_detail", args=[batch.pk])).status_code == 403
        assert client.get(reverse("randomization:envelopes")).status_code == 403
    assert not BatchPrint.objects.exists()


def test_the_allocation_list_is_for_data_managers_and_each_view_is_logged(world):
    make_batch(world.own, "A1N", 4)
    url = reverse("randomization:allocation_list")
    assert verified_client(world.users[Role.COORDINATOR]).get(url).status_code == 403
    manager = world.users[Role.DATA_MANAGER]
    client = verified_client(manager)
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200
        body = response.content.decode()
        assert "AAR-A1N-001" in body and any(label in body for label in ARM_LABELS)
    assert AllocationListView.objects.filter(user=manager).count() == 2


def test_the_coordinator_sees_the_allocation_list_when_the_trial_allows(
    world, settings, monkeypatch
):
    url = reverse("randomization:allocation_list")
    coordinator = world.users[Role.COORDINATOR]
    rule = access_matrix.MATRIX["randomization:allocation_list"]
    widened = access_matrix.Rule(
        kind=rule.kind, roles=rule.roles | {Role.COORDINATOR}, description=rule.description
    )
    monkeypatch.setitem(access_matrix.MATRIX, "randomization:allocation_list", widened)
    settings.RANDOMISATION_COORDINATOR_SEES_ALLOCATIONS = False
    assert verified_client(coordinator).get(url).status_code == 403  # the view checks too
    settings.RANDOMISATION_COORDINATOR_SEES_ALLOCATIONS = True
    assert verified_client(coordinator).get(url).status_code == 200
    assert AllocationListView.objects.filter(user=coordinator).count() == 1


def _prepare_pdf(client, batch, capture):
    with capture(execute=True):
        response = client.post(reverse("randomization:batch_pdf", args=[batch.pk]))
    assert response.status_code == 302
    return BatchPrint.objects.filter(batch=batch).latest("printed_at")


def test_the_batch_pdf_is_rendered_in_the_background_and_logged(
    world, coordinator, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.RANDOMISATION_PDF_ROOT = tmp_path
    batch = make_batch(world.own, "A1N", 4)
    client = verified_client(coordinator)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("randomization:batch_pdf", args=[batch.pk]))
    record = BatchPrint.objects.get(batch=batch, user=coordinator)
    assert record.status == "pending" and len(callbacks) == 1  # nothing rendered in the request
    page = client.get(reverse("randomization:batch_detail", args=[batch.pk])).content.decode()
    assert 'data-testid="batch-pdf"' not in page
    callbacks[0]()
    record.refresh_from_db()
    assert record.status == "ready" and record.finished_at
    assert (tmp_path / record.file_name).read_bytes().startswith(b"%PDF")
    from randomization import printing

    assert printing.batch_print_render(print_id=record.pk) is False  # a second run: no-op
    page = client.get(reverse("randomization:batch_detail", args=[batch.pk])).content.decode()
    assert f"?print={record.pk}" in page
    for role in (Role.DATA_MANAGER, Role.MONITOR, Role.HEMATOLOGIST):
        other = verified_client(world.users[role])
        url = reverse("randomization:batch_pdf", args=[batch.pk]) + f"?print={record.pk}"
        assert other.get(url).status_code == 403, role


def test_the_batch_pdf_has_one_insert_per_envelope_and_label_sheets(
    world, coordinator, tmp_path, settings, django_capture_on_commit_callbacks
):
    import weasyprint  # noqa: F401 - the renderer must be installed

    settings.RANDOMISATION_PDF_ROOT = tmp_path / "store"
    batch = make_batch(world.own, "A1N", 30)
    client = verified_client(coordinator)
    record = _prepare_pdf(client, batch, django_capture_on_commit_callbacks)
    response = client.get(
        reverse("randomization:batch_pdf", args=[batch.pk]) + f"?print={record.pk}"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert content.startswith(b"%PDF")
    record.refresh_from_db()
    assert record.download_count == 1
    path = Path(tmp_path) / "batch.pdf"
    path.write_bytes(content)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))
    sheets = -(-30 // LABELS_PER_SHEET)
    assert pages == 30 + sheets
    assert BatchPrint.objects.filter(batch=batch, user=coordinator).count() == 1
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=False
    )
    if text.returncode == 0:
        first_page = text.stdout.split("\f")[0]
        envelope = batch.envelopes.get(sequence=1)
        assert "AAR-A1N-001" in first_page
        assert str(envelope.get_arm_display()) in first_page
        labels = text.stdout.split("\f")[30]
        assert "AAR-A1N-001" in labels and "AAR-A1N-024" in labels
        assert not any(label in labels for label in ARM_LABELS)


def test_the_verification_pdf_renders(world):
    make_batch(world.own, "A1N", 4)
    response = verified_client(world.users[Role.DATA_MANAGER]).get(
        reverse("randomization:verification_pdf")
    )
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR])
def test_central_roles_see_stock_and_verification(world, role):
    make_batch(world.own, "A1N", 4)
    client = verified_client(world.users[role])
    page = client.get(reverse("randomization:envelopes")).content.decode()
    assert 'data-testid="stock"' in page
    assert client.get(reverse("randomization:verification")).status_code == 200
