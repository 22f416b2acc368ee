"""A criteria version comes into force within the trial's period (TRIAL_PERIOD_START and
TRIAL_PERIOD_END): a typo such as year 9999 is refused with a message, never saved."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from tests.conftest import verified_client
from trial.models import EligibilityCriteriaVersion, Role
from trial.screening import services


@pytest.fixture(autouse=True)
def _in_english(settings):
    # The messages are asserted in English; the interface's default language is Danish.
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.mark.parametrize("day", [dt.date(9999, 1, 1), dt.date(2041, 1, 1)])
def test_a_version_outside_the_period_is_refused(world, day):
    with pytest.raises(ValidationError) as caught:
        services.criteria_version_create(
            user=world.users[Role.COORDINATOR], effective_from=day, note="Amendment"
        )
    assert "effective_from" in caught.value.message_dict
    assert "trial's period" in caught.value.message_dict["effective_from"][0]
    assert EligibilityCriteriaVersion.objects.count() == 1


def test_the_bounds_are_settings(world, settings):
    settings.TRIAL_PERIOD_END = dt.date(9999, 12, 31)
    version = services.criteria_version_create(
        user=world.users[Role.COORDINATOR], effective_from=dt.date(9999, 1, 1), note="Far"
    )
    assert version.effective_from.year == 9999


def test_the_page_shows_the_error(world):
    client = verified_client(world.users[Role.COORDINATOR])
    r = client.post(
        reverse("trial:criteria_versions"), {"effective_from": "9999-01-01", "note": "Typo"}
    )
    assert r.status_code == 200
    assert "trial&#x27;s period" in r.content.decode() or "trial's period" in r.content.decode()
    assert EligibilityCriteriaVersion.objects.count() == 1
