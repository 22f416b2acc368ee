"""Browser journey: the coordinator exports the demo trial, watches the progress
bar and downloads the ZIP, then opens the dashboard and the outcome report as a PDF."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from io import StringIO

import pytest
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_no_csp_errors, device_code, log_in
from tests.factories import ensure_default_criteria
from trial.models import Participant, User

pytestmark = pytest.mark.browser

from tests.browser.conftest import PASSWORD  # noqa: E402


def test_export_dashboard_and_outcome_report(
    db, live_server, page: Page, console_errors, artifacts
):
    ensure_default_criteria()  # live-server tests flush the migration's reference data
    call_command("seed_demo", stdout=StringIO())
    coordinator = User.objects.get(username="coordinator")
    coordinator.set_password(PASSWORD)
    coordinator.save(update_fields=["password"])
    TOTPDevice.objects.filter(user=coordinator).delete()
    device = TOTPDevice.objects.create(user=coordinator, name="app", confirmed=True)
    log_in(page, live_server.url, coordinator.username, device_code(device))
    page.wait_for_url(f"{live_server.url}/")

    # Start an export and watch it run to the end.
    page.goto(f"{live_server.url}/exports/")
    form = page.get_by_test_id("export-form")
    form.locator("select[name=format]").select_option("csv")
    form.locator("button[type=submit]").click()
    progress = page.get_by_test_id("export-progress")
    expect(progress).to_be_visible()
    download_link = page.get_by_test_id("export-download")
    expect(download_link).to_be_visible(timeout=60_000)
    expect(progress).to_contain_text("100")
    page.screenshot(path=artifacts / "coordinator-1-export.png", full_page=True)
    with page.expect_download() as download:
        download_link.click()
    archive = zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes()))
    names = archive.namelist()
    assert any(name.endswith(".csv") for name in names), names
    wide = next(n for n in names if "analysis" in n or "wide" in n)
    text = archive.read(wide).decode("utf-8-sig")
    some_number = Participant.objects.filter(status="randomised").first().trial_number
    assert some_number in text

    # The dashboard, drawn from the data.
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.get_by_test_id("dashboard")).to_be_visible()
    page.screenshot(path=artifacts / "coordinator-2-dashboard.png", full_page=True)

    # The outcome report, on screen and as a PDF.
    page.get_by_test_id("outcome-report-link").click()
    expect(page.get_by_test_id("outcome-table")).to_be_visible()
    page.screenshot(path=artifacts / "coordinator-3-report.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_test_id("outcome-report-pdf").click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    (artifacts / "outcome-report.pdf").write_bytes(pdf)
    # The pages as images, to look at (pdftoppm comes with poppler-utils, when installed).
    if shutil.which("pdftoppm"):
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "60",
                str(artifacts / "outcome-report.pdf"),
                str(artifacts / "outcome-report-page"),
            ],
            check=False,
        )
    assert_no_csp_errors(console_errors)
