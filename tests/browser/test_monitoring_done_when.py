"""Issue 18's "done when", walked in Chromium from start to end on one participant.

The nightly edit checks open a query (an adverse event dated before consent); the research
nurse corrects the onset date from the query, with a reason; the monitor reviews the answer and
closes the query; the monitor verifies consent against the source; the site's hematologist
signs the casebook with the password and a code; the data manager locks the participant; every
edit page then refuses; and the casebook PDF, read back with pdftotext, shows all of it.
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess

import pytest
from django.core.management import call_command
from django.urls import NoReverseMatch, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    PASSWORD,
    assert_no_csp_errors,
    danish,
    device_code,
    log_out,
    login_as,
)
from tests.factories import AdverseEventFactory, randomised, screening_complete
from trial import access
from trial.models import (
    AdverseEvent,
    Consent,
    DataLock,
    Query,
    QueryState,
    Role,
    Signature,
    SourceVerification,
)

pytestmark = pytest.mark.browser

CORRECTION = "Debutdato rettet efter journalnotatet"
LOCK_REASON = "Opfølgningen afsluttes før tid efter aftale med sponsor"


def edit_pages(participant, event) -> list[tuple[str, str]]:
    """Every page of trial.access.LOCKED_DATA_VIEWS this participant has, by URL name."""
    pages = []
    for name in sorted(access.LOCKED_DATA_VIEWS):
        for kwargs in (
            {"trial_number": participant.trial_number},
            {"trial_number": participant.trial_number, "ae_id": event.pk},
            {"trial_number": participant.trial_number, "control_kind": "m12"},
        ):
            try:
                pages.append((name, reverse(name, kwargs=kwargs)))
                break
            except NoReverseMatch:
                continue
    return pages


def test_query_correction_close_verify_sign_lock_and_the_casebook_shows_it_all(
    staff, world, live_server, page: Page, console_errors, artifacts, tmp_path
):
    base = live_server.url
    hematologist, nurse = staff[Role.HEMATOLOGIST], staff[Role.NURSE]
    monitor, data_manager = staff[Role.MONITOR], staff[Role.DATA_MANAGER]
    screening_complete(world.own_participant, hematologist)
    participant = randomised(world.own_participant, days_ago=10)
    number = participant.trial_number
    consented = Consent.objects.get(participant=participant).consent_date
    event = AdverseEventFactory(
        participant=participant,
        description="Rygsmerter",
        grade=2,
        onset_date=consented - dt.timedelta(days=3),
    )

    # --- the nightly edit checks open one query on the onset date --------------------------
    call_command("edit_checks", stdout=io.StringIO())
    query = Query.objects.get(participant=participant, rule_code="adverse_event_after_consent")
    assert query.field_name == "onset_date" and query.raised_by is None

    # --- the nurse corrects the value from the query, with a reason ------------------------
    login_as(page, base, nurse)
    page.goto(f"{base}/queries/")
    page.get_by_test_id(f"query-row-{query.pk}").locator(f"a[href='/queries/{query.pk}/']").click()
    expect(page.get_by_test_id("query-close")).to_have_count(0)
    page.get_by_test_id("query-correct").click()
    page.locator("#id_onset_date").fill(consented.isoformat())
    page.locator("#id_reason").fill(CORRECTION)
    page.locator("main form[method=post] button[type=submit]").click()
    page.wait_for_url(f"{base}/participants/{number}/**")
    query.refresh_from_db()
    assert query.state == QueryState.ANSWERED
    assert AdverseEvent.objects.get(pk=event.pk).onset_date == consented
    log_out(page)

    # --- the monitor reviews the answer and closes the query; then verifies consent ---------
    login_as(page, base, monitor)
    page.goto(f"{base}/queries/{query.pk}/")
    expect(page.get_by_test_id("query-thread")).to_contain_text(CORRECTION)
    page.get_by_test_id("query-close").click()
    expect(page.get_by_test_id("query-state")).to_have_text(danish("Closed"))
    page.goto(f"{base}/participants/{number}/")
    page.get_by_test_id("sdv-panel").get_by_test_id("sdv-mark-consent").click()
    page.wait_for_url(f"{base}/participants/{number}/#sdv")
    expect(page.get_by_test_id("sdv-consent")).to_contain_text(danish("Verified"))
    assert SourceVerification.objects.get(participant=participant).cleared_at is None
    log_out(page)

    # --- the hematologist signs the casebook: password again and a fresh code -------------
    login_as(page, base, hematologist)
    page.goto(f"{base}/participants/{number}/")
    page.get_by_test_id("action-sign-casebook").click()
    page.locator("#id_password").fill(PASSWORD)
    signing = TOTPDevice.objects.create(user=hematologist, name="sign", confirmed=True)
    page.locator("#id_otp_token").fill(device_code(signing))
    page.get_by_test_id("signature-submit").click()
    page.wait_for_url(f"{base}/participants/{number}/#signatures")
    signature = Signature.objects.get(participant=participant)
    log_out(page)

    # --- the data manager locks the participant (follow-up not over: a reason) -------------
    login_as(page, base, data_manager)
    page.goto(f"{base}/participants/{number}/")
    page.get_by_test_id("action-lock").click()
    unmet = page.get_by_test_id("lock-unmet")
    expect(unmet).to_be_visible()
    # Queries are closed and the casebook is signed: only the follow-up is left.
    expect(unmet).not_to_contain_text(danish("The casebook is not signed"))
    page.locator("#id_reason").fill(LOCK_REASON)
    page.get_by_test_id("lock-submit").click()
    page.wait_for_url(f"{base}/participants/{number}/")
    expect(page.get_by_test_id("locked-badge")).to_have_text(danish("Locked"))
    assert DataLock.objects.get(participant=participant).reason == LOCK_REASON
    log_out(page)

    # --- every edit page refuses, for the hematologist who could write them before ---------
    login_as(page, base, hematologist, device="second phone")
    pages = edit_pages(participant, event)
    assert len(pages) >= 15, pages
    for name, path in pages:
        response = page.goto(f"{base}{path}")
        assert response is not None and response.status == 403, (name, path)
        if access.can(hematologist, name):
            expect(page.get_by_test_id("locked-message")).to_contain_text(number)
    # A post to the form it corrected before changes nothing either.
    response = page.request.post(
        f"{base}/participants/{number}/adverse-events/{event.pk}/",
        form={"description": "Ændret efter låsning", "reason": "forsøg"},
    )
    assert response.status == 403
    assert AdverseEvent.objects.get(pk=event.pk).description == "Rygsmerter"
    signature.refresh_from_db()
    assert signature.state == "valid"
    log_out(page)

    # --- the casebook PDF shows all of it ----------------------------------------------------
    login_as(page, base, data_manager, device="second phone")
    page.goto(f"{base}/participants/{number}/")
    page.get_by_test_id("casebook-request").click()
    page.get_by_test_id("casebook-form").locator("button[type=submit]").click()
    download_link = page.get_by_test_id("casebook-download")
    expect(download_link).to_be_visible(timeout=120_000)
    pdf = page.request.get(f"{base}{download_link.get_attribute('href')}")
    assert pdf.status == 200 and pdf.body()[:5] == b"%PDF-"
    path = tmp_path / "casebook.pdf"
    path.write_bytes(pdf.body())
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    (artifacts / "casebook.txt").write_text(text)
    assert number in flat
    assert CORRECTION in flat  # the correction with its reason, on the form and in the trail
    assert danish("Queries and their resolution") in flat
    assert danish("Closed") in flat  # the query's resolution
    assert danish("Source-data verification") in flat and danish("Verified") in flat
    assert danish("Signature manifest") in flat and signature.signer_name in flat
    assert signature.manifest_hash in flat.replace(" ", "") or signature.manifest_hash[:16] in flat
    assert danish("Data lock") in flat and LOCK_REASON in flat
    assert_no_csp_errors(console_errors)
