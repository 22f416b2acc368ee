"""Work lists on a 390 px phone: each row is a block of labelled lines, nothing is cut off and
the page never scrolls sideways (the nurse's worklist, the coordinator's staff list)."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_no_csp_errors, device_code, log_in
from tests.followup.conftest import open_contact, randomised
from trial.models import Role
from trial.protocol.schedule import local_today

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"


@pytest.mark.parametrize(
    ("role", "path", "table"),
    [(Role.NURSE, "/followup/", "contact-table"), (Role.COORDINATOR, "/staff/", "staff-list")],
)
def test_a_work_list_fits_a_phone(
    staff, world, live_server, page: Page, console_errors, artifacts, role, path, table
):
    today = local_today()
    for patient in randomised(world.own, 3, start=80):
        open_contact(patient, "W1", target=today)
    user = staff[role]
    page.set_viewport_size(PHONE)
    log_in(
        page,
        live_server.url,
        user.username,
        device_code(TOTPDevice.objects.create(user=user, name="app", confirmed=True)),
    )
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}{path}")
    rows = page.get_by_test_id(table).locator("tbody tr")
    expect(rows.first).to_be_visible()
    page.screenshot(path=artifacts / f"phone-list-{role}.png", full_page=True)
    _fits(page)
    # Each cell names its column, since the header row is hidden on a phone.
    assert page.get_by_test_id(table).locator("thead").is_hidden()
    first = rows.first.locator("td[data-label]").first
    label = first.get_attribute("data-label")
    before = page.evaluate("el => getComputedStyle(el, '::before').content", first.element_handle())
    assert label and label in before
    assert_no_csp_errors(console_errors)


def test_the_participant_page_with_adverse_events_fits_a_phone(
    staff, world, live_server, page: Page, console_errors, artifacts
):
    from tests.factories import AdverseEventFactory, randomised

    participant = randomised(world.own_participant, days_ago=30)
    AdverseEventFactory(
        participant=participant,
        description="Fever after the procedure with a long description of what was seen",
        serious=True,
    )
    AdverseEventFactory(participant=participant, description="Headache")
    user = staff[Role.HEMATOLOGIST]
    page.set_viewport_size(PHONE)
    log_in(
        page,
        live_server.url,
        user.username,
        device_code(TOTPDevice.objects.create(user=user, name="app", confirmed=True)),
    )
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/participants/{participant.trial_number}/")
    events = page.get_by_test_id("adverse-events").locator("tbody tr")
    expect(events).to_have_count(2)
    page.get_by_test_id("adverse-events-panel").screenshot(path=artifacts / "phone-ae-panel.png")
    _fits(page)
    assert_no_csp_errors(console_errors)
