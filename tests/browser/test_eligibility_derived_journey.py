"""Derived eligibility in Chromium, as the hematologist meets it (issue 17, item 7).

A patient with known myeloma (cohort A) whose screening form gives fracture pain since seven
months ago: the checklist shows "pain at most 3 months" derived as "no" with its source, its
"yes" cannot be ticked, an answer "yes" posted anyway is refused with a message naming both,
and once saved the participant page says the patient is not eligible, for that criterion.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, assert_no_csp_errors, danish, device_code, log_in
from tests.factories import derivation_records, ensure_default_criteria
from trial.models import EligibilityAssessment, Role

pytestmark = pytest.mark.browser

PAIN = "pain_within_3_months"


@pytest.fixture(autouse=True)
def _reference_data(db):
    """Earlier live-server tests flush the tables that migration 0003 filled."""
    ensure_default_criteria()


@pytest.fixture
def hematologist(world):
    user = world.users[Role.HEMATOLOGIST]
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user


def test_pain_for_seven_months_is_derived_and_cannot_be_ticked_away(
    world, hematologist, live_server, page: Page, console_errors, artifacts
):
    base = live_server.url
    participant = world.own_participant
    derivation_records(
        participant,
        hematologist,
        myeloma_status="known",
        pain_onset_date=timezone.localdate() - dt.timedelta(days=216),
    )
    log_in(
        page, base, hematologist.username, device_code(TOTPDevice.objects.get(user=hematologist))
    )
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}{participant.get_absolute_url()}")
    page.get_by_test_id("action-eligibility").click()

    # --- shown derived "no", with where it comes from ------------------------------------
    pain = page.locator(f"[data-derived-criterion={PAIN}]")
    expect(pain).to_have_attribute("data-answer", "no")
    expect(pain.locator("input[type=radio][value=no]")).to_be_checked()
    expect(pain.get_by_test_id("derived-source")).to_contain_text(
        re.compile(r"\d+ dage før inklusion")
    )
    expect(pain.get_by_test_id("derived-source")).to_contain_text("screeningsskema")
    expect(page.locator("[data-derived-criterion=adult_myeloma]")).to_have_attribute(
        "data-answer", "yes"
    )
    page.screenshot(path=artifacts / "eligibility-derived-1-shown.png", full_page=True)

    # --- the hematologist tries to tick "yes": it cannot be ticked ----------------------
    yes = pain.locator("input[type=radio][value=yes]")
    expect(yes).to_be_disabled()
    pain.locator(f"label[for=derived_{PAIN}_yes]").click(force=True)  # as a user would
    expect(yes).not_to_be_checked()

    # --- a "yes" posted anyway (an old page, a hand-made post) is refused, naming both ---
    for criterion in page.locator("[data-criterion]").all():
        inclusion = "criterion-inclusion" in (criterion.get_attribute("class") or "")
        criterion.locator(f"input[value={'yes' if inclusion else 'no'}]").check()
    pain.locator(f"input[type=hidden][name=c_{PAIN}]").evaluate("input => input.value = 'yes'")
    page.locator("main form[method=post] button[type=submit]").click()
    error = page.locator(f"[data-derived-criterion={PAIN}]").get_by_test_id("derived-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(danish("Yes"))
    expect(error).to_contain_text(danish("No"))
    expect(error).to_contain_text("Du svarede")
    expect(error).to_contain_text(re.compile(r"\d+ dage før inklusion"))
    page.screenshot(path=artifacts / "eligibility-derived-2-refused.png", full_page=True)
    assert not EligibilityAssessment.objects.filter(participant=participant).exists()

    # --- saved as the data says: the participant is not eligible, for that criterion -----
    for criterion in page.locator("[data-criterion]").all():
        inclusion = "criterion-inclusion" in (criterion.get_attribute("class") or "")
        criterion.locator(f"input[value={'yes' if inclusion else 'no'}]").check()
    page.locator("main form[method=post] button[type=submit]").click()
    page.wait_for_url(f"{base}{participant.get_absolute_url()}")
    result = page.get_by_test_id("eligibility-result")
    expect(result).to_contain_text(danish("Not eligible"))
    expect(page.locator("[data-code=eligibility]")).to_contain_text("3 måneder")
    page.screenshot(path=artifacts / "eligibility-derived-3-not-eligible.png", full_page=True)

    assessment = EligibilityAssessment.objects.get(participant=participant)
    assert assessment.answers[PAIN] == "no"
    assert "dage før inklusion" in assessment.derived[PAIN]["source"]
    assert_no_csp_errors(console_errors)
