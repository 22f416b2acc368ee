"""Browser check of the dashboard: the chart draws under the CSP and the report PDF downloads."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import randomised_with_outcomes
from trial.models import Role

pytestmark = pytest.mark.browser


def test_the_coordinator_opens_the_dashboard_and_the_report_pdf(
    staff,
    world,
    live_server,
    page,
    console_errors,
    artifacts,
):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.browser.conftest import assert_no_csp_errors, device_code, log_in

    coordinator = staff[Role.COORDINATOR]
    randomised_with_outcomes(world.own, 3, arm="pvp", user=coordinator)
    randomised_with_outcomes(world.other, 3, arm="conservative", start=200, user=coordinator)
    device = TOTPDevice.objects.create(user=coordinator, name="app", confirmed=True)
    log_in(page, live_server.url, coordinator.username, device_code(device))
    page.wait_for_url(f"{live_server.url}/")

    page.locator("nav .nav-link").first.click()  # the coordinator's first entry
    page.wait_for_url(f"{live_server.url}{reverse('trial:dashboard')}")
    page.locator("#recruitment-chart[data-drawn='1']").wait_for()
    assert (
        page.locator("[data-panel='consort'] [data-count='randomised']")
        .inner_text()
        .startswith("6")
    )
    page.screenshot(path=artifacts / "dashboard.png", full_page=True)

    page.get_by_test_id("outcome-report-link").click()
    page.get_by_test_id("baseline-table").wait_for()
    with page.expect_download() as download_info:
        page.get_by_test_id("outcome-report-pdf").click()
    pdf = download_info.value.path().read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    assert_no_csp_errors(console_errors)
