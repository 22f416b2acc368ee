"""Browser journey: the coordinator generates and downloads a batch; a hematologist
randomises a ready participant and confirms the envelope; another site sees nothing of it."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from randomization.models import Allocation
from tests.browser.conftest import assert_no_csp_errors, device_code, log_in
from tests.randomization.conftest import make_ready
from trial.models import Role

pytestmark = pytest.mark.browser


def test_generate_print_randomise_confirm_and_conceal(
    staff, world, live_server, browser, page: Page, console_errors, artifacts, settings, tmp_path
):
    settings.RANDOMISATION_PDF_ROOT = tmp_path
    participant = make_ready(world.own, staff[Role.HEMATOLOGIST])

    # The coordinator generates a batch for the participant's site and stratum and downloads it.
    coordinator = staff[Role.COORDINATOR]
    log_in(
        page,
        live_server.url,
        coordinator.username,
        device_code(TOTPDevice.objects.create(user=coordinator, name="app", confirmed=True)),
    )
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/randomisation/batches/new/")
    page.locator("#id_site").select_option(str(world.own.pk))
    page.locator("#id_stratum").select_option("A1N")
    page.locator("#id_count").fill("10")
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("batch-envelopes")).to_be_visible()
    page.screenshot(path=artifacts / "randomisation-1-batch.png", full_page=True)
    # The PDF is rendered by a task (eager here) and offered on the batch page.
    page.get_by_test_id("batch-pdf-request").click()
    expect(page.get_by_test_id("batch-pdf")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_test_id("batch-pdf").click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")

    # The hematologist randomises from the participant page.
    hematologist = staff[Role.HEMATOLOGIST]
    clinic = browser.new_context(locale="da-DK", timezone_id="Europe/Copenhagen")
    ward = clinic.new_page()
    ward.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    log_in(
        ward,
        live_server.url,
        hematologist.username,
        device_code(TOTPDevice.objects.create(user=hematologist, name="app", confirmed=True)),
    )
    ward.wait_for_url(f"{live_server.url}/")
    ward.goto(f"{live_server.url}/participants/{participant.trial_number}/")
    expect(ward.get_by_test_id("computed-stratum").first).to_contain_text("A1N")
    ward.get_by_test_id("randomise").click()
    ward.get_by_test_id("randomise-submit").click()
    serial = f"{world.own.code}-A1N-001"
    expect(ward.get_by_test_id("envelope-to-open")).to_have_text(serial)
    ward.screenshot(path=artifacts / "randomisation-2-open-envelope.png", full_page=True)

    allocation = Allocation.objects.get(participant=participant)
    ward.locator("#id_serial").fill(serial)
    ward.locator(f"input[name=arm][value={allocation.arm}]").check()
    ward.get_by_test_id("confirm-submit").click()
    expect(ward.get_by_test_id("allocation-serial")).to_have_text(serial)
    ward.screenshot(path=artifacts / "randomisation-3-confirmed.png", full_page=True)
    allocation.refresh_from_db()
    assert allocation.confirmed_serial == serial and not allocation.mismatch
    # The follow-up schedule exists at once, not after the night's job: W1 is on the page.
    ward.goto(f"{live_server.url}/participants/{participant.trial_number}/")
    expect(ward.get_by_test_id("schedule-panel")).to_contain_text("W1")
    clinic.close()

    # A hematologist of another site sees nothing of it.
    outsider = world.outsider
    other = browser.new_context(locale="da-DK")
    elsewhere = other.new_page()
    log_in(
        elsewhere,
        live_server.url,
        outsider.username,
        device_code(TOTPDevice.objects.create(user=outsider, name="app", confirmed=True)),
    )
    elsewhere.wait_for_url(f"{live_server.url}/")
    response = elsewhere.goto(f"{live_server.url}/participants/{participant.trial_number}/")
    assert response.status == 404
    assert serial not in elsewhere.content()
    response = elsewhere.goto(f"{live_server.url}/randomisation/envelopes/")
    assert response.status == 403
    other.close()
    assert_no_csp_errors(console_errors)
