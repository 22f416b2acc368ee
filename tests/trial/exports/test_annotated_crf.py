"""The blank annotated CRF: every form people fill, each item with its variable name, type
and codes as the codebook has them, in Danish or English; read back with pdftotext."""

from __future__ import annotations

import subprocess

import pytest
from django.urls import reverse

from tests.conftest import verified_client
from trial.exports.crf import crf_forms
from trial.exports.registry import autodiscover
from trial.models import Role

URL = reverse("trial:annotated_crf")


def _text(pdf: bytes) -> str:
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return done.stdout.decode()


@pytest.fixture(scope="module")
def english(django_db_blocker):
    with django_db_blocker.unblock():
        from trial.exports.crf import annotated_crf_pdf

        return _text(annotated_crf_pdf("en"))


def test_every_form_people_fill_is_on_it_and_none_the_system_keeps():
    codes = [form.identifier for form in crf_forms("en")]
    assert {
        "screening_log", "screening_form", "eligibility", "consent", "surgical_assessment",
        "allocations", "procedures", "procedure_levels", "usual_care", "crossovers",
        "adverse_events", "radiographs", "calls", "call_items", "deaths", "withdrawals",
        "q_odi", "q_vas", "q_eq5d3l",
    } <= set(codes)  # fmt: skip
    assert not {"identity", "participants", "contacts", "queries"} & set(codes)


def test_it_has_every_variable_of_the_codebook_with_its_codes(english):
    for exporter in autodiscover().exporters():
        if not exporter.on_crf:
            continue
        for var in exporter.variables():
            assert var.name in english, (exporter.identifier, var.name)
    assert "myeloma_status" in english and "new=Newly diagnosed myeloma" in english
    assert "Yes [1]" in english and "No [0]" in english


def test_the_questionnaires_carry_their_wording_and_codes():
    odi = next(f for f in crf_forms("da") if f.identifier == "q_odi")
    pain = next(i for i in odi.items if i.variable == "odi_1")
    assert [code for code, _ in pain.codes] == [0, 1, 2, 3, 4, 5]
    assert pain.question != "Oswestry Disability Index: 1"
    assert odi.demo  # the repository's demo wording, marked as such
    english = next(f for f in crf_forms("en") if f.identifier == "q_odi")
    assert english.items[-1].question != "" and english.title != odi.title


def test_site_staff_may_download_it_in_danish_and_english(world):
    client = verified_client(world.users[Role.NURSE])
    response = client.get(URL, {"language": "da"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = _text(response.content)
    assert "Forsøgsnummer" in text and "odi_1" in text and "eq5d" in text


def test_an_unknown_language_is_a_bad_request(world):
    client = verified_client(world.users[Role.DATA_MANAGER])
    assert client.get(URL, {"language": "xx"}).status_code == 400


def test_someone_without_a_role_is_refused(world):
    from tests.factories import UserFactory

    nobody = UserFactory(username="nobody", role="", sites=[])
    assert verified_client(nobody).get(URL).status_code in (403, 404)


def test_scores_and_the_as_treated_arm_are_annotated_but_not_to_fill():
    forms = {f.identifier: f for f in crf_forms("en")}
    derived = {i.variable for f in forms.values() for i in f.items if i.derived}
    assert {"odi_score", "odi_band", "eq5d_index", "arm_as_treated"} <= derived
    assert not {"odi_1", "arm", "vas_back"} & derived
