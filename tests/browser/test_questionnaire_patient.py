"""A patient on a phone fills the baseline questionnaires through a personal link.

On a 390x844 touch viewport: opens the link (Danish), taps through the ODI, sets the back-pain
VAS by tapping the slider and types the leg-pain VAS, closes the page half-way, reopens the
link and finds every answer kept, switches to English with one tap, answers EQ-5D-3L by taps and
keys (EQ VAS with the arrow keys), submits, and sees the thank-you page. Then the nurse logs in
and sees the scores on the participant page. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from questionnaires.models import QuestionnaireResponse, ResponseStatus
from questionnaires.scoring import eq5d3l_index, odi_score
from tests.browser.conftest import assert_no_csp_errors, device_code, log_in
from tests.questionnaires.factories import letter_link
from trial.models import Role

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
ODI_TAPS = [2, 3, 1, 4, 2, 3, 2, 0, 3, 2]  # choice per ODI section
EQ5D_TAPS = [2, 1, 2, 3]  # MO, SC, UA, PD by tapping; AD by keyboard


def _da(text: str) -> str:
    with translation.override("da"):
        return translation.gettext(text)


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        locale="da-DK",
        timezone_id="Europe/Copenhagen",
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    yield context
    context.close()


def _watch(page: Page, errors: list[str]) -> Page:
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    return page


def _saved(page: Page) -> None:
    status = page.locator("[data-autosave-status]")
    expect(status).to_have_attribute("data-saved", status.get_attribute("data-saved"))
    page.wait_for_function(
        "() => document.querySelector('form[data-autosave]').dataset.saved === '1'"
    )


def test_patient_fills_baseline_on_a_phone_resumes_and_the_nurse_sees_scores(
    world, live_server, phone, browser, artifacts
):
    cache.clear()  # the token throttle counts per address in the cache; start from zero
    participant = world.own_participant
    _link, token = letter_link(participant)
    url = f"{live_server.url}/q/{token}/"
    errors: list[str] = []

    page = _watch(phone.new_page(), errors)
    page.goto(url)
    expect(page.locator("html")).to_have_attribute("lang", "da")
    expect(page.get_by_test_id("patient-heading")).to_have_text(_da("Your questionnaire"))
    page.screenshot(path=artifacts / "q-01-start-da.png", full_page=True)
    page.get_by_test_id("start-button").tap()

    # ODI: one section per screen, answered by tapping the large labels.
    for section, choice in enumerate(ODI_TAPS, start=1):
        expect(page.locator("progress")).to_have_attribute("value", str(section))
        question = page.get_by_test_id(f"question-odi_{section}")
        option = question.locator("label.choice").nth(choice)
        box = option.bounding_box()
        assert box["height"] >= 44, "touch targets must be at least 44 px high"
        option.tap()
        expect(option.locator("input")).to_be_checked()
        if section == 1:
            page.screenshot(path=artifacts / "q-02-odi-section-1.png", full_page=True)
        page.get_by_test_id("next").tap()

    # VAS back pain: the slider starts with no answer; a tap sets it.
    slider = page.get_by_test_id("slider-vas_back")
    number = page.locator("#id_vas_back")
    assert "untouched" in slider.get_attribute("class")
    expect(slider).to_have_attribute("aria-valuetext", _da("not answered"))
    expect(number).to_have_value("")
    page.screenshot(path=artifacts / "q-03-vas-untouched.png", full_page=True)
    box = slider.bounding_box()
    slider.tap(position={"x": box["width"] * 0.72, "y": box["height"] / 2})
    expect(number).not_to_have_value("")
    vas_back = int(number.input_value())
    assert 60 <= vas_back <= 85
    assert "untouched" not in slider.get_attribute("class")
    _saved(page)
    page.screenshot(path=artifacts / "q-04-vas-back-tapped.png", full_page=True)
    page.get_by_test_id("next").tap()

    # VAS leg pain: typed as a number with the keyboard; the slider follows.
    leg = page.locator("#id_vas_leg")
    leg.click()
    page.keyboard.type("35")
    expect(page.get_by_test_id("slider-vas_leg")).to_have_value("35")
    _saved(page)
    page.screenshot(path=artifacts / "q-05-vas-leg-typed.png", full_page=True)

    # The patient puts the phone away half-way: the page is closed without pressing Next.
    page.close()

    page = _watch(phone.new_page(), errors)
    page.goto(url)
    expect(page.get_by_test_id("start-button")).to_have_text(_da("Continue"))
    page.screenshot(path=artifacts / "q-06-reopened.png", full_page=True)
    page.get_by_test_id("start-button").tap()
    # Resumes after the last answered screen (leg VAS): the first EQ-5D screen.
    expect(page.get_by_test_id("question-eq5d_mo")).to_be_visible()
    page.get_by_test_id("previous").tap()
    expect(page.locator("#id_vas_leg")).to_have_value("35")
    page.get_by_test_id("previous").tap()
    expect(page.locator("#id_vas_back")).to_have_value(str(vas_back))
    for screen in range(10, 0, -1):  # back through the ODI, every answer still ticked
        page.get_by_test_id("previous").tap()
        expect(page.locator("progress")).to_have_attribute("value", str(screen))
    for section, choice in enumerate(ODI_TAPS, start=1):
        expect(page.locator("progress")).to_have_attribute("value", str(section))
        checked = page.get_by_test_id(f"question-odi_{section}").locator("input:checked")
        expect(checked).to_have_value(str(choice))
        page.get_by_test_id("next").tap()
    expect(page.locator("progress")).to_have_attribute("value", "11")
    page.get_by_test_id("next").tap()  # back VAS
    expect(page.locator("progress")).to_have_attribute("value", "12")
    page.get_by_test_id("next").tap()  # leg VAS
    expect(page.get_by_test_id("question-eq5d_mo")).to_be_visible()

    # English is one tap away.
    page.get_by_test_id("language-switch").locator("button[value=en]").tap()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("legend").first).to_contain_text("Getting about")
    page.screenshot(path=artifacts / "q-07-eq5d-english.png", full_page=True)

    # EQ-5D-3L: four dimensions by tapping, anxiety/depression with the keyboard.
    for dimension, choice in zip(("mo", "sc", "ua", "pd"), EQ5D_TAPS, strict=True):
        option = (
            page.get_by_test_id(f"question-eq5d_{dimension}")
            .locator("label.choice")
            .nth(choice - 1)
        )
        option.tap()
        expect(option.locator("input")).to_be_checked()
        # Wait for the autosave as a patient's pace would: a Next tapped while a save was
        # still in flight was once not followed within 15 s under a loaded parallel run
        # (not reproduced since; see the issue note).
        _saved(page)
        page.get_by_test_id("next").tap()
    first = page.get_by_test_id("question-eq5d_ad").locator("input").first
    first.focus()
    page.keyboard.press("Space")  # level 1
    page.keyboard.press("ArrowDown")  # level 2
    expect(page.get_by_test_id("question-eq5d_ad").locator("input:checked")).to_have_value("2")
    _saved(page)
    page.keyboard.press("Tab")
    page.get_by_test_id("next").tap()

    # EQ VAS with the arrow keys on the slider.
    eq_slider = page.get_by_test_id("slider-eq_vas")
    eq_slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#id_eq_vas")).to_have_value("55")
    expect(page.locator("[data-vas-status]")).to_contain_text("55")
    _saved(page)
    page.screenshot(path=artifacts / "q-08-eq-vas-keys.png", full_page=True)
    page.get_by_test_id("next").tap()

    # Review: everything answered; send.
    expect(page.get_by_test_id("submit")).to_be_visible()
    page.screenshot(path=artifacts / "q-09-submit.png", full_page=True)
    page.get_by_test_id("submit").tap()
    expect(page.get_by_test_id("thank-you")).to_be_visible()
    page.screenshot(path=artifacts / "q-10-thank-you.png", full_page=True)
    page.goto(url)
    expect(page.get_by_test_id("thank-you")).to_contain_text("already")
    assert_no_csp_errors(errors)
    assert not errors, errors
    page.close()

    responses = {
        r.instrument_code: r for r in QuestionnaireResponse.objects.filter(participant=participant)
    }
    assert all(r.status == ResponseStatus.SUBMITTED for r in responses.values())
    assert responses["vas"].answers == {"vas_back": vas_back, "vas_leg": 35}
    assert responses["eq5d3l"].answers["eq_vas"] == 55
    expected_odi = odi_score(ODI_TAPS)
    expected_index = eq5d3l_index("21232", "DK")
    assert Decimal(responses["odi"].scores["odi_score"]) == expected_odi

    # The nurse sees the scores on the participant page.
    nurse = world.users[Role.NURSE]
    nurse.set_password("smoke-test-pass-2026")
    nurse.save()
    device = TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)
    desk = browser.new_context(locale="da-DK", timezone_id="Europe/Copenhagen")
    staff_page = _watch(desk.new_page(), errors)
    log_in(staff_page, live_server.url, nurse.username, device_code(device))
    staff_page.wait_for_url(f"{live_server.url}/")
    staff_page.goto(f"{live_server.url}/participants/{participant.trial_number}/")
    row = staff_page.get_by_test_id("scores-BL")
    expect(row).to_contain_text(str(expected_odi).replace(".", ","))
    expect(row).to_contain_text(str(expected_index).replace(".", ","))
    expect(row).to_contain_text(str(vas_back))
    staff_page.screenshot(path=artifacts / "q-11-nurse-scores.png", full_page=True)
    assert_no_csp_errors(errors)
    desk.close()


def test_next_during_a_slow_autosave_keeps_the_last_answer(world, live_server, phone, monkeypatch):
    """The patient changes an answer and taps Next while the autosave of the earlier answer is
    still on its way. The earlier save must not land after the Next and overwrite the answer:
    Next waits for the saves in flight (static/js/questionnaire.js)."""
    import threading
    import time

    from questionnaires import services

    cache.clear()
    participant = world.own_participant
    _link, token = letter_link(participant)
    real_save = services.response_save_answers
    slow_started = threading.Event()

    def slow_for_the_first_answer(**kwargs):
        if kwargs.get("answers", {}).get("vas_back") == 11:
            slow_started.set()
            time.sleep(2)  # a phone on a slow network: this save arrives late
        return real_save(**kwargs)

    monkeypatch.setattr(services, "response_save_answers", slow_for_the_first_answer)
    errors: list[str] = []
    page = _watch(phone.new_page(), errors)
    page.goto(f"{live_server.url}/q/{token}/")
    page.goto(f"{live_server.url}/q/vas/1/")
    number = page.locator("#id_vas_back")
    number.click()
    page.keyboard.type("11")
    assert slow_started.wait(5), "the autosave of the first answer was not sent"
    number.fill("77")
    page.get_by_test_id("next").tap()  # at once, while the first save is still in flight
    page.wait_for_url(f"{live_server.url}/q/vas/2/")
    time.sleep(2.5)  # anything still on its way has landed by now
    vas = QuestionnaireResponse.objects.get(participant=participant, instrument_code="vas")
    assert vas.answers.get("vas_back") == 77, vas.answers
    assert not errors, errors
    page.close()


def test_an_answer_after_the_link_was_revoked_says_not_saved(world, live_server, phone):
    """The nurse revokes the link while the patient has a screen open: the next autosave is
    refused (410) and the page says the questionnaire is closed, never "Saved"."""
    from questionnaires import links

    cache.clear()
    link, token = letter_link(world.own_participant)
    errors: list[str] = []
    page = _watch(phone.new_page(), errors)
    page.goto(f"{live_server.url}/q/{token}/")
    page.get_by_test_id("start-button").tap()
    question = page.get_by_test_id("question-odi_1")
    first = question.locator("input[type=radio]").nth(1)
    first.check()
    _saved(page)
    links.link_revoke(link=link, user=world.users[Role.NURSE], reason="wrong person")
    question.locator("input[type=radio]").nth(2).check()
    status = page.locator("[data-autosave-status]")
    expect(status).to_have_text(status.get_attribute("data-closed"))
    # Shown as a warning the patient cannot miss, announced to a screen reader.
    expect(status).to_have_class(re.compile(r"\balert-warning\b"))
    expect(status).to_have_attribute("role", "alert")
    page.wait_for_function(
        "() => document.querySelector('form[data-autosave]').dataset.saved === '0'"
    )
    answers = QuestionnaireResponse.objects.get(instrument_code="odi").answers
    assert answers["odi_1"] == int(first.get_attribute("value"))  # the later answer was not
    assert errors == [] or all("410" in e for e in errors)  # only the refused save, if logged
