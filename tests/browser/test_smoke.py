"""Browser smoke test: every role logs in through the real login page with a TOTP code.

Also the first login (QR set-up of the authenticator app) and the language switch. Every page
must load Bootstrap and our stylesheet and raise no content-security-policy errors.
"""

from __future__ import annotations

import base64
import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from trial.models import Role

pytestmark = pytest.mark.browser

from tests.browser.conftest import (  # noqa: E402
    PASSWORD,
    assert_no_csp_errors,
    assert_styled,
    danish,
    device_code,
    english,
    log_in,
    submit_main_form,
)


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_each_role_logs_in_with_totp_and_sees_its_home(
    role, staff, live_server, page: Page, console_errors, artifacts
):
    user = staff[role]
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)

    log_in(page, live_server.url, user.username, device_code(device))

    page.wait_for_url(f"{live_server.url}/")
    label = danish(Role(role).label)
    expect(page.get_by_test_id("home-heading")).to_have_text(label)
    expect(page.get_by_test_id("whoami")).to_contain_text(label)
    expect(page.get_by_test_id("whoami")).to_contain_text(user.get_full_name())
    assert_styled(page)
    page.screenshot(path=artifacts / f"home-{role.value}.png", full_page=True)
    assert_no_csp_errors(console_errors)


def test_first_login_sets_up_the_authenticator_with_a_qr_code(
    staff, live_server, page: Page, console_errors, artifacts
):
    user = staff[Role.NURSE]
    assert not TOTPDevice.objects.filter(user=user).exists()

    log_in(page, live_server.url, user.username)  # no app yet: no code

    page.wait_for_url(f"{live_server.url}/account/second-factor/")
    qr = page.locator(".qr-box img")
    expect(qr).to_be_visible()
    page.wait_for_function("img => img.complete", arg=qr.element_handle())
    page.screenshot(path=artifacts / "otp-setup.png", full_page=True)
    assert qr.evaluate("img => img.naturalWidth") > 0, "the QR code image did not load"
    assert_styled(page)

    # The QR code's page created the unconfirmed device; its key is also shown for typing by
    # hand (base32, in groups of four, as authenticator apps take it).
    device = TOTPDevice.objects.get(user=user)
    assert not device.confirmed
    shown = page.get_by_test_id("otp-secret").text_content()
    typed = "".join(shown.split()).upper()
    assert base64.b32decode(typed + "=" * (-len(typed) % 8)) == device.bin_key
    page.locator("#id_password").fill(PASSWORD)  # enrolling asks for the password again
    page.locator("#id_otp_token").fill(device_code(device))
    submit_main_form(page)

    page.wait_for_url(f"{live_server.url}/")
    expect(page.get_by_test_id("home-heading")).to_have_text(danish(Role.NURSE.label))
    expect(page.get_by_role("alert")).to_contain_text(danish("Second factor confirmed."))
    device.refresh_from_db()
    assert device.confirmed
    assert_no_csp_errors(console_errors)


def test_language_switch_changes_danish_to_english(staff, live_server, page: Page, console_errors):
    user = staff[Role.HEMATOLOGIST]
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    log_in(page, live_server.url, user.username, device_code(device))
    page.wait_for_url(f"{live_server.url}/")

    switch = page.get_by_test_id("language-switch")
    expect(page.locator("html")).to_have_attribute("lang", "da")
    expect(switch.locator("button[value=da]")).to_have_attribute("aria-current", "true")
    expect(page.get_by_test_id("home-heading")).to_have_text(danish(Role.HEMATOLOGIST.label))

    switch.locator("button[value=en]").click()

    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(switch.locator("button[value=en]")).to_have_attribute("aria-current", "true")
    expect(switch.locator("button[value=da]")).not_to_have_attribute("aria-current", "true")
    expect(page.get_by_test_id("home-heading")).to_have_text("Hematologist")
    expect(page.get_by_test_id("whoami")).to_contain_text("Hematologist")
    assert_no_csp_errors(console_errors)


def test_interface_speaks_danish_by_default(live_server, page: Page, console_errors):
    """The default language shows Danish text, not the English source strings."""
    page.goto(f"{live_server.url}/account/login/")
    expect(page.locator("html")).to_have_attribute("lang", "da")
    heading = page.locator("main h1")
    expect(heading).to_have_text(danish("Log in to VERTEBRA"))
    assert heading.text_content().strip() != english("Log in to VERTEBRA"), (
        "the login page is in English although the language is Danish: "
        "locale/da/LC_MESSAGES/django.po is untranslated or django.mo not compiled"
    )
    expect(page.locator("main form button[type=submit]")).not_to_have_text(
        re.compile(r"^\s*Log in\s*$")
    )
    assert_no_csp_errors(console_errors)
