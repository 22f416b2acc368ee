"""The screening journey in Chromium.

A hematologist logs in, screens a patient, fills the screening form and the checklist, records
consent and refers; the surgeon of the collaborating department logs in, sees the referral and
completes the assessment; the readiness panel then says only the baseline questionnaires are
missing. A hematologist of another site cannot open that patient (404).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, assert_no_csp_errors, device_code, log_in
from tests.factories import ensure_default_criteria
from trial.models import (
    Consent,
    EligibilityAssessment,
    Participant,
    Referral,
    ReferralStatus,
    Role,
    ScreeningForm,
    ScreeningLogEntry,
    SurgicalAssessment,
)
from trial.registry import Blocker, registry

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _reference_data(db):
    """Earlier live-server tests flush the tables that migration 0003 filled."""
    ensure_default_criteria()


CPR = "170550-1234"


@pytest.fixture
def staff(world):
    for user in [*world.users.values(), world.outsider]:
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return world.users


@pytest.fixture
def baseline_check():
    """The questionnaires app registers the baseline check; stand in for it if it has not."""
    registered = any(
        getattr(fn, "__name__", "") == "baseline_blockers" for _, fn in registry.readiness_checks
    )
    if registered:
        yield
        return

    def baseline_blockers(participant):
        return [Blocker("baseline", "Baseline questionnaires are not complete", "")]

    registry.readiness_checks.append((40, baseline_blockers))
    yield
    registry.readiness_checks.remove((40, baseline_blockers))


def day(days_ago: int) -> str:
    return (timezone.localdate() - dt.timedelta(days=days_ago)).isoformat()


def login(page: Page, base: str, user) -> None:
    device = TOTPDevice.objects.get(user=user)
    log_in(page, base, user.username, device_code(device))
    page.wait_for_url(f"{base}/")


def logout(page: Page) -> None:
    page.get_by_test_id("account-menu").locator("button").first.click()
    page.locator("nav form[action$='/account/logout/'] button").click()


def save(page: Page) -> None:
    page.locator("main form[method=post] button[type=submit]").click()


def test_hematologist_and_surgeon_take_a_patient_to_ready(
    staff, world, baseline_check, live_server, page: Page, console_errors, artifacts
):
    base = live_server.url
    hematologist, surgeon = staff[Role.HEMATOLOGIST], staff[Role.SURGEON]

    # --- the hematologist screens and includes a patient --------------------------------
    login(page, base, hematologist)
    page.locator("main a[href='/screening/new/']").first.click()
    page.locator("#id_screened_on").fill(day(3))
    page.locator("#id_cpr").fill(CPR)
    page.locator("#id_sex").select_option("F")
    page.locator("#id_myeloma_status").select_option("known")
    page.locator("input[name=decision][value=included]").check()
    page.locator("#id_full_name").fill("Karen Hansen")
    page.screenshot(path=artifacts / "screening-1-log.png", full_page=True)
    save(page)

    expect(page.get_by_test_id("participant-heading")).to_contain_text("AAR-002")
    participant = Participant.objects.get(trial_number="AAR-002")
    assert participant.initials == "KH"
    number = participant.trial_number
    expect(page.get_by_test_id("readiness-items").locator("li")).to_have_count(5)
    page.screenshot(path=artifacts / "screening-2-registered.png", full_page=True)

    # --- the screening form ----------------------------------------------------------------
    page.get_by_test_id("action-screening-form").click()
    page.locator("#id_diagnosis_date").fill(day(400))
    page.locator("#id_iss_stage").select_option("II")
    page.locator("#id_riss_stage").select_option("II")
    page.locator("#id_prior_lines").fill("1")
    page.locator("#id_disease_status").select_option("PR")
    page.locator("#id_bone_therapy").select_option("zoledronic_acid")
    page.locator("#id_bone_therapy_start").fill(day(300))
    page.locator("#id_paracetamol").check()
    page.locator("#id_opioid").check()
    page.locator("#id_opioid_ome_mg_per_day").fill("5000")  # implausible: a clear message
    page.locator("#id_pain_onset_date").fill(day(20))
    save(page)
    expect(page.locator("#id_opioid_ome_mg_per_day")).to_have_class(re.compile(r"is-invalid"))
    page.screenshot(path=artifacts / "screening-3-form-error.png", full_page=True)
    page.locator("#id_opioid_ome_mg_per_day").fill("30")
    save(page)
    expect(page.get_by_test_id("screening-form-summary")).to_be_visible()
    assert ScreeningForm.objects.filter(participant=participant).exists()

    # --- the eligibility checklist ---------------------------------------------------------
    page.get_by_test_id("action-eligibility").click()
    for criterion in page.locator("[data-criterion]").all():
        kind_inclusion = "criterion-inclusion" in (criterion.get_attribute("class") or "")
        criterion.locator(f"input[value={'yes' if kind_inclusion else 'no'}]").check()
    page.screenshot(path=artifacts / "screening-4-checklist.png", full_page=True)
    save(page)
    expect(page.get_by_test_id("eligibility-result")).to_be_visible()
    assert EligibilityAssessment.objects.filter(participant=participant).exists()

    # --- consent ---------------------------------------------------------------------------
    page.get_by_test_id("action-consent").click()
    page.locator("#id_consent_date").fill(day(2))
    page.locator("#id_oral_information_given").check()
    page.locator("#id_written_information_given").check()
    save(page)
    expect(page.get_by_test_id("consent-summary")).to_be_visible()
    assert Consent.objects.filter(participant=participant).exists()

    # --- referral --------------------------------------------------------------------------
    page.get_by_test_id("action-referral").click()
    page.locator("#id_note").fill("Ny fraktur i L1.")
    save(page)
    expect(page.get_by_test_id("referral-summary")).to_be_visible()
    referral = Referral.objects.get(participant=participant)
    assert referral.surgical_site == world.own.surgical_partner
    codes = page.get_by_test_id("readiness-items").locator("li")
    expect(codes).to_have_count(2)  # the surgical assessment and the baseline
    page.screenshot(path=artifacts / "screening-5-referred.png", full_page=True)
    logout(page)

    # --- the surgeon of the collaborating department ---------------------------------------
    login(page, base, surgeon)
    row = page.get_by_test_id("referrals").locator(f"tr[data-participant='{number}']")
    expect(row).to_be_visible()
    page.screenshot(path=artifacts / "screening-6-surgeon-home.png", full_page=True)
    row.locator("a").first.click()
    page.get_by_test_id("action-surgical-assessment").click()
    page.locator("#id_assessed_on").fill(day(0))
    page.locator("input[name=contraindication][value=no]").check()
    page.locator("label[for=id_planned_levels_12]").click()  # L1 (T1..T12 are 0..11)
    page.locator("label[for=id_planned_levels_11]").click()  # T12
    page.locator("input[name=earlier_fractures][value=yes]").check()
    page.locator("label[for=id_earlier_fracture_levels_7]").click()  # T8
    page.locator("#id_risk_information_given").check()
    page.screenshot(path=artifacts / "screening-7-vertebra-picker.png", full_page=True)
    save(page)

    assessment = SurgicalAssessment.objects.get(participant=participant)
    assert assessment.planned_levels == ["T12", "L1"]
    assert assessment.earlier_fracture_levels == ["T8"]
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.ASSESSED
    expect(page.get_by_test_id("planned-levels")).to_have_text("T12, L1")

    # --- readiness: only the baseline questionnaires are missing ---------------------------
    items = page.get_by_test_id("readiness-items").locator("li")
    expect(items).to_have_count(1)
    assert items.first.get_attribute("data-code") == "baseline"
    page.screenshot(path=artifacts / "screening-8-ready-but-baseline.png", full_page=True)
    logout(page)

    # --- a hematologist of another site cannot open the patient ----------------------------
    login(page, base, world.outsider)
    response = page.goto(f"{base}/participants/{number}/")
    assert response.status == 404
    assert_no_csp_errors(console_errors)


def test_the_duplicate_warning_needs_an_explicit_confirmation(
    staff, world, live_server, page: Page, console_errors, artifacts
):
    base = live_server.url
    login(page, base, world.outsider)
    for attempt in range(2):
        page.goto(f"{base}/screening/new/")
        page.locator("#id_screened_on").fill(day(1))
        page.locator("#id_cpr").fill(CPR)
        page.locator("#id_sex").select_option("F")
        page.locator("#id_myeloma_status").select_option("new")
        page.locator("input[name=decision][value=declined]").check()
        page.locator("#id_reason").fill("Ønsker ikke at deltage")
        save(page)
        if attempt == 0:
            page.wait_for_url(f"{base}/screening/")
    warning = page.get_by_test_id("duplicate-warning")
    expect(warning).to_be_visible()
    expect(warning.locator("a")).to_have_count(1)  # own site: a link to the earlier entry
    page.screenshot(path=artifacts / "screening-9-duplicate.png", full_page=True)
    page.locator("#id_confirm_duplicate").check()
    save(page)
    page.wait_for_url(f"{base}/screening/")
    expect(page.get_by_test_id("screening-log").locator("tbody tr")).to_have_count(2)
    assert_no_csp_errors(console_errors)


def test_a_patient_not_eligible_is_logged_with_the_criteria_failed(
    staff, world, live_server, page: Page, console_errors, artifacts
):
    base = live_server.url
    login(page, base, staff[Role.HEMATOLOGIST])
    page.goto(f"{base}/screening/new/")
    criteria = page.get_by_test_id("failed-criteria")
    expect(criteria).to_be_hidden()  # only once "not eligible" is chosen
    page.locator("#id_screened_on").fill(day(2))
    page.locator("#id_cpr").fill(CPR)
    page.locator("#id_sex").select_option("F")
    page.locator("#id_myeloma_status").select_option("known")
    page.locator("input[name=decision][value=not_eligible]").check()
    expect(criteria).to_be_visible()
    page.locator("#id_reason").fill("Smerter i mere end 3 måneder")
    save(page)  # no criterion ticked: refused, with the message at the boxes
    expect(criteria.locator(".invalid-feedback, .text-danger").first).to_be_visible()
    criteria.locator("input[value=pain_within_3_months]").check()
    page.screenshot(path=artifacts / "screening-12-not-eligible.png", full_page=True)
    save(page)
    page.wait_for_url(f"{base}/screening/")
    entry = ScreeningLogEntry.objects.get()
    assert entry.failed_criteria == ["pain_within_3_months"]
    assert_no_csp_errors(console_errors)


def test_the_coordinator_reads_the_consort_numbers_of_the_demo(
    live_server, page: Page, console_errors, artifacts
):
    from io import StringIO

    from django.core.management import call_command

    from trial.models import User

    call_command("seed_demo", stdout=StringIO())
    coordinator = User.objects.get(username="coordinator")
    coordinator.set_password(PASSWORD)
    coordinator.save(update_fields=["password"])
    TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    login(page, live_server.url, coordinator)

    page.goto(f"{live_server.url}/consort/")
    consort = page.get_by_test_id("consort")
    for box in ("screened", "not_eligible", "declined", "referred", "contraindicated"):
        number = consort.locator(f"[data-count={box}] .consort-n").text_content()
        assert int(number) > 0, box
    page.screenshot(path=artifacts / "screening-10-consort.png", full_page=True)

    page.goto(f"{live_server.url}/screening/")
    expect(page.get_by_test_id("screening-log").locator("tbody tr").first).to_be_visible()
    page.screenshot(path=artifacts / "screening-11-log.png", full_page=True)
    assert_no_csp_errors(console_errors)
