"""A query in Chromium (issue 18): the monitor raises one on an adverse event's description
from the participant page; the research nurse finds it on the query list, opens the form from
the query, corrects the value with a reason; the correction lands on the thread and answers the
query; the monitor closes it. The nurse's query list also reads on a 390 px phone."""

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
from trial.models import AdverseEvent, Query, QueryState, Role

pytestmark = pytest.mark.browser

REASON = "Niveau tilføjet fra udskrivningsbrevet"


def test_monitor_raises_nurse_corrects_monitor_closes(
    staff, world, live_server, page: Page, console_errors, artifacts
):
    base = live_server.url
    participant = randomised(world.own_participant, days_ago=10)
    event = AdverseEventFactory(participant=participant, description="Rygsmerter", grade=2)
    number = participant.trial_number

    # --- the monitor raises the query from the participant page ----------------------------
    login_as(page, base, staff[Role.MONITOR])
    page.goto(f"{base}/participants/{number}/")
    page.get_by_test_id("action-query-raise").click()
    page.locator("#id_item").select_option(f"trial.AdverseEvent:{event.pk}:description")
    page.locator("#id_text").fill("Hvilket niveau gælder smerterne?")
    page.locator("main form[method=post] button[type=submit]").click()
    expect(page.get_by_test_id("query-state")).to_have_text(danish("Open"))
    expect(page.get_by_test_id("value-when-raised")).to_have_text("Rygsmerter")
    query = Query.objects.get()
    log_out(page)

    # --- the nurse finds it on a phone, opens the form from it, corrects with a reason -------
    login_as(page, base, staff[Role.NURSE])
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/queries/")
    row = page.get_by_test_id(f"query-row-{query.pk}")
    expect(row).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the query list is {width}px wide on a 390px phone"
    page.screenshot(path=str(artifacts / "query-list-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    row.locator(f"a[href='/queries/{query.pk}/']").click()
    expect(page.get_by_test_id("query-answer")).to_be_visible()
    expect(page.get_by_test_id("query-close")).to_have_count(0)
    page.get_by_test_id("query-correct").click()
    page.locator("#id_description").fill("Rygsmerter ved L2")
    page.locator("#id_reason").fill(REASON)
    page.locator("main form[method=post] button[type=submit]").click()
    page.goto(f"{base}/queries/{query.pk}/")
    expect(page.get_by_test_id("query-state")).to_have_text(danish("Answered"))
    thread = page.get_by_test_id("query-thread")
    expect(thread).to_contain_text("Rygsmerter → Rygsmerter ved L2")
    expect(thread).to_contain_text(REASON)
    assert AdverseEvent.objects.get(pk=event.pk).description == "Rygsmerter ved L2"
    log_out(page)

    # --- the monitor closes it ------------------------------------------------------------
    login_as(page, base, staff[Role.MONITOR], device="second phone")
    page.goto(f"{base}/queries/{query.pk}/")
    expect(page.get_by_test_id("value-now")).to_have_text("Rygsmerter ved L2")
    page.get_by_test_id("query-close").click()
    expect(page.get_by_test_id("query-state")).to_have_text(danish("Closed"))
    page.screenshot(path=str(artifacts / "query-closed.png"), full_page=True)
    assert Query.objects.get().state == QueryState.CLOSED
    assert_no_csp_errors(console_errors)
