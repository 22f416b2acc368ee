"""The pages around sealed envelopes as clinics use them: the log of the allocation list, a
second visit to the randomise page, an empty stratum said before the click, and the real
state of a batch's print job."""

from __future__ import annotations

import pytest
from django.urls import reverse

from randomization import selectors, services
from randomization.models import Allocation, AllocationListView, BatchPrint, PrintStatus
from tests.conftest import verified_client
from tests.randomization.conftest import make_batch, make_ready
from trial import access
from trial.models import Role

LOG = "randomization:allocation_views"


# --- the log of the allocation list ------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.COORDINATOR, 200),
        (Role.DATA_MANAGER, 200),
        (Role.MONITOR, 200),
        (Role.HEMATOLOGIST, 403),
        (Role.SURGEON, 403),
        (Role.NURSE, 403),
    ],
)
def test_the_readers_of_the_audit_trail_read_the_log(world, role, status):
    user = world.users[role]
    assert verified_client(user).get(reverse(LOG)).status_code == status
    # The same readers as the audit trail, asked of the one permission rule.
    assert access.can(user, LOG) == access.can(user, "trial:audit_log")


def test_the_log_says_who_looked_when_and_with_which_filter(world):
    data_manager = world.users[Role.DATA_MANAGER]
    client = verified_client(data_manager)
    empty = client.get(reverse(LOG)).content.decode()
    assert 'data-testid="allocation-views-empty"' in empty

    make_batch(world.own, "A1N", 4)
    client.get(reverse("randomization:allocation_list") + "?site=AAR&stratum=A1N")
    client.get(reverse("randomization:allocation_list_csv") + "?stratum=B1N")
    client.get(reverse("randomization:allocation_list"))
    looks = [selectors.allocation_list_look(v) for v in selectors.allocation_list_views()]
    assert [(look.download, look.filters) for look in looks] == [
        (False, []),
        (True, [("Stratum", "B1N")]),
        (False, [("Site", "AAR"), ("Stratum", "A1N")]),
    ]
    page = client.get(reverse(LOG)).content.decode()
    assert "Site: AAR, Stratum: A1N" in page and "CSV download" in page
    assert data_manager.get_full_name() in page


def test_the_allocation_list_filters_and_links_to_its_log(world):
    make_batch(world.own, "A1N", 4)
    make_batch(world.own, "B1N", 2)
    client = verified_client(world.users[Role.DATA_MANAGER])
    page = client.get(reverse("randomization:allocation_list") + "?stratum=B1N").content.decode()
    assert "AAR-B1N-001" in page and "AAR-A1N-001" not in page
    assert f'href="{reverse(LOG)}"' in page
    # An unknown site or stratum is ignored, never an error.
    response = client.get(reverse("randomization:allocation_list") + "?site=abc&stratum=ZZZ")
    assert response.status_code == 200 and "AAR-A1N-001" in response.content.decode()
    # (A NUL character never reaches the view: trial.middleware.RejectNulMiddleware answers 400.)


def test_the_log_is_paginated(world):
    user = world.users[Role.DATA_MANAGER]
    AllocationListView.objects.bulk_create(
        [
            AllocationListView(user=user, what=f"/randomisation/allocations/?n={i}")
            for i in range(55)
        ]
    )
    client = verified_client(world.users[Role.MONITOR])
    first = client.get(reverse(LOG)).content.decode()
    assert first.count("<tr>") == 51  # header and fifty rows
    second = client.get(reverse(LOG) + "?page=2").content.decode()
    assert second.count("<tr>") == 6
    assert client.get(reverse(LOG) + "?page=abc").status_code == 200


# --- the randomise page ---------------------------------------------------------------------


def test_a_second_visit_to_the_randomise_page_says_the_participant_is_randomised(
    world, hematologist
):
    make_batch(world.own, "A1N", 4)
    participant = make_ready(world.own, hematologist)
    services.participant_randomize(participant=participant, user=hematologist)
    client = verified_client(hematologist)
    url = reverse("randomization:participant_randomise", args=[participant.trial_number])
    page = client.get(url)
    text = page.content.decode()
    assert page.status_code == 200
    assert "is already randomised" in text and "AAR-A1N-001" in text
    assert 'data-testid="back-to-participant"' in text
    assert 'data-testid="confirm-envelope"' in text  # what is left to do
    assert "randomise-submit" not in text
    again = client.post(url)
    assert again.status_code == 409 and Allocation.objects.count() == 1


def test_an_empty_stratum_is_said_before_the_click(world, hematologist):
    make_batch(world.own, "A1N", 1)
    first = make_ready(world.own, hematologist)
    services.participant_randomize(participant=first, user=hematologist)
    assert selectors.sealed_envelopes_left(world.own, "A1N") == 0
    second = make_ready(world.own, hematologist)
    page = verified_client(hematologist).get(
        reverse("randomization:participant_randomise", args=[second.trial_number])
    )
    text = page.content.decode()
    assert "No envelopes are left for site AAR in stratum A1N" in text
    assert "randomise-submit" not in text


def test_envelopes_left_counts_only_sealed_envelopes_of_the_site_and_stratum(world, hematologist):
    make_batch(world.own, "A1N", 4)
    make_batch(world.own, "B1N", 2)
    make_batch(world.other, "A1N", 2)
    services.participant_randomize(
        participant=make_ready(world.own, hematologist), user=hematologist
    )
    assert selectors.sealed_envelopes_left(world.own, "A1N") == 3
    assert selectors.sealed_envelopes_left(world.own.pk, "B1N") == 2
    assert selectors.sealed_envelopes_left(world.other, "A1N") == 2


# --- the batch print's state ----------------------------------------------------------------


def test_a_queued_pdf_is_said_to_be_queued(world, coordinator):
    batch = make_batch(world.own, "A1N", 2)
    client = verified_client(coordinator)
    # The transaction of the test never commits, so the task stays queued, as with a broker.
    response = client.post(reverse("randomization:batch_pdf", args=[batch.pk]), follow=True)
    text = response.content.decode()
    assert "The PDF is queued" in text and 'data-state="queued"' in text
    assert 'data-testid="batch-pdf"' not in text


def test_the_batch_page_shows_each_print_jobs_real_state(world, coordinator):
    batch = make_batch(world.own, "A1N", 2)
    BatchPrint.objects.create(batch=batch, user=coordinator)  # queued: not claimed yet
    BatchPrint.objects.create(batch=batch, user=coordinator, file_name="claimed.pdf")
    BatchPrint.objects.create(
        batch=batch, user=coordinator, status=PrintStatus.FAILED, error="disk full"
    )
    states = sorted(job.state for job in selectors.print_jobs(batch))
    assert states == ["failed", "generating", "queued"]
    client = verified_client(coordinator)
    text = client.get(reverse("randomization:batch_detail", args=[batch.pk])).content.decode()
    assert 'data-state="queued"' in text and 'data-state="generating"' in text
    assert "disk full" in text and 'data-testid="batch-pdf-retry"' in text
    assert 'data-testid="batch-pdf"' not in text  # nothing to download yet
    assert 'http-equiv="refresh"' in text  # it reloads while a job is unfinished


@pytest.mark.django_db(transaction=True)
def test_preparing_a_pdf_says_what_happened_and_offers_the_download_only_when_ready(
    world, coordinator
):
    batch = make_batch(world.own, "A1N", 2)
    client = verified_client(coordinator)
    # As on the embedded default: the request's transaction commits, the task runs
    # in-process, so the PDF is ready before the page is shown, and the page says so.
    response = client.post(reverse("randomization:batch_pdf", args=[batch.pk]), follow=True)
    text = response.content.decode()
    assert "The PDF is ready" in text and "reload the page" not in text
    assert 'data-state="ready"' in text and 'data-testid="batch-pdf"' in text
    assert 'http-equiv="refresh"' not in text
