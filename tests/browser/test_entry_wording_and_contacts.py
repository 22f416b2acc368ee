"""Browser journeys of issue 17, items 4 and 6: the nurse reads the ODI to a Danish patient
on the phone from the questions and statements as the patient would see them (on a 390 px
phone, by mouse and keyboard), and adds an e-mail address to a patient who had none."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from questionnaires.instruments import load_wording
from questionnaires.models import QuestionnaireResponse
from tests.browser.conftest import assert_no_csp_errors, danish, device_code, log_in
from tests.factories import IdentityFactory
from trial.models import Identity, Role

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# The statement ticked in each ODI section; the last by keyboard.
ODI_CODES = [2, 3, 1, 4, 2, 3, 2, 0, 3, 2]  # 22 / 50 -> 44.0


def _nurse_logged_in(page: Page, staff, base: str) -> None:
    nurse = staff[Role.NURSE]
    device = TOTPDevice.objects.create(user=nurse, name="app", confirmed=True)
    log_in(page, base, nurse.username, device_code(device))
    page.wait_for_url(f"{base}/")


def _fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"


def test_the_nurse_reads_the_odi_in_danish_and_ticks_the_patients_answers(
    staff, world, live_server, page: Page, console_errors, artifacts
):
    participant = world.own_participant  # a Danish participant
    assert participant.language == "da"
    wording = load_wording("odi", "da")
    base = live_server.url
    page.set_viewport_size(PHONE)
    _nurse_logged_in(page, staff, base)

    overview = reverse("questionnaires:staff_overview", args=[participant.trial_number])
    page.goto(f"{base}{overview}")
    enter = reverse("questionnaires:staff_enter", args=[participant.trial_number, "BL", "odi"])
    page.locator(f'a[href="{enter}"]').click()
    form = page.get_by_test_id("entry-form")
    expect(form).to_be_visible()
    # Each section is its question with its six statements, in Danish, as the patient sees it.
    for number in range(1, 11):
        code = f"odi_{number}"
        section = page.get_by_test_id(f"question-{code}")
        expect(section.locator("legend")).to_have_text(wording.text(code))
        for choice in range(6):
            expect(section).to_contain_text(wording.choice_label(code, choice))
    page.screenshot(path=artifacts / "staff-entry-odi-phone.png", full_page=True)
    _fits(page)

    # Ticked by the statement the patient chose ...
    for number, choice in enumerate(ODI_CODES[:-1], start=1):
        code = f"odi_{number}"
        statement = wording.choice_label(code, choice)
        page.get_by_test_id(f"question-{code}").get_by_label(statement, exact=True).check()
    # ... and the last one with the keyboard alone: Tab to the next section, arrows to choose.
    # A section not (yet) answered says so: its "Not answered" option, last, is ticked, and is
    # where Tab lands; the arrow key goes round to the first statement and on.
    expect(page.get_by_test_id("question-odi_10").locator('input[value=""]')).to_be_checked()
    page.get_by_test_id("question-odi_9").locator("input:checked").focus()
    page.keyboard.press("Tab")
    for _step in range(ODI_CODES[-1] + 1):
        page.keyboard.press("ArrowDown")
    last = page.get_by_test_id("question-odi_10")
    expect(
        last.get_by_label(wording.choice_label("odi_10", ODI_CODES[-1]), exact=True)
    ).to_be_checked()

    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}{overview}")
    expect(page.get_by_test_id("scores-BL")).to_contain_text("44")
    odi = QuestionnaireResponse.objects.get(participant=participant, instrument_code="odi")
    assert odi.answers == {f"odi_{n}": c for n, c in enumerate(ODI_CODES, start=1)}
    assert odi.language == "da" and odi.scores["odi_score"] == "44.0"
    assert_no_csp_errors(console_errors)


def test_the_nurse_adds_an_e_mail_address_with_a_reason_and_the_audit_trail_shows_it(
    staff, world, live_server, page: Page, console_errors, artifacts
):
    identity = IdentityFactory(participant=world.own_participant, email="")
    participant = identity.participant
    base = live_server.url
    _nurse_logged_in(page, staff, base)

    page.goto(f"{base}{participant.get_absolute_url()}")
    expect(page.get_by_test_id("identity")).to_contain_text(identity.full_name)
    page.get_by_test_id("contact-details-edit").click()
    form = page.get_by_test_id("contact-details-form")

    # A wrong address is a message on the page; nothing is saved.
    form.locator("#id_email").fill("jens.hansen@")
    form.locator("#id_reason").fill("Patienten oplyste den i telefonen")
    form.locator("button[type=submit]").click()
    expect(page.get_by_text(danish("Enter a valid email address."))).to_be_visible()
    page.screenshot(path=artifacts / "contact-details-wrong-email.png", full_page=True)
    assert Identity.objects.get().email == ""

    form.locator("#id_email").fill("jens.hansen@example.dk")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}{participant.get_absolute_url()}")
    expect(page.get_by_test_id("identity")).to_contain_text("jens.hansen@example.dk")

    page.goto(f"{base}{reverse('trial:participant_history', args=[participant.trial_number])}")
    history = page.locator("main")
    expect(history).to_contain_text("jens.hansen@example.dk")
    expect(history).to_contain_text("Patienten oplyste den i telefonen")
    page.screenshot(path=artifacts / "contact-details-history.png", full_page=True)
    assert Identity.objects.get().email == "jens.hansen@example.dk"
    assert_no_csp_errors(console_errors)
