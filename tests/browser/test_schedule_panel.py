"""Browser: the participant page's follow-up schedule on a 390 px phone and a 1280 px desk,
in Danish: every visit with its state, stacked on the phone without overflowing the screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from followup import services
from tests.browser.conftest import assert_no_csp_errors, danish, device_code, log_in
from tests.factories import randomised
from trial.models import Role

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/vb/shots")  # noqa: S108 - where the lead looks at screenshots


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 900)])
def test_the_schedule_fits_the_screen(staff, world, live_server, browser, width, height):
    participant = randomised(world.own_participant, arm="pvp", days_ago=12)
    services.contacts_create_for(participant=participant)
    nurse = staff[Role.NURSE]
    device = TOTPDevice.objects.create(user=nurse, name="app", confirmed=True)
    context = browser.new_context(
        locale="da-DK", timezone_id="Europe/Copenhagen", viewport={"width": width, "height": height}
    )
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    try:
        log_in(page, live_server.url, nurse.username, device_code(device))
        page.wait_for_url(f"{live_server.url}/")
        page.goto(f"{live_server.url}/participants/{participant.trial_number}/")
        panel = page.get_by_test_id("schedule-panel")
        expect(panel).to_contain_text(danish("Follow-up schedule"))
        expect(panel.locator("tr[data-visit]")).to_have_count(15)
        expect(panel.locator('tr[data-visit="W2"]')).to_have_attribute("data-state", "due")
        expect(panel.locator('tr[data-visit="SC"]')).to_contain_text(
            danish("Scheduled when the procedure is recorded.")
        )

        # Nothing of the panel reaches past the screen, nor scrolls sideways inside it.
        box = panel.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        wide = panel.evaluate(
            "el => [...el.querySelectorAll('*')].filter("
            "  e => e.getBoundingClientRect().right > window.innerWidth + 0.5"
            ").map(e => e.tagName + '.' + e.className)"
        )
        assert wide == []
        assert panel.locator(".table-responsive").evaluate("e => e.scrollWidth <= e.clientWidth")
        header = panel.locator("thead")
        if width < 576:
            # Stacked: no column headers, each value carries its own label.
            expect(header).to_be_hidden()
            expect(panel.locator('tr[data-visit="W2"]')).to_contain_text(danish("Still missing"))
        else:
            expect(header).to_be_visible()
        assert_no_csp_errors(errors)
        SHOTS.mkdir(parents=True, exist_ok=True)
        panel.screenshot(path=SHOTS / f"schedule_panel_{width}.png")
    finally:
        context.close()
