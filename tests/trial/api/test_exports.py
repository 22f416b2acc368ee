"""/api/v1/exports/: start a registered export, poll its progress, download it, as the export
page does, with the page's permissions (scope "export"; identified files to data managers)."""

import io
import zipfile

import pytest
from django.urls import reverse

from tests.conftest import verified_client
from tests.trial.api.conftest import token_client
from trial.exports.models import ExportRun
from trial.models import Role

URL = "/api/v1/exports/"


def _start(client, captured, **data):
    with captured(execute=True):
        return client.post(URL, data or {"exporter": "full", "format": "csv"}, "application/json")


def _bytes(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_coordinator_starts_polls_and_downloads_the_pages_file(
    world, django_capture_on_commit_callbacks
):
    coordinator = world.users[Role.COORDINATOR]
    client = token_client(coordinator, scopes=["export"])
    started = _start(client, django_capture_on_commit_callbacks)
    assert started.status_code == 202, started.content
    run = ExportRun.objects.get()
    assert started.json()["id"] == str(run.id) and run.requested_by == coordinator
    polled = client.get(f"{URL}{run.id}/").json()
    assert (polled["status"], polled["progress"]) == ("done", 100)
    assert polled["download"].endswith(f"/api/v1/exports/{run.id}/download/")
    download = client.get(polled["download"])
    assert download.status_code == 200
    body = _bytes(download)
    assert zipfile.ZipFile(io.BytesIO(body)).namelist()
    page = verified_client(coordinator).get(reverse("trial:export_download", args=[run.id]))
    assert body == _bytes(page)
    assert download["Content-Disposition"] == page["Content-Disposition"]
    run.refresh_from_db()
    assert run.download_count == 2  # each download is logged, whichever way it went


def test_a_queued_export_shows_its_progress_and_has_nothing_to_download(world):
    client = token_client(world.users[Role.DATA_MANAGER], scopes=["export"])
    # Without the commit callbacks the rendering task is never run: the run stays queued.
    started = client.post(URL, {"exporter": "full", "format": "stata"}, "application/json")
    body = started.json()
    assert (body["status"], body["progress"], body["download"]) == ("queued", 0, None)
    assert client.get(f"{URL}{body['id']}/").json()["status"] == "queued"
    response = client.get(f"{URL}{body['id']}/download/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    listed = client.get(URL).json()["results"]
    assert [r["id"] for r in listed] == [body["id"]]


def test_an_unknown_export_or_format_is_a_400_naming_the_field(world):
    client = token_client(world.users[Role.COORDINATOR], scopes=["export"])
    response = client.post(URL, {"exporter": "nope", "format": "csv"}, "application/json")
    assert response.status_code == 400
    assert "exporter" in response.json()["error"]["fields"]
    response = client.post(URL, {"exporter": "full", "format": "pdf"}, "application/json")
    assert "format" in response.json()["error"]["fields"]
    assert not ExportRun.objects.exists()


def test_the_export_scope_is_needed_to_start_poll_and_download(
    world, django_capture_on_commit_callbacks
):
    coordinator = world.users[Role.COORDINATOR]
    run_id = _start(
        token_client(coordinator, scopes=["export"]), django_capture_on_commit_callbacks
    )
    run_id = run_id.json()["id"]
    reader = token_client(coordinator, scopes=["read", "randomise"])
    assert reader.post(URL, {}, "application/json").status_code == 403
    assert reader.get(f"{URL}{run_id}/").status_code == 403
    response = reader.get(f"{URL}{run_id}/download/")
    assert response.status_code == 403
    assert "export" in response.json()["error"]["message"]


@pytest.mark.parametrize("role", [Role.NURSE, Role.HEMATOLOGIST, Role.SURGEON])
def test_site_roles_have_no_exports(world, role):
    client = token_client(world.users[role])
    assert client.post(URL, {}, "application/json").status_code == 403
    assert client.get(URL).status_code == 403


def test_a_monitor_reads_the_log_but_neither_starts_nor_downloads(
    world, django_capture_on_commit_callbacks
):
    started = _start(
        token_client(world.users[Role.COORDINATOR]), django_capture_on_commit_callbacks
    )
    run_id = started.json()["id"]
    monitor = token_client(world.users[Role.MONITOR])
    assert monitor.get(f"{URL}{run_id}/").json()["status"] == "done"
    assert monitor.post(URL, {}, "application/json").status_code == 403
    assert monitor.get(f"{URL}{run_id}/download/").status_code == 403


def test_identified_exports_only_for_data_managers_with_a_reason(
    world, django_capture_on_commit_callbacks
):
    identified = {"exporter": "full", "format": "csv", "identified": True}
    coordinator = token_client(world.users[Role.COORDINATOR])
    refused = coordinator.post(URL, {**identified, "reason": "x"}, "application/json")
    assert refused.status_code == 403 and refused.json()["error"]["message"]
    manager = world.users[Role.DATA_MANAGER]
    client = token_client(manager)
    no_reason = client.post(URL, identified, "application/json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["error"]["fields"]
    assert not ExportRun.objects.exists()
    started = _start(
        client,
        django_capture_on_commit_callbacks,
        **identified,
        reason="Linking to the national registry",
    )
    run = ExportRun.objects.get(id=started.json()["id"])
    assert (run.identified, run.reason, run.requested_by) == (
        True,
        "Linking to the national registry",
        manager,
    )
    # The coordinator may not download it on the page, so not through the API either.
    response = coordinator.get(f"{URL}{run.id}/download/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert client.get(f"{URL}{run.id}/download/").status_code == 200
    run.refresh_from_db()
    assert run.download_count == 1


def test_an_export_is_rendered_in_the_language_of_the_request(
    world, django_capture_on_commit_callbacks
):
    client = token_client(world.users[Role.COORDINATOR])
    with django_capture_on_commit_callbacks(execute=False):
        client.post(URL, {"exporter": "full", "format": "csv"}, "application/json",
                    HTTP_ACCEPT_LANGUAGE="da")  # fmt: skip
    assert ExportRun.objects.get().options["language"] == "da"
