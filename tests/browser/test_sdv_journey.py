"""Source-data verification in Chromium (issue 18): the monitor verifies a randomised
participant's consent from the participant page; the site's hematologist corrects who took
consent, with a reason; the monitor finds the consent back on the worklist, cleared by that
change, and verifies it again from there."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    assert_no_csp_errors,
    danish,
    log_out,
    login_as,
)
from tests.factories import randomised, screening_complete
from trial.models import Role, SourceVerification

pytestmark = pytest.mark.browser

REASON = "Samtykkeerklæringen er underskrevet af sygeplejersken"


def test_monitor_verifies_hematologist_corrects_monitor_verifies_again(
    staff, world, live_server, page: Page, console_errors, artifacts
):
    base = live_server.url
    screening_complete(world.own_participant, staff[Role.HEMATOLOGIST])
    participant = randomised(world.own_participant, days_ago=5)
    number = participant.trial_number

    # --- the monitor verifies consent from the participant page ----------------------------
    login_as(page, base, staff[Role.MONITOR])
    page.goto(f"{base}/participants/{number}/")
    panel = page.get_by_test_id("sdv-panel")
    expect(panel.get_by_test_id("sdv-consent")).to_contain_text(danish("To verify"))
    panel.get_by_test_id("sdv-mark-consent").click()
    page.wait_for_url(f"{base}/participants/{number}/#sdv")
    expect(page.get_by_test_id("sdv-consent")).to_contain_text(danish("Verified"))
    assert SourceVerification.objects.get().cleared_at is None
    log_out(page)

    # --- the hematologist corrects who took consent, with a reason --------------------------
    login_as(page, base, staff[Role.HEMATOLOGIST])
    page.goto(f"{base}/participants/{number}/consent/")
    page.locator("#id_taken_by").select_option(str(staff[Role.NURSE].pk))
    page.locator("#id_reason").fill(REASON)
    page.locator("main form[method=post] button[type=submit]").click()
    page.wait_for_url(f"{base}/participants/{number}/")
    # Site staff read the state, without a button to verify.
    expect(page.get_by_test_id("sdv-consent")).to_contain_text(danish("Changed: verify again"))
    expect(page.get_by_test_id("sdv-mark-consent")).to_have_count(0)
    log_out(page)

    # --- the monitor sees it cleared on the worklist and verifies it again ------------------
    login_as(page, base, staff[Role.MONITOR], device="second phone")
    page.goto(f"{base}/source-data-verification/?form=consent")
    row = page.get_by_test_id(f"sdv-row-{number}-consent")
    expect(row).to_contain_text(danish("Changed: verify again"))
    expect(row).to_contain_text(REASON)
    page.screenshot(path=str(artifacts / "sdv-worklist.png"), full_page=True)
    row.get_by_test_id("sdv-mark-consent").click()
    expect(page.get_by_test_id("sdv-worklist-empty")).to_be_visible()
    first, second = SourceVerification.objects.order_by("id")
    assert first.cleared_by == staff[Role.HEMATOLOGIST] and first.cleared_reason == REASON
    assert second.cleared_at is None
    assert_no_csp_errors(console_errors)
