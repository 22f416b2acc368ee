"""Phone and paper entry show each question and every option's text in the participant's
language, read from the same wording files as the patient's pages, and store the codes."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from questionnaires.forms import instrument_fields, instrument_wording, worded_item_field
from questionnaires.instruments import get_instrument, load_wording
from questionnaires.models import QuestionnaireResponse
from tests.questionnaires.factories import EQ5D_ANSWERS, complete_visit
from trial.models import Role

pytestmark = pytest.mark.django_db


def _enter_url(participant, instrument):
    return reverse("questionnaires:staff_enter", args=[participant.trial_number, "BL", instrument])


# --- the helper (no database) ---


@pytest.mark.parametrize("language", ["da", "en"])
def test_an_odi_field_has_the_question_and_the_six_statements_of_the_wording(language):
    wording = load_wording("odi", language)
    field = worded_item_field(get_instrument("odi").item("odi_3"), wording)
    assert field.label == wording.text("odi_3")
    statements = dict(field.choices)
    assert [statements[code] for code in range(6)] == [
        wording.choice_label("odi_3", code) for code in range(6)
    ]
    # The codes are what is stored; the last option takes an answer back.
    assert field.clean("4") == 4 and field.clean("") is None
    assert list(statements)[-1] == ""


def test_eq5d_dimensions_keep_their_codes_1_to_3_and_vas_stays_a_number_with_anchors():
    fields = instrument_fields("eq5d3l", "en")
    wording = load_wording("eq5d3l", "en")
    mobility = fields["eq5d_mo"]
    assert [code for code, _label in mobility.choices][:3] == [1, 2, 3]
    assert dict(mobility.choices)[3] == wording.choice_label("eq5d_mo", 3)
    vas = fields["eq_vas"]
    assert vas.label == wording.text("eq_vas")
    assert vas.clean("85") == 85
    assert wording.items["eq_vas"].anchors["low"] in str(vas.help_text)
    assert wording.items["eq_vas"].anchors["high"] in str(vas.help_text)


def test_instrument_fields_can_be_prefixed_for_a_form_of_several_kinds_of_answer():
    fields = instrument_fields("vas", "da", prefix="q_")
    assert list(fields) == ["q_vas_back", "q_vas_leg"]
    assert fields["q_vas_back"].label == load_wording("vas", "da").text("vas_back")


def test_a_language_without_wording_falls_back_to_the_trials_default_language():
    assert instrument_wording("odi", "de").language == "da"
    with translation.override("en"):
        assert instrument_wording("odi").language == "en"


# --- the pages ---


def test_a_danish_participant_is_read_the_danish_wording_whatever_the_nurses_language(world, login):
    p = world.own_participant  # Danish by default
    client = login(world.users[Role.NURSE])
    with translation.override("en"):
        page = client.get(_enter_url(p, "odi"), HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    danish = load_wording("odi", "da")
    assert escape(danish.text("odi_1")) in html
    for code in range(6):
        assert escape(danish.choice_label("odi_1", code)) in html
    assert escape(load_wording("odi", "en").text("odi_1")) not in html


def test_an_english_participant_is_read_the_english_wording_and_the_answers_say_so(world, login):
    p = world.own_participant
    p.language = "en"
    p.save(update_fields=["language"])
    client = login(world.users[Role.NURSE])
    english = load_wording("eq5d3l", "en")
    html = client.get(_enter_url(p, "eq5d3l")).content.decode()
    assert escape(english.choice_label("eq5d_pd", 2)) in html
    assert escape(english.items["eq_vas"].anchors["high"]) in html
    posted = {"mode": "paper", **{k: str(v) for k, v in EQ5D_ANSWERS.items()}}
    assert client.post(_enter_url(p, "eq5d3l"), posted).status_code == 302
    response = QuestionnaireResponse.objects.get(participant=p, instrument_code="eq5d3l")
    assert response.answers == EQ5D_ANSWERS
    assert response.language == "en"


def test_the_version_field_is_hidden_not_a_number_box(world, login):
    html = login(world.users[Role.NURSE]).get(_enter_url(world.own_participant, "vas")).content
    assert b'type="number" name="version"' not in html
    assert b'type="hidden" name="version"' in html


def test_a_correction_shows_the_wording_the_answers_were_given_in(world, login):
    p = world.own_participant
    complete_visit(p)  # answered in Danish
    QuestionnaireResponse.objects.filter(participant=p).update(language="en")
    url = reverse("questionnaires:staff_correct", args=[p.trial_number, "BL", "odi"])
    html = login(world.users[Role.NURSE]).get(url).content.decode()
    assert escape(load_wording("odi", "en").choice_label("odi_2", 5)) in html


def test_the_send_form_offers_the_participants_language_first(world, login):
    p = world.own_participant
    p.language = "en"
    p.save(update_fields=["language"])
    url = reverse("questionnaires:staff_send", args=[p.trial_number, "BL"])
    html = login(world.users[Role.NURSE]).get(url).content.decode()
    assert '<option value="en" selected>' in html
