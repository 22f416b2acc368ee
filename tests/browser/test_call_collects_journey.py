"""Browser journey: the nurse reaches a patient on a weekly call and collects the visit on the
call page: VAS taken, health-service use declined, a new adverse event noted. Saving without a
reason for the empty group is refused naming it; with the reason the visit is done, the message
says what is missing, and the adverse-event form opens with the call's text. The coordinator's
completeness page then shows the visit done with its missing item."""

from __future__ import annotations

from pathlib import Path

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from followup.models import VisitItems
from questionnaires.models import QuestionnaireResponse
from tests.browser.conftest import assert_no_csp_errors, danish, device_code, log_in
from tests.followup.conftest import open_contact, randomised
from trial.models import Role
from trial.protocol.schedule import local_today

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/vb/shots")  # noqa: S108 - where the lead looks at screenshots


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"call_collects_{name}.png", full_page=True)


def test_a_reached_call_collects_the_visit_and_opens_the_adverse_event_form(
    staff, world, live_server, browser, page: Page, console_errors
):
    patient = randomised(world.own, 1, start=80)[0]
    w2 = open_contact(patient, "W2", target=local_today())
    base = live_server.url

    nurse = staff[Role.NURSE]
    log_in(
        page,
        base,
        nurse.username,
        device_code(TOTPDevice.objects.create(user=nurse, name="app", confirmed=True)),
    )
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/followup/?tab=today")
    page.get_by_test_id(f"call-{patient.trial_number}-W2").click()

    # Reached: the visit's items show on the same page, each group with its reason field.
    page.locator("input[name=outcome][value=reached]").check()
    for group in ("vas", "pain_medication", "hsu", "adverse_events"):
        expect(page.get_by_test_id(f"group-{group}")).to_be_visible()
    page.locator("#id_q_vas_back").fill("55")
    page.locator("#id_q_vas_leg").fill("20")
    page.locator("#id_opioid_omeq_mg").fill("30")
    page.locator("#id_new_adverse_events").select_option("yes")
    page.locator("#id_adverse_events_description").fill("Fell in the bathroom, bruised hip")
    shot(page, "1_reached_without_reason")
    page.get_by_test_id("call-submit").click()

    # Health-service use was left empty without a reason: refused, naming the group.
    hsu = page.get_by_test_id("group-hsu")
    expect(hsu).to_contain_text(
        danish("%(group)s: record it, or say why it is missing.")
        % {"group": danish("Health-service use")}
    )
    expect(page.locator("#id_q_vas_back")).to_have_value("55")
    w2.refresh_from_db()
    assert (w2.status, w2.attempts) == ("due", 0)

    page.locator("#id_missing_hsu").select_option("declined")
    shot(page, "2_reason_given")
    page.get_by_test_id("call-submit").click()

    # Done: the message names what is missing, and the AE form opens with the call's text.
    page.wait_for_url(f"{base}/participants/{patient.trial_number}/adverse-events/new/*")
    assert "Fell" not in page.url
    expect(page.locator("#id_description")).to_have_value("Fell in the bathroom, bruised hip")
    missing = danish("Missing: %(items)s.") % {
        "items": f"{danish('Health-service use')} ({danish('Declined').lower()})"
    }
    expect(page.locator("[role=alert]").first).to_contain_text(missing)
    shot(page, "3_adverse_event_form")
    w2.refresh_from_db()
    assert w2.status == "done"
    assert VisitItems.objects.get(contact=w2).missing_reasons == {"hsu": "declined"}
    vas = QuestionnaireResponse.objects.get(participant=patient, visit_code="W2")
    assert (vas.instrument_code, vas.answers) == ("vas", {"vas_back": 55, "vas_leg": 20})

    # The worklist's tab of visits done with items missing lists it.
    page.goto(f"{base}/followup/?tab=incomplete")
    row = page.locator(f'[data-trial-number="{patient.trial_number}"][data-visit="W2"]')
    expect(row).to_contain_text(danish("Health-service use"))

    # The coordinator's completeness page counts it and lists the missing item.
    coordinator = staff[Role.COORDINATOR]
    central = browser.new_context(locale="da-DK", timezone_id="Europe/Copenhagen")
    office = central.new_page()
    office.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    code = device_code(TOTPDevice.objects.create(user=coordinator, name="app", confirmed=True))
    log_in(office, base, coordinator.username, code)
    office.wait_for_url(f"{base}/")
    office.goto(f"{base}/followup/completeness/")
    incomplete = office.get_by_test_id(f"n-W2-{world.own.code}-incomplete")
    expect(incomplete).to_have_text("1")
    incomplete.click()
    expect(office.get_by_test_id(f"missing-{patient.trial_number}-W2")).to_contain_text(
        danish("Health-service use")
    )
    shot(office, "4_completeness")
    central.close()
    assert_no_csp_errors(console_errors)
