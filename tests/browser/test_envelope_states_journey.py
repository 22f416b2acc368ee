"""Browser journey: a hematologist opens the wrong envelope and says the named one is still
sealed; the next participant of the stratum is named that envelope; the coordinator sees both
events on the verification report and on the batch page."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from randomization.models import Envelope
from tests.browser.conftest import assert_no_csp_errors, device_code, log_in
from tests.randomization.conftest import make_batch, make_ready
from trial.models import Role

pytestmark = pytest.mark.browser


def test_wrong_envelope_then_the_right_next_one_and_the_coordinator_sees_both(
    staff, world, live_server, browser, page: Page, console_errors, artifacts
):
    hematologist = staff[Role.HEMATOLOGIST]
    batch = make_batch(world.own, "A1N", 6)
    first = make_ready(world.own, hematologist)
    second = make_ready(world.own, hematologist)
    site = world.own.code
    named, opened = f"{site}-A1N-001", f"{site}-A1N-002"
    opened_arm = Envelope.objects.get(serial=opened).arm

    log_in(
        page,
        live_server.url,
        hematologist.username,
        device_code(TOTPDevice.objects.create(user=hematologist, name="app", confirmed=True)),
    )
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/participants/{first.trial_number}/randomise/")
    page.get_by_test_id("randomise-submit").click()
    expect(page.get_by_test_id("envelope-to-open")).to_have_text(named)
    # The clinician took the envelope behind it from the box, opened it and says so.
    page.locator("#id_serial").fill(opened)
    page.locator(f"input[name=arm][value={opened_arm}]").check()
    page.locator("#id_named_still_sealed").check()
    page.get_by_test_id("confirm-submit").click()
    page.wait_for_url(f"{live_server.url}/participants/{first.trial_number}/")
    expect(page.get_by_test_id("allocation-serial")).to_have_text(opened)
    page.screenshot(path=artifacts / "envelope-states-1-wrong-envelope.png", full_page=True)

    # The next participant of the stratum is named the envelope that went back in the box.
    page.goto(f"{live_server.url}/participants/{second.trial_number}/randomise/")
    page.get_by_test_id("randomise-submit").click()
    expect(page.get_by_test_id("envelope-to-open")).to_have_text(named)

    coordinator = staff[Role.COORDINATOR]
    office = browser.new_context(locale="da-DK", timezone_id="Europe/Copenhagen")
    desk = office.new_page()
    desk.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    log_in(
        desk,
        live_server.url,
        coordinator.username,
        device_code(TOTPDevice.objects.create(user=coordinator, name="app", confirmed=True)),
    )
    desk.wait_for_url(f"{live_server.url}/")
    desk.goto(f"{live_server.url}/randomisation/verification/")
    event = desk.get_by_test_id(f"event-out_of_order-{opened}")
    expect(event).to_contain_text(first.trial_number)
    expect(event).to_contain_text(named)
    desk.screenshot(path=artifacts / "envelope-states-2-verification.png", full_page=True)

    desk.goto(f"{live_server.url}/randomisation/batches/{batch.pk}/")
    opened_row = desk.get_by_test_id(f"envelope-{opened}")
    expect(opened_row).to_contain_text(first.trial_number)
    expect(opened_row).to_contain_text(named)
    named_row = desk.get_by_test_id(f"envelope-{named}")
    expect(named_row).to_contain_text(second.trial_number)
    expect(named_row).to_contain_text(opened)
    expect(desk.get_by_test_id(f"envelope-{site}-A1N-003")).not_to_contain_text(first.trial_number)
    desk.screenshot(path=artifacts / "envelope-states-3-batch.png", full_page=True)
    office.close()
    assert_no_csp_errors(console_errors)
