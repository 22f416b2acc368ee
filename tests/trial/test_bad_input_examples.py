"""The inputs that once answered 500, one by one, as fast tests (the property that finds such
inputs is tests/trial/test_bad_input.py, on PostgreSQL)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from tests.conftest import verified_client
from tests.factories import AdverseEventFactory, ParticipantFactory, ensure_default_criteria
from tests.trial.screening.conftest import SCREENING_FORM
from trial.forms import DateField
from trial.models import Role, ScreeningForm

pytestmark = pytest.mark.usefixtures("fixed_day")


@pytest.fixture(autouse=True)
def _english(db, settings):
    ensure_default_criteria()
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _client(user):
    client = verified_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01"])
def test_the_shared_date_field_refuses_years_nobody_means(value):
    field = DateField()
    with pytest.raises(ValidationError) as caught:
        field.clean(value)
    assert caught.value.messages == ["Enter a date between 1 Jan 1900 and 31 Dec 2100."]


@pytest.mark.parametrize("field", ["diagnosis_date", "bone_therapy_start", "pain_onset_date"])
@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31"])
def test_a_screening_form_date_in_year_1_or_9999_is_an_error_on_the_page(world, field, value):
    participant = ParticipantFactory(site=world.own, sequence=5)
    response = _client(world.users[Role.HEMATOLOGIST]).post(
        reverse("trial:screening_form", args=[participant.trial_number]),
        {**SCREENING_FORM, field: value},
    )
    assert response.status_code == 200
    assert "Enter a date between" in str(response.context["form"].errors[field])
    assert not ScreeningForm.objects.exists()


@pytest.mark.parametrize("value", ["abc", "1.5", "-1", ["1", "x"]])
def test_a_malformed_sae_number_is_a_bad_request(world, value):
    event = AdverseEventFactory(participant=world.own_participant, serious=True)
    response = _client(world.users[Role.COORDINATOR]).post(
        reverse("trial:sae_list"), {"ae_id": value}
    )
    assert response.status_code == 400
    event.refresh_from_db()
    assert event.acknowledged_at is None


def test_an_unknown_sae_number_is_not_found(world):
    response = _client(world.users[Role.COORDINATOR]).post(
        reverse("trial:sae_list"), {"ae_id": "99999999999"}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("week", ["9999-12-31", "0001-01-01", "2026-02-30", "next"])
@pytest.mark.parametrize("name", ["followup:weekly_list", "followup:weekly_list_pdf"])
def test_a_weekly_list_of_an_impossible_week_is_a_bad_request(world, name, week):
    response = _client(world.users[Role.NURSE]).get(reverse(name), {"week": week})
    assert response.status_code == 400


def test_the_weekly_list_of_a_real_week_still_opens(world):
    response = _client(world.users[Role.NURSE]).get(
        reverse("followup:weekly_list"), {"week": "2026-09-14"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("field", ["date_from", "date_to"])
@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31"])
def test_an_audit_filter_date_in_year_1_or_9999_is_an_error_on_the_page(world, field, value):
    response = _client(world.users[Role.COORDINATOR]).get(
        reverse("trial:audit_log"), {field: value}
    )
    assert response.status_code == 200
    assert "Enter a date between" in str(response.context["form"].errors[field])


@pytest.mark.parametrize(
    "url, data",
    [
        ("/followup/completeness/", {"visit": "W1\x00", "site": "AAR", "status": "done"}),
        ("/audit/", {"participant": "AAR\x00"}),
        ("/participants/", {"q": "\x00"}),
        ("/participants/AAR%00001/", {}),
    ],
)
def test_a_nul_character_anywhere_in_a_request_is_a_bad_request(world, url, data):
    response = _client(world.users[Role.COORDINATOR]).get(url, data)
    assert response.status_code == 400
    assert "The request could not be read" in response.content.decode()


def test_a_nul_character_in_a_posted_form_is_a_bad_request(world):
    event = AdverseEventFactory(participant=world.own_participant, serious=True)
    response = _client(world.users[Role.COORDINATOR]).post(
        reverse("trial:sae_list"), {"ae_id": str(event.pk), "note\x00": "x"}
    )
    assert response.status_code == 400
    event.refresh_from_db()
    assert event.acknowledged_at is None


@pytest.mark.parametrize("object_id", ["abc", "x" * 300, "1.5"])
def test_the_admin_history_of_an_id_that_cannot_exist_is_not_found(world, object_id):
    from trial.models import User

    root = User.objects.create_superuser("root-example", "root@vertebra.invalid", "x" * 16)
    coordinator = world.users[Role.COORDINATOR]
    User.objects.filter(pk=coordinator.pk).update(is_staff=True)  # the admin's own gate
    for client in (_client(root), _client(User.objects.get(pk=coordinator.pk))):
        response = client.get(f"/admin/trial/site/{object_id}/history/")
        assert response.status_code == 404


@pytest.mark.parametrize("object_id, version_id", [("abc", "1"), ("1", "abc"), ("1", "%C3%28")])
def test_a_past_version_page_of_ids_that_cannot_exist_is_not_found(world, object_id, version_id):
    from trial.models import User

    root = User.objects.create_superuser("root-example", "root@vertebra.invalid", "x" * 16)
    response = _client(root).get(f"/admin/trial/site/{object_id}/history/{version_id}/")
    assert response.status_code == 404
