"""Browser look at the CONSORT 2010 figure (outcome report and the DMC's closed report) at a
desktop width and a phone width: drawn, every box inside the figure, no CSP error, and the
closed report refused to a role the coordinator has not named."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import ProcedureFactory, randomised_with_outcomes
from trial.models import Role

pytestmark = pytest.mark.browser


def _boxes_inside(page) -> None:
    figure = page.get_by_test_id("consort-figure").first
    svg = figure.locator("svg")
    svg_box = svg.bounding_box()
    assert svg_box and svg_box["width"] >= 700  # drawn at its own width, never squeezed
    boxes = svg.locator("g[data-box] rect")
    assert boxes.count() >= 9  # assessed, excluded, randomised, 3 stages x 2 arms
    for i in range(boxes.count()):
        box = boxes.nth(i).bounding_box()
        assert box and box["width"] > 0
        assert box["x"] >= svg_box["x"] - 1
        assert box["x"] + box["width"] <= svg_box["x"] + svg_box["width"] + 1


@pytest.mark.parametrize("width", [1280, 390])
def test_the_consort_figure_at_desktop_and_phone_width(
    staff, world, live_server, page, console_errors, artifacts, width
):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.browser.conftest import assert_no_csp_errors, device_code, log_in

    user = staff[Role.DATA_MANAGER]
    pvp = randomised_with_outcomes(world.own, 3, arm="pvp", user=user)
    ProcedureFactory(participant=pvp[0])
    randomised_with_outcomes(world.other, 2, arm="conservative", start=200, user=user)
    page.set_viewport_size({"width": width, "height": 900})
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    log_in(page, live_server.url, user.username, device_code(device))
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}{reverse('trial:outcome_report')}")
    _boxes_inside(page)
    figure = page.get_by_test_id("consort-figure").first
    figure.screenshot(path=artifacts / f"consort-outcome-{width}.png")
    # On a phone the figure scrolls inside its frame; the page itself does not widen.
    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= width + 1, page_width

    page.goto(f"{live_server.url}{reverse('trial:dmc_closed')}")
    page.get_by_test_id("dmc-ae").wait_for()
    _boxes_inside(page)
    page.screenshot(path=artifacts / f"dmc-closed-{width}.png", full_page=True)
    assert_no_csp_errors(console_errors)


def test_the_monitor_is_refused_the_closed_report_until_named(
    staff, world, live_server, page, console_errors
):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.browser.conftest import device_code, log_in
    from trial.reports.dmc_access import dmc_closed_roles_set

    monitor = staff[Role.MONITOR]
    device = TOTPDevice.objects.create(user=monitor, name="app", confirmed=True)
    log_in(page, live_server.url, monitor.username, device_code(device))
    page.wait_for_url(f"{live_server.url}/")
    response = page.goto(f"{live_server.url}{reverse('trial:dmc_closed')}")
    assert response is not None and response.status == 403
    page.goto(f"{live_server.url}{reverse('trial:dmc_settings')}")
    assert page.get_by_test_id("dmc-closed-link").count() == 0
    dmc_closed_roles_set(
        user=staff[Role.COORDINATOR], roles=[Role.MONITOR], reason="DMC charter version 2"
    )
    response = page.goto(f"{live_server.url}{reverse('trial:dmc_closed')}")
    assert response is not None and response.status == 200
