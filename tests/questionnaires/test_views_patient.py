"""The patient's path through a personal link: screens, autosave, resume, submit, lock, and
every page in Danish by default and in English on request."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from questionnaires import flow
from questionnaires.models import QuestionnaireResponse, ResponseStatus
from tests.questionnaires.factories import letter_link

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(world, client):
    """A personal link, opened in the test client's browser session."""
    _link, token = letter_link(world.own_participant)
    opened = client.get(reverse("questionnaires:patient_start", args=[token]))
    assert opened.status_code == 302
    return token


def _url(token, name, *args):
    """The patient's pages after the link was opened: the token is no longer in the URL."""
    if name == "start":
        return reverse("questionnaires:patient_home")
    return reverse(f"questionnaires:patient_{name}", args=list(args))


def test_the_start_page_opens_and_records_the_first_opening(world, client, token):
    response = client.get(_url(token, "start"))
    assert response.status_code == 200
    assert b'data-testid="start-button"' in response.content
    link = world.own_participant.questionnaire_links.get()
    assert link.first_opened_at is not None


def test_each_screen_saves_and_moves_on(world, client, token):
    response = client.post(_url(token, "step", "odi", 1), {"odi_1": "2", "next": "1"})
    assert response.status_code == 302 and response["Location"] == _url(token, "step", "odi", 2)
    response = client.post(_url(token, "step", "odi", 2), {"odi_2": "4", "previous": "1"})
    assert response["Location"] == _url(token, "step", "odi", 1)
    odi = QuestionnaireResponse.objects.get(instrument_code="odi")
    assert odi.answers == {"odi_1": 2, "odi_2": 4} and odi.mode == "link"
    # The first screen's Previous is shown disabled (nothing comes before it) ...
    first = client.get(_url(token, "step", "odi", 1)).content.decode()
    second = client.get(_url(token, "step", "odi", 2)).content.decode()
    assert re.search(r'data-testid="previous"[^>]*\bdisabled\b', first)
    assert not re.search(r'data-testid="previous"[^>]*\bdisabled\b', second)
    # ... and without JavaScript a posted Previous there goes back to the start page.
    assert client.post(_url(token, "step", "odi", 1), {"previous": "1"})["Location"] == _url(
        token, "start"
    )
    # The last ODI screen leads to the first VAS screen.
    assert client.post(_url(token, "step", "odi", 10), {})["Location"] == _url(
        token, "step", "vas", 1
    )


def test_autosave_answers_json_and_keeps_the_answer(world, client, token):
    response = client.post(_url(token, "step", "vas", 1), {"vas_back": "63", "autosave": "1"})
    assert response.status_code == 200 and response.json() == {"saved": True}
    assert QuestionnaireResponse.objects.get(instrument_code="vas").answers == {"vas_back": 63}
    bad = client.post(_url(token, "step", "vas", 1), {"vas_back": "163", "autosave": "1"})
    assert bad.status_code == 400
    page = client.get(_url(token, "step", "vas", 1))
    assert b'value="63"' in page.content


def test_an_untouched_slider_submits_nothing(world, client, token):
    client.post(_url(token, "step", "vas", 1), {"vas_back": ""})
    assert QuestionnaireResponse.objects.get(instrument_code="vas").answers == {}
    page = client.get(_url(token, "step", "vas", 1))
    # The slider carries no name: only the number field is submitted, and it is empty.
    assert b'name="vas_back" value=""' in page.content
    assert b"untouched" in page.content


def test_reopening_the_link_resumes_where_the_patient_left(world, client, token):
    client.post(_url(token, "step", "odi", 1), {"odi_1": "1"})
    client.post(_url(token, "step", "odi", 2), {"odi_2": "1"})
    page = client.get(_url(token, "start"))
    assert page.context["started"] is True
    assert page.context["next_url"] == _url(token, "step", "odi", 3)


def test_submit_locks_and_the_link_then_says_already_submitted(world, client, token):
    client.post(_url(token, "step", "odi", 1), {"odi_1": "1"})
    review = client.get(_url(token, "submit"))
    assert review.status_code == 200 and len(review.context["missing"]) == 17
    response = client.post(_url(token, "submit"))
    assert response["Location"] == _url(token, "done")
    assert client.get(_url(token, "done")).status_code == 200
    assert set(QuestionnaireResponse.objects.values_list("instrument_code", "status")) == {
        ("odi", ResponseStatus.SUBMITTED),
        ("vas", "submitted"),
        ("eq5d3l", "submitted"),
    }
    again = client.get(_url(token, "start"))
    assert again.context["already"] is True
    # Later changes do nothing.
    assert client.post(_url(token, "step", "odi", 1), {"odi_1": "5"})["Location"] == _url(
        token, "done"
    )
    late = client.post(_url(token, "step", "odi", 1), {"odi_1": "5", "autosave": "1"})
    assert late.status_code == 409
    assert QuestionnaireResponse.objects.get(instrument_code="odi").answers == {"odi_1": 1}


def _patient_pages(token):
    pages = [_url(token, "start")]
    pages += [_url(token, "step", s.instrument, s.step) for s in flow.visit_screens("BL")]
    pages.append(_url(token, "submit"))
    return pages


@pytest.mark.parametrize("language", ["da", "en"])
def test_every_page_of_the_patient_path_speaks_the_language(world, client, token, language):
    from django.utils import translation

    if language == "en":
        client.cookies["django_language"] = "en"
    with translation.override(language):
        next_label = translation.gettext("Next")
        expected_title = "DEMOTEKST" if language == "da" else "DEMO WORDING"
    for url in _patient_pages(token):
        page = client.get(url)
        assert page.status_code == 200, url
        assert f'<html lang="{language}"'.encode() in page.content, url
        if "/odi/" in url or "/vas/" in url or "/eq5d3l/" in url:
            assert expected_title.encode() in page.content, url
            assert next_label.encode() in page.content, url
    client.post(_url(token, "submit"))
    done = client.get(_url(token, "done"))
    assert f'<html lang="{language}"'.encode() in done.content


def test_danish_is_the_default_even_for_an_english_browser(world, client, token):
    page = client.get(_url(token, "start"), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert b'<html lang="da"' in page.content


def test_the_unavailable_page_in_english(client):
    client.cookies["django_language"] = "en"
    page = client.get(reverse("questionnaires:patient_start", args=["x" * 43]))
    assert page.status_code == 404 and b"This link does not work" in page.content


def test_pages_have_no_inline_script_or_style(world, client, token):
    for url in _patient_pages(token)[:3]:
        html = client.get(url).content.decode()
        assert "style=" not in html
        assert "<script>" not in html and "<script type=" not in html


def test_opening_the_link_drops_the_token_from_the_url(world, client):
    _link, token = letter_link(world.own_participant)
    response = client.get(reverse("questionnaires:patient_start", args=[token]))
    assert response.status_code == 302
    assert response["Location"] == reverse("questionnaires:patient_home")
    assert token not in response["Location"]
    assert response["Referrer-Policy"] == "no-referrer"  # the one URL with the token
    assert client.session["questionnaire_link"] == _link.pk
    assert token not in str(dict(client.session))  # the session keeps the id, not the token
    page = client.get(response["Location"])
    assert page.status_code == 200 and page["Referrer-Policy"] == "same-origin"
    assert token not in page.content.decode()
    link = world.own_participant.questionnaire_links.get()
    assert link.first_opened_at is not None


def test_no_patient_page_sends_a_referer_to_another_site(world, client, token):
    # "same-origin": nothing leaves for other sites, while the page's own POSTs keep a real
    # Origin header (under "no-referrer" browsers send "Origin: null", refused by CSRF).
    for url in _patient_pages(token):
        assert client.get(url)["Referrer-Policy"] == "same-origin", url
    unknown = reverse("questionnaires:patient_start", args=["x" * 43])
    assert client.get(unknown)["Referrer-Policy"] in ("same-origin", "no-referrer")


def test_without_an_opened_link_the_pages_open_nothing(world, client):
    for url in (
        reverse("questionnaires:patient_home"),
        reverse("questionnaires:patient_step", args=["odi", 1]),
        reverse("questionnaires:patient_submit"),
        reverse("questionnaires:patient_done"),
    ):
        response = client.get(url)
        assert response.status_code == 200  # like the tablet without a session
        assert b'data-testid="link-unavailable"' in response.content
    client.post(reverse("questionnaires:patient_step", args=["odi", 1]), {"odi_1": 1})
    assert not QuestionnaireResponse.objects.exists()


def test_a_link_revoked_while_open_stops_the_session_too(world, client, token):
    from questionnaires import links

    link = world.own_participant.questionnaire_links.get()
    links.link_revoke(link=link, user=world.users["nurse"], reason="wrong person")
    response = client.get(reverse("questionnaires:patient_step", args=["odi", 1]))
    assert response.status_code == 404
    assert "questionnaire_link" not in client.session


def test_an_autosave_after_the_link_was_revoked_answers_410_in_json(world, client, token):
    """The page's script shows "Saved" only for a JSON ``saved``; a revoked link's autosave
    gets 410 Gone, the first time (link refused) and every time after (session forgotten),
    never the friendly 200 page the script used to take for a save."""
    from questionnaires import links

    link = world.own_participant.questionnaire_links.get()
    links.link_revoke(link=link, user=world.users["nurse"], reason="wrong person")
    url = reverse("questionnaires:patient_step", args=["vas", 1])
    for _attempt in range(2):
        response = client.post(url, {"vas_back": "63", "autosave": "1"})
        assert response.status_code == 410
        assert response.json() == {"saved": False, "closed": True}
    assert not QuestionnaireResponse.objects.exists()
    # A plain page request still gets the friendly page.
    assert b'data-testid="link-unavailable"' in client.get(url).content


def test_an_autosave_on_the_tablet_without_a_session_answers_410(client):
    url = reverse("questionnaires:tablet_step", args=["vas", 1])
    response = client.post(url, {"vas_back": "63", "autosave": "1"})
    assert response.status_code == 410 and response.json()["saved"] is False


def test_a_questionnaire_taken_by_phone_is_left_out_of_the_link(world, client, token):
    """The nurse took the VAS on the call and sent the rest as a link: the patient's path goes
    from the ODI straight to the EQ-5D, and is not asked the VAS again."""
    from questionnaires import services
    from questionnaires.models import Mode
    from trial.models import Role

    services.response_enter(
        participant=world.own_participant,
        visit_code="BL",
        instrument_code="vas",
        answers={"vas_back": 30},
        mode=Mode.PHONE,
        user=world.users[Role.NURSE],
    )
    start = client.get(_url(token, "start"))
    assert start.context["screen_count"] == len(flow.visit_screens("BL")) - 2
    assert [i["code"] for i in start.context["instruments"]] == ["odi", "eq5d3l"]
    assert start.context["next_url"] == _url(token, "step", "odi", 1)
    assert client.post(_url(token, "step", "odi", 10), {})["Location"] == _url(
        token, "step", "eq5d3l", 1
    )
    assert client.get(_url(token, "step", "vas", 1))["Location"] == _url(token, "start")
    client.post(_url(token, "submit"))
    vas = QuestionnaireResponse.objects.get(instrument_code="vas")
    assert (vas.mode, vas.answers) == ("phone", {"vas_back": 30})
    assert QuestionnaireResponse.objects.filter(status=ResponseStatus.SUBMITTED).count() == 3
