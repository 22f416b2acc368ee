"""A participant's lock in Chromium (issue 18): the data manager locks a participant whose
follow-up is not over, giving the reason the page asks for; the research nurse then sees the
"Locked" badge and no edit link, and the adverse event's edit page refuses, naming the lock."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    assert_no_csp_errors,
    danish,
    log_out,
    login_as,
)
from tests.factories import AdverseEventFactory, randomised
from trial.models import AdverseEvent, DataLock, Role

pytestmark = pytest.mark.browser

REASON = "Patienten er flyttet til udlandet; ingen flere data kommer"


def test_data_manager_locks_with_a_reason_and_the_nurse_is_refused(
    staff, world, live_server, page: Page, console_errors
):
    base = live_server.url
    participant = randomised(world.own_participant, days_ago=10)
    event = AdverseEventFactory(participant=participant, description="Rygsmerter", grade=2)
    number = participant.trial_number

    # --- the data manager locks: the follow-up is not over, so a reason is asked -----------
    login_as(page, base, staff[Role.DATA_MANAGER])
    page.goto(f"{base}/participants/{number}/")
    expect(page.get_by_test_id("locked-badge")).to_have_count(0)
    page.get_by_test_id("action-lock").click()
    expect(page.get_by_test_id("lock-unmet")).to_be_visible()
    page.get_by_test_id("lock-submit").click()
    expect(page.locator(".invalid-feedback, .errorlist, .alert-danger").first).to_be_visible()
    assert not DataLock.objects.exists()
    page.locator("#id_reason").fill(REASON)
    page.get_by_test_id("lock-submit").click()
    page.wait_for_url(f"{base}/participants/{number}/")
    expect(page.get_by_test_id("locked-badge")).to_have_text(danish("Locked"))
    expect(page.get_by_test_id("lock-reason")).to_contain_text(REASON)
    log_out(page)

    # --- the nurse sees the badge, no edit link, and the edit page refuses ----------------
    login_as(page, base, staff[Role.NURSE])
    page.goto(f"{base}/participants/{number}/")
    expect(page.get_by_test_id("locked-badge")).to_be_visible()
    expect(page.locator(f"a[href$='/adverse-events/{event.pk}/']")).to_have_count(0)
    response = page.goto(f"{base}/participants/{number}/adverse-events/{event.pk}/")
    assert response is not None and response.status == 403
    expect(page.get_by_test_id("locked-message")).to_contain_text(f"{number} er låst")
    assert AdverseEvent.objects.get(pk=event.pk).description == "Rygsmerter"
    assert_no_csp_errors(console_errors)
