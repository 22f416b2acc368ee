"""Browser: the schedule governs data entry. A nurse enters a W3 VAS eleven days before its
window opens: the form warns, refuses to save until she confirms, then saves it flagged; the
data manager sees the flag on the completeness page and the participant page shows it."""

from __future__ import annotations

import datetime as dt

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from followup import services
from questionnaires.models import QuestionnaireResponse
from tests import clock
from tests.browser.conftest import assert_no_csp_errors, danish, device_code, log_in
from tests.factories import allocate
from trial.models import Role

pytestmark = pytest.mark.browser


def test_a_nurse_records_a_w3_vas_before_its_window_only_when_she_confirms(
    staff, world, live_server, browser, fixed_day, console_errors
):
    participant = world.own_participant
    # Randomised a week ago: W3 (day 21 +/- 3) opens in eleven days.
    allocate(participant, clock.noon(fixed_day - dt.timedelta(days=7)))
    services.contacts_create_for(participant=participant)
    base = live_server.url
    nurse, manager = staff[Role.NURSE], staff[Role.DATA_MANAGER]

    context = browser.new_context(locale="da-DK", timezone_id="Europe/Copenhagen")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
    try:
        device = TOTPDevice.objects.create(user=nurse, name="app", confirmed=True)
        log_in(page, base, nurse.username, device_code(device))
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/participants/{participant.trial_number}/questionnaires/W3/vas/enter/")
        warning = page.get_by_test_id("out-of-window")
        expect(warning).to_be_visible()
        opens = (fixed_day + dt.timedelta(days=11)).strftime("%d.%m.%Y")
        expect(warning).to_contain_text(opens)
        form = page.get_by_test_id("entry-form")
        form.locator("#id_vas_back").fill("55")
        form.locator("button[type=submit]").click()

        # Refused without the confirmation: the message says why, nothing is saved.
        expect(page.get_by_test_id("out-of-window-error")).to_be_visible()
        assert not QuestionnaireResponse.objects.filter(visit_code="W3").exists()
        expect(form.locator("#id_vas_back")).to_have_value("55")  # what she typed is kept
        form.locator("#id_record_out_of_window").check()
        form.locator("button[type=submit]").click()
        expect(page.get_by_test_id("questionnaires-heading")).to_be_visible()
        response = QuestionnaireResponse.objects.get(visit_code="W3", instrument_code="vas")
        assert response.out_of_window and response.answers == {"vas_back": 55}

        # The participant page's schedule marks the visit.
        page.goto(f"{base}/participants/{participant.trial_number}/")
        w3 = page.get_by_test_id("schedule-panel").locator('tr[data-visit="W3"]')
        expect(w3.get_by_test_id("schedule-out-of-window")).to_be_visible()
    finally:
        context.close()

    context = browser.new_context(locale="da-DK", timezone_id="Europe/Copenhagen")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
    try:
        device = TOTPDevice.objects.create(user=manager, name="app", confirmed=True)
        log_in(page, base, manager.username, device_code(device))
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/followup/completeness/")
        table = page.get_by_test_id("completeness")
        expect(table).to_contain_text(danish("Out of window"))
        flagged = page.get_by_test_id("n-W3-AAR-out_of_window")
        expect(flagged).to_have_text("1")
        flagged.click()
        records = page.get_by_test_id("out-of-window-records")
        expect(records).to_contain_text(participant.trial_number)
        expect(records).to_contain_text(nurse.get_full_name() or nurse.username)
        assert_no_csp_errors(console_errors)
    finally:
        context.close()
