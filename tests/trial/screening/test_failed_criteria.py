"""A patient not eligible at screening is logged with the criteria they fail, so the CONSORT
"not eligible" box is broken down by criterion from the log too."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from tests.conftest import verified_client
from tests.factories import ScreeningLogEntryFactory
from tests.trial.screening.conftest import CPR, screen
from trial.models import Role, ScreeningLogEntry
from trial.screening import services
from trial.screening.selectors import CONSORT_UNCODED_AT_SCREENING, consort_counts

# The helpers' dates count from FIXED_DAY: the code under test sees that day too.
pytestmark = pytest.mark.usefixtures("fixed_day")


@pytest.fixture(autouse=True)
def in_english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _not_eligible(client, site, **overrides):
    data = {"decision": "not_eligible", "reason": "Old fracture", "full_name": ""}
    data.update(overrides)
    return screen(client, site, **data)


def test_not_eligible_needs_the_criteria_it_fails(world):
    client = verified_client(world.users[Role.HEMATOLOGIST])
    page = client.get(reverse("trial:screening_log_create")).content.decode()
    assert 'value="pain_within_3_months"' in page and 'data-testid="failed-criteria"' in page
    refused = _not_eligible(client, world.own)
    assert refused.status_code == 200
    assert "Tick the criteria that make the patient not eligible." in refused.content.decode()
    assert not ScreeningLogEntry.objects.exists()
    saved = _not_eligible(
        client, world.own, failed_criteria=["pain_within_3_months", "new_vertebral_lesion"]
    )
    assert saved.status_code == 302
    entry = ScreeningLogEntry.objects.get()
    assert entry.failed_criteria == ["pain_within_3_months", "new_vertebral_lesion"]
    detail = client.get(reverse("trial:screening_log_detail", args=[entry.pk])).content.decode()
    assert 'data-testid="failed-criteria"' in detail


def test_criteria_are_refused_for_other_decisions_and_unknown_codes(world):
    client = verified_client(world.users[Role.HEMATOLOGIST])
    declined = screen(
        client, world.own, decision="declined", reason="No", full_name="",
        failed_criteria=["pain_within_3_months"],
    )  # fmt: skip
    assert declined.status_code == 200 and not ScreeningLogEntry.objects.exists()
    bogus = _not_eligible(client, world.own, failed_criteria=["made_up"])
    assert bogus.status_code == 200 and not ScreeningLogEntry.objects.exists()
    with pytest.raises(ValidationError):
        services.screening_log_entry_create(
            site=world.own,
            user=world.users[Role.HEMATOLOGIST],
            screened_on=timezone.localdate(),
            cpr=CPR,
            age=76,
            sex="F",
            myeloma_status="known",
            decision="not_eligible",
            reason="x",
            failed_criteria=["made_up"],
        )
    assert not ScreeningLogEntry.objects.exists()


def test_consort_counts_log_entries_by_the_criteria_they_name(world):
    client = verified_client(world.users[Role.HEMATOLOGIST])
    _not_eligible(client, world.own, failed_criteria=["pain_within_3_months"])
    _not_eligible(
        client, world.own, cpr="170550-1242",
        failed_criteria=["pain_within_3_months", "questionnaires_language"],
    )  # fmt: skip
    ScreeningLogEntryFactory(site=world.own, decision="not_eligible", reason="logged before")
    counts = consort_counts(world.own, count_ready=False)
    by_code = {row["code"]: row["count"] for row in counts.not_eligible_by_criterion}
    assert by_code["pain_within_3_months"] == 2
    assert by_code["questionnaires_language"] == 1
    assert by_code[CONSORT_UNCODED_AT_SCREENING] == 1  # the older entry without criteria
    assert counts.not_eligible == 3


def test_a_correction_can_add_the_criteria_to_an_older_entry(world):
    hema = world.users[Role.HEMATOLOGIST]
    entry = ScreeningLogEntryFactory(site=world.own, decision="not_eligible", reason="old")
    client = verified_client(hema)
    url = reverse("trial:screening_log_edit", args=[entry.pk])
    response = client.post(
        url,
        {
            "screened_on": entry.screened_on.isoformat(), "age": entry.age, "sex": entry.sex,
            "myeloma_status": entry.myeloma_status, "decision": "not_eligible",
            "reason": "old", "failed_criteria": ["new_vertebral_lesion"],
            "change_reason": "criteria from the notes",
        },
    )  # fmt: skip
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.failed_criteria == ["new_vertebral_lesion"]
    latest = entry.history.order_by("-history_date").first()
    assert latest.failed_criteria == ["new_vertebral_lesion"]
    assert latest.history_change_reason == "criteria from the notes"
    # Changing the decision away from "not eligible" drops nothing silently: it is refused
    # while criteria are ticked.
    with pytest.raises(ValidationError):
        services.screening_log_entry_update(
            entry=entry, user=hema, data={"decision": "declined"}, reason="r"
        )
