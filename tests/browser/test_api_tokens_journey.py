"""Personal API tokens in Chromium (issue 20): the data manager creates a token on a 390 px
phone (a bad expiry first), copies the secret shown once, pulls participants with it, reads the
API reference page, and revokes the token, after which the API answers 401; the page never shows
the secret again."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_no_csp_errors, danish, device_code, log_in
from tests.factories import randomised
from trial.models import ApiToken, Role

pytestmark = pytest.mark.browser


def test_a_token_is_created_used_and_revoked(
    staff, world, live_server, page: Page, console_errors, artifacts
):
    base = live_server.url
    number = randomised(world.own_participant, days_ago=10).trial_number
    user = staff[Role.DATA_MANAGER]
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="app", confirmed=True)
    log_in(page, base, user.username, device_code(device))
    page.wait_for_url(f"{base}/")
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto(f"{base}/account/api-tokens/")
    expect(page.get_by_test_id("api-tokens")).to_contain_text(danish("You have no API tokens."))
    page.locator("#id_name").fill("R på min bærbare")
    page.locator("#id_days").fill("5000")  # past the longest expiry: refused on the page
    page.locator("main form[method=post] button[type=submit]").last.click()
    expect(page.locator("#id_days")).to_have_attribute("aria-invalid", "true")
    assert not ApiToken.objects.exists()
    page.locator("#id_days").fill("90")
    page.locator("main form[method=post] button[type=submit]").last.click()
    secret = page.get_by_test_id("api-token-secret").locator("code").inner_text().strip()
    assert len(secret) > 30
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the tokens page is {width}px wide on a 390px phone"
    page.screenshot(path=str(artifacts / "api-tokens-phone.png"), full_page=True)
    # The secret is stored hashed and never shown again.
    token = ApiToken.objects.get()
    assert secret not in str(token.__dict__)
    page.goto(f"{base}/account/api-tokens/")
    expect(page.get_by_test_id("api-token-secret")).to_have_count(0)
    expect(page.get_by_test_id("api-tokens")).to_contain_text("R på min bærbare")
    expect(page.get_by_test_id("api-tokens")).to_contain_text(
        danish("Read (metadata, participants, records)")
    )

    # --- the token pulls participants; the browser's own session cookie does not ------------
    bearer = {"Authorization": f"Bearer {secret}"}
    answer = page.request.get(f"{base}/api/v1/participants/", headers=bearer)
    assert answer.status == 200, answer.text()
    assert number in answer.text()
    assert page.request.get(f"{base}/api/v1/participants/").status == 401
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/api/docs/")
    expect(page.locator("main")).to_contain_text("/api/v1/participants/")

    # --- revoked: the API refuses it --------------------------------------------------------
    page.goto(f"{base}/account/api-tokens/")
    page.get_by_test_id("api-tokens").get_by_role("button").click()
    expect(page.get_by_test_id("api-tokens")).to_contain_text(danish("Revoked"))
    assert page.request.get(f"{base}/api/v1/participants/", headers=bearer).status == 401
    assert_no_csp_errors(console_errors)
