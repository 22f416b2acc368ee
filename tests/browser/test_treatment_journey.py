"""Browser journey: a surgeon records a two-level PVP with cement leakage at one
level; a nurse records a serious adverse event; the coordinator sees it on the SAE list and
acknowledges it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_no_csp_errors, device_code, log_in
from tests.factories import SurgicalAssessmentFactory, randomised
from trial.models import AdverseEvent, Procedure, Role

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/vb/shots")  # noqa: S108 - where the team looks at screenshots


def _session(browser, live_server, user, console_errors) -> Page:
    context = browser.new_context(locale="da-DK", timezone_id="Europe/Copenhagen")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    page.on("pageerror", lambda exc: console_errors.append(f"uncaught: {exc}"))
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    log_in(page, live_server.url, user.username, device_code(device))
    page.wait_for_url(f"{live_server.url}/")
    return page


def _pick(page: Page, level: str) -> None:
    box_id = page.locator(f'input[name="levels"][value="{level}"]').get_attribute("id")
    page.locator(f'label[for="{box_id}"]').click()


def test_surgeon_records_pvp_nurse_records_sae_coordinator_acknowledges(
    staff, world, live_server, browser, console_errors
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    coordinator = staff[Role.COORDINATOR]
    coordinator.email = "coordinator@example.org"
    coordinator.save(update_fields=["email"])
    participant = randomised(world.own_participant, arm="pvp", days_ago=7)
    SurgicalAssessmentFactory(participant=participant, planned_levels=["T12", "L1"])
    detail = f"{live_server.url}/participants/{participant.trial_number}/"

    # The surgeon records the procedure: L1 with venous leakage, L2 without.
    surgery = _session(browser, live_server, staff[Role.SURGEON], console_errors)
    surgery.goto(detail)
    surgery.get_by_test_id("action-procedure").click()
    expect(surgery.get_by_test_id("level-row-L1")).to_be_hidden()
    _pick(surgery, "L1")
    _pick(surgery, "L2")
    expect(surgery.get_by_test_id("level-row-L1")).to_be_visible()
    expect(surgery.get_by_test_id("level-row-T5")).to_be_hidden()
    surgery.locator("#id_lvl-L1-cement_volume_ml").fill("3.5")
    surgery.locator('input[name="lvl-L1-leakage"][value="yes"]').check()
    surgery.locator('input[name="lvl-L1-leakage_sites"][value="venous"]').check()
    surgery.locator('input[name="lvl-L1-posterior_wall_defect"][value="no"]').check()
    surgery.locator("#id_lvl-L2-cement_volume_ml").fill("4")
    surgery.locator('input[name="lvl-L2-leakage"][value="no"]').check()
    expect(surgery.locator('input[name="lvl-L2-leakage_sites"]').first).to_be_hidden()
    surgery.locator('input[name="lvl-L2-posterior_wall_defect"][value="yes"]').check()
    surgery.locator('input[name="biopsy_taken"][value="yes"]').check()
    surgery.locator("#id_biopsy_result").fill("Plasma cell infiltration")
    surgery.locator('input[name="complications"][value="no"]').check()
    surgery.screenshot(path=SHOTS / "treatment_1_procedure_form.png", full_page=True)
    surgery.get_by_test_id("save-procedure").click()

    surgery.wait_for_url(f"{detail}#treatment")
    levels = surgery.get_by_test_id("procedure-levels")
    expect(levels).to_contain_text("L1")
    expect(levels).to_contain_text("L2")
    expect(levels.locator("tr.table-warning")).to_have_count(1)
    expect(surgery.get_by_test_id("level-differences")).to_contain_text("T12")
    surgery.get_by_test_id("treatment-panel").screenshot(
        path=SHOTS / "treatment_2_procedure_panel.png"
    )
    procedure = Procedure.objects.get(participant=participant)
    by_level = {lv.level: lv for lv in procedure.levels.all()}
    assert by_level["L1"].leakage and by_level["L1"].leakage_sites == ["venous"]
    assert not by_level["L2"].leakage and by_level["L2"].posterior_wall_defect is True

    # The nurse records a serious adverse event.
    ward = _session(browser, live_server, staff[Role.NURSE], console_errors)
    ward.goto(detail)
    ward.get_by_test_id("action-adverse-event").click()
    ward.locator("#id_description").fill("Pneumonia requiring admission")
    ward.locator('input[name="grade"][value="3"]').check()
    ward.locator('input[name="serious"][value="yes"]').check()
    ward.locator("#id_relation").select_option("unlikely")
    ward.locator("#id_outcome").select_option("recovering")
    ward.locator('input[name="seriousness_criteria"][value="hospitalisation"]').check()
    ward.locator("#id_hospital_admitted_on").fill(timezone.localdate().isoformat())
    ward.locator("#id_site_aware_at").fill(timezone.localtime().strftime("%Y-%m-%dT%H:%M"))
    ward.locator('input[name="expectedness"][value="unexpected"]').check()
    ward.locator("#id_relation_disease").select_option("possible")
    ward.screenshot(path=SHOTS / "treatment_3_sae_form.png", full_page=True)
    ward.locator('[data-testid="treatment-form"] button[type=submit]').click()
    ward.screenshot(path=SHOTS / "treatment_3b_after_save.png", full_page=True)
    ward.wait_for_url(f"{detail}#adverse-events")
    expect(ward.get_by_test_id("adverse-events-panel")).to_contain_text("Pneumonia")
    event = AdverseEvent.objects.get(participant=participant)
    assert event.serious and event.sae_notified_at is not None
    assert [m.to for m in mail.outbox] == [["coordinator@example.org"]]

    # The coordinator sees it, unacknowledged, on the SAE list and acknowledges it.
    office = _session(browser, live_server, coordinator, console_errors)
    office.goto(f"{live_server.url}/serious-adverse-events/")
    row = office.get_by_test_id(f"sae-{event.pk}")
    expect(row).to_contain_text(participant.trial_number)
    expect(row).to_contain_text("Pneumonia requiring admission")
    expect(office.get_by_test_id("sae-pending")).to_contain_text("1")
    office.screenshot(path=SHOTS / "treatment_4_sae_list.png", full_page=True)
    office.get_by_test_id(f"acknowledge-{event.pk}").click()
    expect(office.get_by_test_id(f"acknowledge-{event.pk}")).to_have_count(0)
    expect(office.get_by_test_id("sae-pending")).to_contain_text("0")
    office.screenshot(path=SHOTS / "treatment_5_sae_acknowledged.png", full_page=True)
    event.refresh_from_db()
    assert event.acknowledged_by == coordinator

    for page in (surgery, ward, office):
        page.context.close()
    assert_no_csp_errors(console_errors)
    assert not console_errors, console_errors
