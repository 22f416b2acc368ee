"""The coordinator's folded navigation works in the browser: Bootstrap's drop-down opens under
the content-security policy, by mouse and by keyboard, and leads to the page."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.browser.conftest import assert_no_csp_errors, device_code, log_in
from trial.models import Role

pytestmark = pytest.mark.browser


def test_the_coordinator_opens_a_menu_and_reaches_the_deviations_page(
    staff, live_server, page, console_errors, artifacts
):
    coordinator = staff[Role.COORDINATOR]
    device = TOTPDevice.objects.create(user=coordinator, name="app", confirmed=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, live_server.url, coordinator.username, device_code(device))
    page.wait_for_url(f"{live_server.url}/")

    nav = page.locator("nav.navbar ul.navbar-nav").first
    first, last = nav.locator(":scope > li").first, nav.locator(":scope > li").last
    assert first.bounding_box()["y"] == last.bounding_box()["y"]  # one line at 1280 px
    # ... and so are the account menu and the language switch (in Danish, the longer labels).
    account = page.get_by_test_id("account-controls").bounding_box()
    assert account["y"] < last.bounding_box()["y"] + last.bounding_box()["height"]
    assert page.locator("nav.navbar").bounding_box()["height"] < 70
    # The account menu names who is logged in, with the role; logging out is in it.
    menu_button = page.get_by_test_id("account-menu").locator("button").first
    menu_button.click()
    expect(page.get_by_test_id("whoami")).to_be_visible()
    expect(page.get_by_test_id("whoami")).to_contain_text(coordinator.get_full_name())
    menu_button.click()

    group = page.get_by_test_id("nav-group-randomisation")
    menu = group.locator(".dropdown-menu")
    expect(menu).to_be_hidden()
    group.locator("button").click()
    expect(menu).to_be_visible()
    page.screenshot(path=artifacts / "nav-menu-open.png")
    menu.locator("a[href='/randomisation/deviations/']").click()
    page.wait_for_url(f"{live_server.url}/randomisation/deviations/")
    expect(page.get_by_test_id("nav-group-randomisation").locator("button")).to_have_class(
        "nav-link dropdown-toggle active"
    )

    # By keyboard: focus the menu button, open it with Enter, move with the arrow key.
    admin = page.get_by_test_id("nav-group-admin")
    admin.locator("button").focus()
    page.keyboard.press("Enter")
    expect(admin.locator(".dropdown-menu")).to_be_visible()
    page.keyboard.press("ArrowDown")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "/sites/"
    assert_no_csp_errors(console_errors)


@pytest.mark.parametrize("role", [Role.MONITOR, Role.DATA_MANAGER, Role.HEMATOLOGIST])
def test_every_central_and_clinical_bar_fits_one_line_at_1280_px(staff, live_server, page, role):
    user = staff[role]
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, live_server.url, user.username, device_code(device))
    page.wait_for_url(f"{live_server.url}/")
    last = page.locator("nav.navbar ul.navbar-nav").first.locator(":scope > li").last
    account = page.get_by_test_id("account-controls").bounding_box()
    assert account["y"] < last.bounding_box()["y"] + last.bounding_box()["height"], role
    assert page.locator("nav.navbar").bounding_box()["height"] < 70, role
