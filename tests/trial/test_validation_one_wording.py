"""Each validation rule is stated once: the form page and the service give the same words."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from tests.conftest import verified_client
from tests.factories import SurgicalAssessmentFactory, ensure_default_criteria, randomised
from trial.models import Procedure, Role, ScreeningLogEntry
from trial.screening import services
from trial.treatment import services as tservices

BIOPSY = "Give the biopsy result, or 'pending' while it is awaited."
NOT_INCLUDED = "Say why the patient is not included (it is counted in the CONSORT flow)."
FULL_NAME = "Give the name of an included patient."
CPR = "170550-1234"


@pytest.fixture(autouse=True)
def _reference_data(db):
    ensure_default_criteria()


def _client(user):
    client = verified_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _service_messages(call, field: str) -> list[str]:
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        call()
    return [str(m) for m in caught.value.message_dict[field]]


# --- biopsy ---------------------------------------------------------------------------------


def test_the_biopsy_rule_has_one_wording_on_the_page_and_from_the_service(world):
    participant = randomised(world.own_participant, arm="pvp", days_ago=7)
    SurgicalAssessmentFactory(participant=participant, planned_levels=["L1"])
    today = timezone.localdate()
    response = _client(world.users[Role.SURGEON]).post(
        reverse("trial:procedure", args=[participant.trial_number]),
        {
            "procedure_date": today.isoformat(),
            "facility": "Aarhus spine surgery",
            "anaesthesia": "local",
            "levels": ["L1"],
            "biopsy_taken": "yes",
            "biopsy_result": "  ",
            "complications": "no",
            "complications_details": "",
            "discharge_date": today.isoformat(),
            "lvl-L1-cement_volume_ml": "4.0",
            "lvl-L1-leakage": "no",
            "lvl-L1-posterior_wall_defect": "no",
        },
    )
    assert response.status_code == 200
    assert escape(BIOPSY) in response.content.decode()

    messages = _service_messages(
        lambda: tservices.procedure_record(
            participant=participant,
            user=world.users[Role.SURGEON],
            procedure_date=today,
            facility="Aarhus spine surgery",
            anaesthesia="local",
            biopsy_taken=True,
            biopsy_result="",
            complications=False,
            levels=[
                {
                    "level": "L1",
                    "cement_volume_ml": Decimal("4.0"),
                    "leakage": False,
                    "leakage_sites": [],
                    "posterior_wall_defect": False,
                }
            ],
        ),
        "biopsy_result",
    )
    assert messages == [BIOPSY]
    assert not Procedure.objects.exists()


# --- the screening log ------------------------------------------------------------------------


def _screen(client, site, **overrides):
    data = {
        "site": site.pk,
        "screened_on": (timezone.localdate() - dt.timedelta(days=3)).isoformat(),
        "cpr": CPR,
        "age": "",
        "sex": "F",
        "myeloma_status": "known",
        "decision": "included",
        "reason": "",
        "full_name": "Karen Hansen",
        "initials": "",
        "phone": "",
    }
    data.update(overrides)
    return client.post(reverse("trial:screening_log_create"), data)


def _create(world, **overrides):
    values = {
        "site": world.own,
        "user": world.users[Role.HEMATOLOGIST],
        "screened_on": timezone.localdate() - dt.timedelta(days=3),
        "cpr": CPR,
        "age": 76,
        "sex": "F",
        "myeloma_status": "known",
        "decision": "included",
        "full_name": "Karen Hansen",
    }
    values.update(overrides)
    return lambda: services.screening_log_entry_create(**values)


def test_the_reason_not_included_has_one_wording_on_the_page_and_from_the_service(world):
    client = _client(world.users[Role.HEMATOLOGIST])
    response = _screen(client, world.own, decision="declined", full_name="", reason=" ")
    assert response.status_code == 200
    assert escape(NOT_INCLUDED) in response.content.decode()
    messages = _service_messages(_create(world, decision="declined", full_name=""), "reason")
    assert messages == [NOT_INCLUDED]
    assert not ScreeningLogEntry.objects.exists()


def test_the_reason_not_included_has_the_same_wording_when_an_entry_is_corrected(world):
    entry = _create(world, decision="declined", full_name="", reason="Did not want to")()
    client = _client(world.users[Role.HEMATOLOGIST])
    response = client.post(
        reverse("trial:screening_log_edit", args=[entry.pk]),
        {
            "screened_on": entry.screened_on.isoformat(),
            "age": "76",
            "sex": "F",
            "myeloma_status": "known",
            "decision": "declined",
            "reason": "",
            "change_reason": "Reason was wrong",
        },
    )
    assert response.status_code == 200
    assert escape(NOT_INCLUDED) in response.content.decode()


def test_the_full_name_rule_has_one_wording_on_the_page_and_from_the_service(world):
    client = _client(world.users[Role.HEMATOLOGIST])
    response = _screen(client, world.own, full_name="  ")
    assert response.status_code == 200
    assert escape(FULL_NAME) in response.content.decode()
    messages = _service_messages(_create(world, full_name=" "), "full_name")
    assert messages == [FULL_NAME]
    assert not ScreeningLogEntry.objects.exists()


# --- the screening log's age ------------------------------------------------------------------

AGE_MESSAGES = {
    17: "Only adults (18 years or older) can take part.",
    111: "Check the age: at most 110 years.",
}


def _cpr_aged(age: int, on: dt.date) -> str:
    """A CPR number of someone ``age`` years old on ``on`` (born that day, ``age`` years before;
    the seventh digit gives the century: 4 for 2000-2036, 0 for the 1900s)."""
    born = on.replace(year=on.year - age)
    return f"{born:%d%m%y}-{4 if born.year >= 2000 else 0}123"


@pytest.mark.parametrize("age", [17, 18, 110, 111])
def test_the_age_rule_has_one_wording_in_both_log_forms_and_the_model(
    world, fixed_day, settings, age
):
    from trial.models import Site
    from trial.screening.forms import ScreeningLogEntryEditForm, ScreeningLogEntryForm

    settings.LANGUAGE_CODE = "en"
    screened_on = fixed_day - dt.timedelta(days=3)
    entry = _create(world, decision="declined", full_name="", reason="Did not want to")()
    common = {
        "screened_on": screened_on.isoformat(),
        "age": str(age),
        "sex": "F",
        "myeloma_status": "known",
        "decision": "declined",
        "reason": "Did not want to",
    }
    new = {**common, "site": world.own.pk, "cpr": _cpr_aged(age, screened_on)}
    sites = Site.objects.filter(pk=world.own.pk)
    hematologist = world.users[Role.HEMATOLOGIST]
    with translation.override("en"):
        forms = {
            "create": ScreeningLogEntryForm(new, sites=sites),
            # The age left empty: the create form takes it from the CPR number.
            "create, age from the CPR number": ScreeningLogEntryForm(
                {**new, "age": ""}, sites=sites
            ),
            "edit": ScreeningLogEntryEditForm(
                {**common, "change_reason": "Age was wrong"}, entry=entry
            ),
        }
        said = {name: form.errors.get("age", []) for name, form in forms.items()}
        model = ScreeningLogEntry(
            site=world.own,
            screened_on=screened_on,
            age=age,
            sex="F",
            myeloma_status="known",
            decision="declined",
            reason="Did not want to",
            created_by=hematologist,
        )
        try:
            model.full_clean(exclude=["participant"])
        except ValidationError as error:
            said["model"] = [str(m) for m in error.message_dict.get("age", [])]
        else:
            said["model"] = []
    expected = [AGE_MESSAGES[age]] if age in AGE_MESSAGES else []
    assert said == dict.fromkeys(said, expected)
    if not expected:
        assert all(form.is_valid() for form in forms.values()), {
            name: form.errors for name, form in forms.items()
        }
