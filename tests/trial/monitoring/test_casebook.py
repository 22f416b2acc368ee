"""Casebooks: a participant's whole record as a PDF (read back with pdftotext), requested on
the participant's page and rendered by the Celery task, and a site's archive of them."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import subprocess
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import verified_client
from tests.factories import (
    AdverseEventFactory,
    IdentityFactory,
    ParticipantFactory,
    ScreeningFormFactory,
)
from trial.audit import audited_save
from trial.models import AdverseEvent, CasebookRun, Role
from trial.monitoring import items, services
from trial.monitoring.casebook.render import casebook_bytes
from trial.monitoring.casebook.selectors import casebook_data
from trial.registry import CasebookSection, CasebookSectionProvider, registry

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    done = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return done.stdout.decode()


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def reviewed(world):
    """An adverse event entered by the nurse, queried by the monitor, corrected by the nurse
    with a reason, and the query closed by the monitor."""
    users = world.users
    event = audited_save(
        AdverseEvent(
            participant=world.own_participant,
            description="Back pain",
            onset_date=dt.date(2026, 3, 2),
            grade=1,
            serious=False,
            relation="not_related",
            outcome="recovering",
            recorded_by=users[Role.NURSE],
        ),
        user=users[Role.NURSE],
    )
    item = items.item_get(world.own_participant, f"trial.AdverseEvent:{event.pk}:description")
    query = services.query_raise(
        participant=world.own_participant,
        item=item,
        text="Which vertebral level hurts?",
        user=users[Role.MONITOR],
    )
    event.description = "Back pain at L2"
    audited_save(event, user=users[Role.NURSE], reason="level added from the discharge letter")
    services.query_step(query=query, step="close", user=users[Role.MONITOR], text="Resolved.")
    return world.own_participant


def test_the_casebook_shows_the_values_the_correction_the_query_and_the_trail(reviewed, world):
    text = _flat(pdf_text(casebook_bytes(reviewed, language="en", identified=False)))
    number = reviewed.trial_number
    assert f"VERTEBRA · {number}" in text  # the running header
    assert "Page 1 of" in text and "UTC" in text
    assert "Adverse event" in text and "Back pain at L2" in text
    # The correction: old and new value, who, and the reason.
    nurse = world.users[Role.NURSE]
    who = nurse.get_full_name() or nurse.username
    assert f"{who} changed description from Back pain to Back pain at L2" in text
    assert "level added from the discharge letter" in text
    assert f"Entered by {who}" in text
    # The query's thread and its resolution.
    assert "Which vertebral level hurts?" in text
    assert "Resolved." in text
    assert "Queries and their resolution" in text and "Closed" in text
    assert "Appendix: audit trail" in text


def test_the_sections_other_apps_register_are_printed(reviewed, monkeypatch):
    provider = CasebookSectionProvider(
        "signatures",
        lambda p: CasebookSection(
            "Signature manifest", [(f"{p.trial_number} signed by Dr Hansen",)]
        ),
        order=5,
    )
    monkeypatch.setattr(registry, "casebook_sections", [provider, *registry.casebook_sections])
    text = _flat(pdf_text(casebook_bytes(reviewed, language="en", identified=False)))
    assert f"Signature manifest {reviewed.trial_number} signed by Dr Hansen" in text


def test_the_casebook_is_written_in_the_language_asked_for(reviewed):
    danish = _flat(pdf_text(casebook_bytes(reviewed, language="da", identified=False)))
    english = _flat(pdf_text(casebook_bytes(reviewed, language="en", identified=False)))
    assert "Side 1 af" in danish and "Rettelser" in danish and "Bilag: revisionsspor" in danish
    assert "Page 1 of" in english and "Corrections" in english
    assert "Page 1 of" not in danish


def test_only_a_reader_of_identity_gets_the_name_and_cpr_on_the_cover(world):
    identity = IdentityFactory(participant=world.own_participant)
    pseudonymised = pdf_text(casebook_bytes(world.own_participant, language="en", identified=False))
    assert identity.full_name not in pseudonymised and identity.cpr not in pseudonymised
    identified = pdf_text(casebook_bytes(world.own_participant, language="en", identified=True))
    assert identity.full_name in identified and identity.cpr in identified


def _page(participant) -> str:
    return reverse("trial:casebook", kwargs={"trial_number": participant.trial_number})


def test_the_monitor_requests_a_casebook_and_downloads_it(
    reviewed, world, django_capture_on_commit_callbacks
):
    IdentityFactory(participant=reviewed)
    client = verified_client(world.users[Role.MONITOR])
    page = client.get(reverse("trial:participant_detail", args=[reviewed.trial_number]))
    assert _page(reviewed) in page.content.decode()  # the panel offers it
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_page(reviewed), {"language": "en"})
    assert response.status_code == 302
    run = CasebookRun.objects.get()
    assert (run.status, run.progress, run.identified) == ("done", 100, False)
    status = client.get(
        reverse("trial:casebook_status", args=[reviewed.trial_number, run.id])
    ).json()
    assert status["done"] and status["download_url"]
    download = client.get(status["download_url"])
    body = b"".join(download.streaming_content)
    assert body.startswith(b"%PDF") and hashlib.sha256(body).hexdigest() == run.sha256
    assert "Which vertebral level hurts?" in pdf_text(body)
    assert reviewed.identity.full_name not in pdf_text(body)


def test_a_data_managers_casebook_is_identified_and_not_for_the_monitor(
    world, django_capture_on_commit_callbacks
):
    participant = world.own_participant
    IdentityFactory(participant=participant)
    with django_capture_on_commit_callbacks(execute=True):
        verified_client(world.users[Role.DATA_MANAGER]).post(_page(participant), {"language": "da"})
    run = CasebookRun.objects.get()
    assert run.identified and run.language == "da"
    url = reverse("trial:casebook_download", args=[participant.trial_number, run.id])
    assert verified_client(world.users[Role.MONITOR]).get(url).status_code == 404


@pytest.mark.parametrize("role", [Role.NURSE, Role.SURGEON])
def test_site_staff_other_than_the_hematologist_are_refused(world, role):
    response = verified_client(world.users[role]).get(_page(world.own_participant))
    assert response.status_code == 403


def test_a_hematologist_of_another_site_finds_no_casebook(world):
    assert verified_client(world.outsider).get(_page(world.own_participant)).status_code == 404
    assert verified_client(world.outsider).post(_page(world.own_participant)).status_code == 404
    assert not CasebookRun.objects.exists()


def test_a_language_not_offered_is_an_error_on_the_page(world):
    client = verified_client(world.users[Role.HEMATOLOGIST])
    response = client.post(_page(world.own_participant), {"language": "xx"})
    assert response.status_code == 200 and not CasebookRun.objects.exists()


def test_the_site_archive_holds_each_casebook_and_an_index_with_their_sha256(
    world, django_capture_on_commit_callbacks
):
    for sequence in (2, 3):
        ParticipantFactory(site=world.own, sequence=sequence)
    client = verified_client(world.users[Role.DATA_MANAGER])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("trial:casebook_archive"), {"site": world.own.pk, "language": "en"}
        )
    assert response.status_code == 302
    run = CasebookRun.objects.get()
    assert run.status == "done", run.error
    status = client.get(reverse("trial:casebook_archive_status", args=[run.id])).json()
    body = b"".join(client.get(status["download_url"]).streaming_content)
    archive = zipfile.ZipFile(io.BytesIO(body))
    pdfs = sorted(n for n in archive.namelist() if n.startswith("casebooks/"))
    numbers = sorted(world.own.participants.values_list("trial_number", flat=True))
    assert pdfs == [f"casebooks/{n}.pdf" for n in numbers]
    index = list(csv.DictReader(io.StringIO(archive.read("index.csv").decode())))
    assert [row["file"] for row in index] == pdfs
    for row in index:
        data = archive.read(row["file"])
        assert hashlib.sha256(data).hexdigest() == row["sha256"]
        assert int(row["pages"]) >= 3 and int(row["bytes"]) == len(data)
        assert row["trial_number"] in pdf_text(data)
    index_text = pdf_text(archive.read("index.pdf"))
    assert all(row["sha256"] in index_text for row in index)
    assert world.other_participant.trial_number not in index_text


@pytest.mark.parametrize("role", [Role.MONITOR, Role.HEMATOLOGIST])
def test_only_central_staff_make_site_archives(world, role):
    response = verified_client(world.users[role]).post(
        reverse("trial:casebook_archive"), {"site": world.own.pk, "language": "en"}
    )
    assert response.status_code == 403


def _rich(participant, world, events: int) -> None:
    ScreeningFormFactory(participant=participant)
    for n in range(events):
        event = AdverseEventFactory(participant=participant, description=f"Event {n}")
        event.grade = 2
        audited_save(event, user=world.users[Role.NURSE], reason="grade from the chart")
        item = items.item_get(participant, f"trial.AdverseEvent:{event.pk}:grade")
        services.query_raise(
            participant=participant, item=item, text="Check?", user=world.users[Role.MONITOR]
        )


def test_a_casebooks_data_takes_the_same_queries_however_much_is_recorded(world):
    small, large = (ParticipantFactory(site=world.own, sequence=s) for s in (7, 8))
    _rich(small, world, 1)
    _rich(large, world, 6)
    counts = []
    for participant in (small, large):
        with CaptureQueriesContext(connection) as ctx:
            data = casebook_data(participant, identified=False)
        counts.append(len(ctx.captured_queries))
        assert sum(len(f.queries) for f in data.forms) in (1, 6)
    assert counts[0] == counts[1]


def test_the_archive_costs_the_same_queries_for_each_further_participant(world, tmp_path):
    from trial.monitoring.casebook.render import site_archive_write

    counts = []
    for n in (1, 2, 3):
        if n > 1:
            _rich(ParticipantFactory(site=world.own, sequence=10 + n), world, n)
        with CaptureQueriesContext(connection) as ctx:
            site_archive_write(world.own, language="en", target=tmp_path / f"{n}.zip")
        counts.append(len(ctx.captured_queries))
    assert counts[2] - counts[1] == counts[1] - counts[0] > 0


def test_an_expired_casebook_loses_its_file_once(world, settings, tmp_path):
    from django.utils import timezone

    from tests.factories import casebook_run_done
    from trial.monitoring.casebook.services import casebook_root, casebooks_expire

    settings.EXPORT_ROOT = tmp_path
    run = casebook_run_done(
        requested_by=world.users[Role.DATA_MANAGER], participant=world.own_participant
    )
    CasebookRun.objects.filter(pk=run.pk).update(expires_at=timezone.now() + dt.timedelta(hours=1))
    path = casebook_root() / run.file_name
    assert casebooks_expire() == 0 and path.exists()
    later = timezone.now() + dt.timedelta(hours=2)
    assert casebooks_expire(now=later) == 1
    assert not path.exists()
    assert CasebookRun.objects.get(pk=run.pk).status == "expired"
    assert casebooks_expire(now=later) == 0


@pytest.fixture
def workers_started(monkeypatch):
    """Every PDF worker the archive starts, to count them and see how they ended."""
    from trial.monitoring.casebook import pdf_worker

    started = []
    real = pdf_worker.worker_start

    def start(base_url):
        started.append(real(base_url))
        return started[-1]

    monkeypatch.setattr(pdf_worker, "worker_start", start)
    return started


def _archive_entries(archive: zipfile.ZipFile, numbers: list[str]) -> list[dict]:
    """The index of ``archive``, checked against its casebooks: one per trial number, each
    file's hash, size and pages as listed, and its own trial number inside."""
    index = list(csv.DictReader(io.StringIO(archive.read("index.csv").decode())))
    assert [row["file"] for row in index] == [f"casebooks/{n}.pdf" for n in numbers]
    assert sorted(n for n in archive.namelist() if n.startswith("casebooks/")) == [
        row["file"] for row in index
    ]
    for row in index:
        data = archive.read(row["file"])
        assert hashlib.sha256(data).hexdigest() == row["sha256"]
        assert int(row["pages"]) >= 3 and int(row["bytes"]) == len(data)
        assert f"VERTEBRA · {row['trial_number']}" in _flat(pdf_text(data))
    return index


def test_an_archive_longer_than_a_batch_is_whole_and_each_batch_has_a_fresh_worker(
    world, settings, tmp_path, workers_started
):
    from trial.monitoring.casebook.render import site_archive_write

    settings.CASEBOOK_ARCHIVE_BATCH = 2
    for sequence in (2, 3, 4, 5):
        ParticipantFactory(site=world.own, sequence=sequence)
    numbers = sorted(world.own.participants.values_list("trial_number", flat=True))
    calls: list[tuple[int, int]] = []
    target = tmp_path / "archive.zip"
    rows = site_archive_write(
        world.own, language="en", target=target, progress=lambda *call: calls.append(call)
    )
    assert calls == [(n, 5) for n in range(1, 6)]
    with zipfile.ZipFile(target) as archive:
        index = _archive_entries(archive, numbers)
        assert [r.sha256 for r in rows] == [row["sha256"] for row in index]
        index_text = _flat(pdf_text(archive.read("index.pdf")))
    assert all(row["sha256"] in index_text for row in index)
    # Casebooks 1-2, 3-4, then 5 and the index: three workers, each closed and exited cleanly.
    assert [child.returncode for child in workers_started] == [0, 0, 0]


def _fail_in_the_second_batch(how: str, monkeypatch, last: str) -> list:
    """Make the archive fail on its casebook ``last``, rendered by the second worker: WeasyPrint
    raises there, or the worker dies at once. Returns the workers started."""
    import sys

    from trial.monitoring.casebook import pdf_worker, render

    started: list = []
    real_start, real_html = pdf_worker.worker_start, render.casebook_html

    def start(base_url):
        if how == "dies" and started:
            # As one killed by the kernel would.
            command = [sys.executable, "-c", "import os; os._exit(3)"]
            started.append(pdf_worker.subprocess.Popen(command, stdin=-1, stdout=-1))
        else:
            started.append(real_start(base_url))
        return started[-1]

    def html(participant, **options):
        page = real_html(participant, **options)
        if how == "raises" and participant.trial_number == last:
            # A size WeasyPrint cannot lay out: it raises OverflowError in the worker.
            page += '<p style="font-size: 1e308px">x</p>'
        return page

    monkeypatch.setattr(pdf_worker, "worker_start", start)
    monkeypatch.setattr(render, "casebook_html", html)
    return started


@pytest.mark.parametrize(
    ("how", "logged"), [("raises", "OverflowError"), ("dies", "stopped with code 3")]
)
def test_a_failure_in_a_later_batch_fails_the_run_and_leaves_no_file(
    world, settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks, how, logged
):
    import logging

    from trial.monitoring.casebook.services import casebook_root, site_archive_request

    settings.CASEBOOK_ARCHIVE_BATCH = 2
    settings.EXPORT_ROOT = tmp_path
    for sequence in (2, 3):
        ParticipantFactory(site=world.own, sequence=sequence)
    last = max(world.own.participants.values_list("trial_number", flat=True))
    started = _fail_in_the_second_batch(how, monkeypatch, last)
    # A handler of the services' own logger: the first Celery task of a session may set up
    # the root logger again, and with it drop caplog's handler.
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    logger = logging.getLogger("trial.monitoring.casebook.services")
    logger.addHandler(handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run = site_archive_request(
                user=world.users[Role.DATA_MANAGER], site=world.own, language="en"
            )
    finally:
        logger.removeHandler(handler)
    run.refresh_from_db()
    assert run.status == "failed" and run.error and not run.file_name
    assert list(casebook_root().iterdir()) == []  # the partial ZIP is gone
    assert logged in log.getvalue()
    # Both workers have ended and been waited for: none is left behind.
    assert len(started) == 2 and all(child.returncode is not None for child in started)
