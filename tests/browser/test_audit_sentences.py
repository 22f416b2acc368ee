"""Browser check: a participant's audit history reads as sentences, the participant's
autosaves folded into one entry that opens to the full list."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from questionnaires import services as questionnaire_services
from questionnaires.models import Mode
from trial.models import Role

pytestmark = pytest.mark.browser

from tests.browser.conftest import assert_no_csp_errors, device_code, log_in  # noqa: E402


def test_the_history_reads_as_sentences_with_autosaves_folded(
    staff, world, live_server, page: Page, console_errors, artifacts
):
    participant = world.own_participant
    for n in range(1, 4):
        questionnaire_services.response_save_answers(
            participant=participant,
            visit_code="BL",
            instrument_code="odi",
            answers={f"odi_{n}": n},
            mode=Mode.LINK,
        )
    questionnaire_services.visit_submit(participant=participant, visit_code="BL", mode=Mode.LINK)
    user = staff[Role.DATA_MANAGER]
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    log_in(page, live_server.url, user.username, device_code(device))
    page.wait_for_url(f"{live_server.url}/")
    page.goto(
        live_server.url + reverse("trial:participant_history", args=[participant.trial_number])
    )

    odi = page.get_by_test_id("audit-line").filter(has_text="Oswestry Disability Index")
    expect(odi).to_have_count(1)
    expect(odi).to_contain_text(
        "The participant (by personal link) answered Oswestry Disability Index at visit BL "
        "(3 autosaves,"
    )
    expect(odi).to_contain_text("submitted")
    folded = odi.get_by_test_id("audit-folded")
    expect(folded.locator("li").first).to_be_hidden()
    folded.locator(":scope > summary").click()
    expect(folded.locator("li")).to_have_count(4)
    expect(folded.locator("li").last).to_contain_text(
        "The participant (by personal link) recorded Oswestry Disability Index at visit BL."
    )
    expect(page.locator("main")).not_to_contain_text("{'odi_")
    page.screenshot(path=artifacts / "audit-sentences.png", full_page=True)
    assert_no_csp_errors(console_errors)
