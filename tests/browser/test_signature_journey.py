"""Investigator sign-off in Chromium (issue 18): the site's hematologist signs the casebook from
the participant page with the password and a TOTP code; the research nurse corrects a value with
a reason; the hematologist finds "sign again" on the home page and the participant page."""

from __future__ import annotations

import pytest
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
from tests.factories import AdverseEventFactory, ScreeningFormFactory, randomised
from trial.models import Role, Signature, SignatureState

pytestmark = pytest.mark.browser

REASON = "Niveau tilføjet fra udskrivningsbrevet"


def test_hematologist_signs_nurse_corrects_hematologist_sees_sign_again(
    staff, world, live_server, page: Page, console_errors
):
    base = live_server.url
    participant = randomised(world.own_participant, days_ago=10)
    ScreeningFormFactory(participant=participant)
    event = AdverseEventFactory(participant=participant, description="Rygsmerter", grade=2)
    number = participant.trial_number
    hematologist = staff[Role.HEMATOLOGIST]

    # --- the hematologist signs the casebook: password again and a fresh code ---------------
    login_as(page, base, hematologist)
    page.goto(f"{base}/participants/{number}/")
    page.get_by_test_id("action-sign-casebook").click()
    meaning = danish(
        "I confirm that I have reviewed the data of this casebook and that it is accurate and "
        "complete to the best of my knowledge."
    )
    expect(page.get_by_test_id("signature-meaning")).to_have_text(meaning)
    # A wrong password is a clear error on the page, and nothing is signed.
    page.locator("#id_password").fill("ikke-adgangskoden")
    # The login's code may not be used twice: the code comes from a second app of theirs.
    signing_device = TOTPDevice.objects.create(user=hematologist, name="sign", confirmed=True)
    page.locator("#id_otp_token").fill(device_code(signing_device))
    page.get_by_test_id("signature-submit").click()
    expect(page.locator("#id_password")).to_have_attribute("aria-invalid", "true")
    assert not Signature.objects.exists()
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_otp_token").fill(device_code(signing_device))
    page.get_by_test_id("signature-submit").click()
    page.wait_for_url(f"{base}/participants/{number}/#signatures")
    signature = Signature.objects.get()
    row = page.get_by_test_id(f"signature-{signature.pk}")
    expect(row).to_contain_text(meaning)
    expect(row).to_contain_text(signature.signed_at.strftime("%Y-%m-%d %H:%M"))
    expect(page.get_by_test_id(f"signature-state-{signature.pk}")).to_have_text(danish("Valid"))
    log_out(page)

    # --- the nurse corrects the adverse event with a reason ---------------------------------
    login_as(page, base, staff[Role.NURSE])
    page.goto(f"{base}/participants/{number}/adverse-events/{event.pk}/")
    page.locator("#id_description").fill("Rygsmerter ved L2")
    page.locator("#id_reason").fill(REASON)
    page.locator("main form[method=post] button[type=submit]").click()
    page.wait_for_url(f"{base}/participants/{number}/**")
    signature.refresh_from_db()
    assert signature.state == SignatureState.NEEDS_RENEWAL
    log_out(page)

    # --- the hematologist is told: a home card and "sign again" on the participant page -----
    login_as(page, base, hematologist, device="second phone")
    card = page.get_by_test_id("home-card-signatures_renew")
    expect(card).to_be_visible()
    page.goto(f"{base}/participants/{number}/")
    expect(page.get_by_test_id("signatures-renew")).to_have_text(danish("Sign again"))
    expect(page.get_by_test_id(f"signature-{signature.pk}")).to_contain_text(REASON)
    page.get_by_test_id(f"action-sign-again-{signature.pk}").click()
    expect(page.get_by_test_id("signature-standing")).to_be_visible()
    assert_no_csp_errors(console_errors)
