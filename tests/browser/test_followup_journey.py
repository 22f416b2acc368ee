"""Browser journey: a nurse opens this week's list, logs a no-answer, then a reached
call with VAS values, then records a death; the patient disappears from every list."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from followup.models import CallLog, Contact
from questionnaires.models import QuestionnaireResponse
from tests.browser.conftest import assert_no_csp_errors, device_code, log_in
from tests.followup.conftest import open_contact, randomised
from trial.models import ParticipantStatus, Role
from trial.protocol.schedule import local_today

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/vb/shots")  # noqa: S108 - where the lead looks at screenshots


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"followup_{name}.png", full_page=True)


def test_nurse_logs_calls_records_a_death_and_the_patient_disappears(
    staff, world, live_server, browser, page: Page, console_errors
):
    today = local_today()
    patient, neighbour = randomised(world.own, 2, start=70)
    w1 = open_contact(patient, "W1", target=today)
    w2 = open_contact(patient, "W2", target=today + dt.timedelta(days=3))
    open_contact(neighbour, "W1", target=today + dt.timedelta(days=1))
    base = live_server.url

    nurse = staff[Role.NURSE]
    log_in(
        page,
        base,
        nurse.username,
        device_code(TOTPDevice.objects.create(user=nurse, name="app", confirmed=True)),
    )
    page.wait_for_url(f"{base}/")

    # This week's list, from the navigation.
    page.goto(f"{base}/followup/weekly/")
    rows = page.get_by_test_id("contact-row")
    expect(page.locator(f'[data-trial-number="{patient.trial_number}"]')).to_have_count(2)
    expect(rows).to_have_count(3)
    expect(page.get_by_test_id("contact-table")).to_contain_text(patient.identity.full_name)
    shot(page, "1_weekly_list")

    # A no-answer.
    page.get_by_test_id(f"call-{patient.trial_number}-W1").click()
    page.locator("input[name=outcome][value=no_answer]").check()
    expect(page.locator("#id_q_vas_back")).to_be_hidden()
    shot(page, "2_call_form")
    page.get_by_test_id("call-submit").click()
    page.wait_for_url(f"{base}/followup/?tab=week")
    shot(page, "3_after_no_answer")
    w1.refresh_from_db()
    assert (w1.attempts, w1.status) == (1, "due")

    # A reached call with VAS values taken by phone.
    page.goto(f"{base}/followup/contacts/{w1.pk}/call/")
    expect(page.get_by_test_id("attempts")).to_have_text("1")
    page.locator("input[name=outcome][value=reached]").check()
    page.locator("#id_q_vas_back").fill("62")
    page.locator("#id_q_vas_leg").fill("15")
    page.locator("#id_opioid_omeq_mg").fill("20")
    page.locator("#id_new_adverse_events").select_option("no")
    page.locator("#id_q_hsu_gp").fill("0")
    shot(page, "4_reached_form")
    page.get_by_test_id("call-submit").click()
    page.wait_for_url(f"{base}/followup/?tab=week")
    w1.refresh_from_db()
    assert (w1.attempts, w1.status) == (2, "done")
    vas = QuestionnaireResponse.objects.get(
        participant=patient, visit_code="W1", instrument_code="vas"
    )
    assert vas.answers == {"vas_back": 62, "vas_leg": 15} and vas.mode == "phone"
    expect(
        page.locator(f'[data-trial-number="{patient.trial_number}"][data-visit="W1"]')
    ).to_have_count(0)

    # A relative answers W2's call: the patient has died.
    page.get_by_test_id(f"call-{patient.trial_number}-W2").click()
    page.locator("input[name=outcome][value=died]").check()
    expect(page.locator("#id_date_of_death")).to_be_visible()
    page.locator("#id_date_of_death").fill(today.isoformat())
    page.locator("#id_death_relation").select_option("myeloma")
    page.locator("#id_death_cause").fill("progression")
    shot(page, "5_death_form")
    page.get_by_test_id("call-submit").click()
    page.wait_for_url(f"{base}/followup/?tab=week")
    shot(page, "6_after_death")

    patient.refresh_from_db()
    assert patient.status == ParticipantStatus.DECEASED
    w2.refresh_from_db()
    assert w2.status == "cancelled"
    assert CallLog.objects.filter(contact=w2, outcome="died").count() == 1
    assert not Contact.objects.filter(participant=patient, status__in=["planned", "due"]).exists()

    # Gone from every list; the neighbour is still there.
    for path in (
        "/followup/?tab=today",
        "/followup/?tab=week",
        "/followup/?tab=overdue",
        "/followup/weekly/",
    ):
        page.goto(f"{base}{path}")
        expect(page.locator(f'[data-trial-number="{patient.trial_number}"]')).to_have_count(0)
    page.goto(f"{base}/followup/weekly/")
    expect(page.locator(f'[data-trial-number="{neighbour.trial_number}"]')).to_have_count(1)
    shot(page, "7_weekly_after")

    # The coordinator's completeness page counts the cancelled contacts and lists who is behind.
    coordinator = staff[Role.COORDINATOR]
    central = browser.new_context(locale="da-DK", timezone_id="Europe/Copenhagen")
    office = central.new_page()
    office.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    code = device_code(TOTPDevice.objects.create(user=coordinator, name="app", confirmed=True))
    log_in(office, base, coordinator.username, code)
    office.wait_for_url(f"{base}/")
    office.goto(f"{base}/followup/completeness/")
    cancelled = office.get_by_test_id(f"n-W2-{world.own.code}-cancelled")
    expect(cancelled).to_have_text("1")
    cancelled.click()
    expect(office.get_by_test_id("completeness-patients")).to_contain_text(patient.trial_number)
    shot(office, "8_completeness")
    central.close()
    assert_no_csp_errors(console_errors)
