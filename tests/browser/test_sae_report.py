"""Browser journey: the surgeon records a serious adverse event with its ICH E2A report (a
hospital stay, a suspected unexpected reaction); the coordinator's e-mail carries the report
with SUSAR in its subject, and the participant page's adverse-event panel shows it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_no_csp_errors, device_code, log_in
from tests.factories import randomised
from trial.models import AdverseEvent, Role

pytestmark = pytest.mark.browser


def test_the_surgeon_records_an_sae_with_a_hospital_stay_and_the_coordinator_is_emailed(
    staff, world, live_server, page: Page, console_errors, artifacts
):
    coordinator = staff[Role.COORDINATOR]
    coordinator.email = "coordinator@example.org"
    coordinator.save(update_fields=["email"])
    participant = randomised(world.own_participant, arm="pvp", days_ago=10)
    onset = timezone.localdate() - dt.timedelta(days=2)
    detail = f"{live_server.url}/participants/{participant.trial_number}/"
    surgeon = staff[Role.SURGEON]
    device = TOTPDevice.objects.create(user=surgeon, name="app", confirmed=True)
    log_in(page, live_server.url, surgeon.username, device_code(device))
    page.wait_for_url(f"{live_server.url}/")

    page.goto(detail)
    page.get_by_test_id("action-adverse-event").click()
    report = page.get_by_test_id("sae-report")
    expect(report).to_be_hidden()  # the E2A part waits for "serious: yes"
    page.locator("#id_description").fill("Cement embolus to the lung, admitted")
    page.locator("#id_onset_date").fill(onset.isoformat())
    page.locator('input[name="grade"][value="3"]').check()
    page.locator("#id_relation").select_option("probable")
    page.locator("#id_outcome").select_option("recovering")
    page.locator('input[name="serious"][value="yes"]').check()
    expect(report).to_be_visible()
    report.locator('input[name="seriousness_criteria"][value="hospitalisation"]').check()
    report.locator('input[name="seriousness_criteria"][value="life_threatening"]').check()
    page.locator("#id_hospital_admitted_on").fill(onset.isoformat())
    page.locator("#id_site_aware_at").fill(f"{onset.isoformat()}T09:15")
    report.locator('input[name="expectedness"][value="unexpected"]').check()
    page.locator("#id_relation_disease").select_option("unlikely")
    page.screenshot(path=artifacts / "sae_report_form.png", full_page=True)
    page.locator('[data-testid="treatment-form"] button[type=submit]').click()

    page.wait_for_url(f"{detail}#adverse-events")
    event = AdverseEvent.objects.get(participant=participant)
    panel = page.get_by_test_id("adverse-events-panel")
    expect(panel.get_by_test_id(f"adverse-event-{event.pk}")).to_contain_text("SUSAR")
    criteria = panel.get_by_test_id(f"sae-criteria-{event.pk}")
    expect(criteria).to_contain_text("Kræver indlæggelse")
    expect(criteria).to_contain_text("Er livstruende")
    expect(criteria).to_contain_text("Indlagt siden")
    expect(criteria).to_contain_text("Uventet")
    panel.screenshot(path=artifacts / "sae_report_panel.png")

    assert event.seriousness_criteria == ["life_threatening", "hospitalisation"]
    assert event.hospital_admitted_on == onset and event.hospital_discharged_on is None
    assert timezone.localtime(event.site_aware_at).strftime("%Y-%m-%d %H:%M") == (
        f"{onset.isoformat()} 09:15"
    )
    assert event.is_susar and event.sae_notified_at is not None
    [message] = mail.outbox
    assert message.to == ["coordinator@example.org"]
    assert message.subject == (
        f"VERTEBRA: SUSAR (formodet uventet alvorlig bivirkning) for {participant.trial_number}"
    )
    assert (
        "Alvorlighedskriterier (ICH E2A): Er livstruende; Kræver indlæggelse eller forlænger "
        "en igangværende indlæggelse"
    ) in message.body
    assert f"Indlæggelse: indlagt {onset.isoformat()}, endnu ikke udskrevet" in message.body
    assert f"Afdelingen fik kendskab: {onset.isoformat()} 09:15" in message.body
    assert "Forventelighed: Uventet" in message.body
    assert_no_csp_errors(console_errors)
    assert not console_errors, console_errors
