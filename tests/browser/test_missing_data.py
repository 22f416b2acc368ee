"""The missing-data report in Chromium: the share present per site and visit and the list of
forms, on a desktop (1280 px) and on a phone (390 px) where nothing scrolls sideways but the
summary table in its own scroll box."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_no_csp_errors, device_code, log_in
from tests.factories import ParticipantFactory, allocate, outcome_scores
from trial.models import Role
from trial.protocol.schedule import local_today

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 390])
def test_the_report_reads_on_desktop_and_phone(
    staff, world, live_server, page: Page, console_errors, artifacts, width
):
    day0 = local_today() - dt.timedelta(days=20)
    at = dt.datetime.combine(day0, dt.time(12), tzinfo=timezone.get_default_timezone())
    for n, site in ((90, world.own), (91, world.own), (90, world.other)):
        patient = ParticipantFactory(site=site, sequence=n)
        allocate(patient, at, arm="pvp")
        if n == 90:
            outcome_scores(patient, "BL", 60)
    user = staff[Role.DATA_MANAGER]
    page.set_viewport_size({"width": width, "height": 900})
    log_in(
        page,
        live_server.url,
        user.username,
        device_code(TOTPDevice.objects.create(user=user, name="app", confirmed=True)),
    )
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/followup/missing-data/")
    summary = page.get_by_test_id("missing-summary")
    expect(summary).to_be_visible()
    # Baseline at AAR: one of two participants has it (3 of 6 forms); at ODE all of it.
    expect(summary.get_by_test_id("pct-BL-0")).to_contain_text("50")
    expect(summary.get_by_test_id("pct-BL-1")).to_contain_text("100")
    rows = page.get_by_test_id("missing-list").locator("tbody tr")
    expect(rows.first).to_be_visible()
    page.get_by_label("Tilstand").select_option("missing")
    page.get_by_role("button", name="Filtrér").click()
    expect(rows.first).to_contain_text("Mangler, uden årsag")
    page.screenshot(path=artifacts / f"missing-data-{width}.png", full_page=True)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page is {scroll} px wide at {width} px"
    assert page.get_by_test_id("missing-csv").get_attribute("href").endswith("state=missing")
    assert_no_csp_errors(console_errors)
