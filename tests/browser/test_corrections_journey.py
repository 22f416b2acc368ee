"""Corrections after randomisation in Chromium (issue 17, item 5).

A randomised participant's screening form holds a typo: the hematologist of the site opens it
from the participant page, reads that corrections are recorded with their reason, is told a
reason is needed, gives one and saves. The surgeon then corrects the planned levels so that the
stratum changes: the page warns that the allocation stands and the correction is a protocol
deviation, and the coordinator finds it on the deviations page. The allocation never changes.
"""

from __future__ import annotations

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from randomization.models import Allocation, DeviationKind, ProtocolDeviation
from tests.browser.conftest import assert_no_csp_errors, danish, device_code, log_in
from tests.factories import randomised, screening_complete
from trial.models import Role, ScreeningForm, SurgicalAssessment

pytestmark = pytest.mark.browser

REASON = "Tastefejl fundet ved monitorering"


@pytest.fixture
def participant(staff, world):
    screening_complete(world.own_participant, staff[Role.HEMATOLOGIST])
    return randomised(world.own_participant, days_ago=4)


def login(page: Page, base: str, user) -> None:
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="app", confirmed=True)
    log_in(page, base, user.username, device_code(device))
    page.wait_for_url(f"{base}/")


def logout(page: Page) -> None:
    page.get_by_test_id("account-menu").locator("button").first.click()
    page.locator("nav form[action$='/account/logout/'] button").click()


def save(page: Page) -> None:
    page.locator("main form[method=post] button[type=submit]").click()


def test_hematologist_corrects_a_typo_and_surgeon_a_level_that_changes_the_stratum(
    staff, world, participant, live_server, page: Page, console_errors, artifacts
):
    base = live_server.url
    number = participant.trial_number
    allocation = Allocation.objects.get(participant=participant)
    as_allocated = (allocation.arm, allocation.stratum, allocation.envelope_id)

    # --- the hematologist corrects the opioid dose typed 30 instead of 40 -------------------
    login(page, base, staff[Role.HEMATOLOGIST])
    page.goto(f"{base}/participants/{number}/")
    page.get_by_test_id("action-screening-form").click()
    banner = page.get_by_test_id("correction-banner")
    expect(banner).to_be_visible()
    banner_text = danish(
        "This participant is randomised (%(date)s). Corrections are recorded with their reason "
        "and shown in the audit trail."
    )
    expect(banner).to_contain_text(banner_text.split("(")[0].strip())
    expect(banner).to_contain_text(banner_text.split(")")[-1].strip())
    page.locator("#id_opioid_ome_mg_per_day").fill("40")
    save(page)
    # No reason: a clear message on the reason field, nothing saved.
    expect(page.locator("#id_reason")).to_have_class(re.compile(r"is-invalid"))
    assert ScreeningForm.objects.get(participant=participant).opioid_ome_mg_per_day == 30
    page.locator("#id_reason").fill(REASON)
    page.screenshot(path=artifacts / "corrections-1-screening-form.png", full_page=True)
    save(page)
    page.wait_for_url(f"{base}/participants/{number}/")
    expect(page.locator("main .alert-success")).to_be_visible()
    form = ScreeningForm.objects.get(participant=participant)
    assert form.opioid_ome_mg_per_day == 40
    assert form.history.order_by("-history_date", "-pk").first().history_change_reason == REASON
    assert not ProtocolDeviation.objects.exists()
    logout(page)

    # --- the surgeon corrects the planned levels: L1 and L2, stratum A1N -> A2N -------------
    login(page, base, staff[Role.SURGEON])
    page.goto(f"{base}/participants/{number}/")
    page.get_by_test_id("action-surgical-assessment").click()
    expect(page.get_by_test_id("correction-banner")).to_be_visible()
    page.locator("label[for=id_planned_levels_13]").click()  # L2 (T1..T12 are 0..11)
    page.locator("#id_reason").fill("Niveau L2 var glemt i planen")
    save(page)
    page.wait_for_url(f"{base}/participants/{number}/")
    warning = page.locator("main .alert-warning[role=alert]")
    expect(warning).to_contain_text("A1N")
    expect(warning).to_contain_text("A2N")
    page.screenshot(path=artifacts / "corrections-2-stratum-warning.png", full_page=True)
    assert SurgicalAssessment.objects.get(participant=participant).planned_levels == ["L1", "L2"]
    deviation = ProtocolDeviation.objects.get()
    assert deviation.kind == DeviationKind.CORRECTION_CHANGES_STRATUM
    logout(page)

    # --- the coordinator sees the deviation; the allocation is as it was --------------------
    login(page, base, staff[Role.COORDINATOR])
    page.goto(f"{base}/randomisation/deviations/")
    row = page.get_by_test_id(f"deviation-{deviation.pk}")
    expect(row).to_contain_text(number)
    expect(row).to_contain_text(danish("A correction after randomisation changes the stratum"))
    expect(row).to_contain_text("A2N")
    page.screenshot(path=artifacts / "corrections-3-deviations.png", full_page=True)
    allocation.refresh_from_db()
    assert (allocation.arm, allocation.stratum, allocation.envelope_id) == as_allocated
    assert_no_csp_errors(console_errors)
