"""Browser journey: after "Randomise now" the participant page names no arm anywhere, not in
the randomisation box and not in the treatment panel; once the opened envelope is confirmed
the arm is shown."""

from __future__ import annotations

import pytest
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from randomization.models import Allocation, Arm
from tests.browser.conftest import assert_no_csp_errors, device_code, log_in
from tests.randomization.conftest import make_batch, make_ready
from trial.models import Role

pytestmark = pytest.mark.browser


def _arm_words() -> list[str]:
    words = []
    for language in ("da", "en"):
        with translation.override(language):
            words += [str(label) for label in Arm.labels]
            words += [translation.gettext("Conservative")]
    return words


def test_randomise_now_shows_no_arm_until_the_envelope_is_confirmed(
    staff, world, live_server, browser, page: Page, console_errors, artifacts
):
    hematologist = staff[Role.HEMATOLOGIST]
    participant = make_ready(world.own, hematologist)
    make_batch(world.own, "A1N", 4)

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
    detail = f"{live_server.url}/participants/{participant.trial_number}/"
    ward.goto(detail)
    ward.get_by_test_id("randomise").click()
    ward.get_by_test_id("randomise-submit").click()
    serial = f"{world.own.code}-A1N-001"
    expect(ward.get_by_test_id("envelope-to-open")).to_have_text(serial)

    # Back on the participant page before confirming: the box says the arm comes later, and
    # nothing on the page (text, title, attributes) names either arm.
    ward.goto(detail)
    expect(ward.get_by_test_id("allocation-arm-concealed")).to_be_visible()
    expect(ward.get_by_test_id("allocated-arm")).to_have_count(0)
    expect(ward.get_by_test_id("allocation-arm")).to_have_count(0)
    ward.screenshot(path=artifacts / "concealment-1-pending.png", full_page=True)
    text = ward.locator("body").inner_text()
    html = ward.content()
    for word in _arm_words():
        assert word not in text, word
    assert 'data-arm="pvp"' not in html and 'data-arm="conservative"' not in html
    assert "Konservativ" not in ward.title() and "PVP" not in ward.title()

    # The clinician opens the envelope and types what the card says: now the arm is shown.
    allocation = Allocation.objects.get(participant=participant)
    ward.get_by_test_id("confirm-envelope").click()
    ward.locator("#id_serial").fill(serial)
    ward.locator(f"input[name=arm][value={allocation.arm}]").check()
    ward.get_by_test_id("confirm-submit").click()
    with translation.override("da"):
        label = str(Arm(allocation.arm).label)
    expect(ward.get_by_test_id("allocation-arm")).to_have_text(label)
    expect(ward.get_by_test_id("allocated-arm")).to_be_visible()
    ward.screenshot(path=artifacts / "concealment-2-confirmed.png", full_page=True)
    assert_no_csp_errors(console_errors)
    clinic.close()
