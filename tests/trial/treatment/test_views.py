"""Treatment pages: who may record what, site scoping, form validation, the SAE list and the
participant page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from tests.conftest import verified_client
from tests.factories import (
    AdverseEventFactory,
    ParticipantFactory,
    SurgicalAssessmentFactory,
    randomised,
    sae_report,
)
from trial.models import AdverseEvent, Crossover, Procedure, Role

pytestmark = pytest.mark.django_db


def _client(user):
    """A verified client that asks for English pages (the messages asserted are English)."""
    client = verified_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _today():
    return timezone.localdate()


def _procedure_post(levels: dict[str, dict], **overrides) -> dict:
    data = {
        "procedure_date": _today().isoformat(),
        "facility": "Aarhus spine surgery",
        "anaesthesia": "local",
        "levels": list(levels),
        "biopsy_taken": "yes",
        "biopsy_result": "Plasma cells",
        "complications": "no",
        "complications_details": "",
        "discharge_date": _today().isoformat(),
    }
    for code, row in levels.items():
        prefix = f"lvl-{code}-"
        data[prefix + "cement_volume_ml"] = row.get("volume", "4.0")
        data[prefix + "leakage"] = row.get("leakage", "no")
        data[prefix + "leakage_sites"] = row.get("sites", [])
        data[prefix + "posterior_wall_defect"] = row.get("defect", "no")
    data.update(overrides)
    return data


@pytest.fixture
def pvp_participant(world):
    participant = randomised(world.own_participant, arm="pvp", days_ago=7)
    SurgicalAssessmentFactory(participant=participant, planned_levels=["T12", "L1"])
    return participant


def test_a_surgeon_records_a_two_level_procedure_and_sees_the_difference_to_the_plan(
    world, pvp_participant
):
    client = _client(world.users[Role.SURGEON])
    url = reverse("trial:procedure", args=[pvp_participant.trial_number])
    assert client.get(url).status_code == 200

    response = client.post(
        url,
        _procedure_post(
            {"L1": {"leakage": "yes", "sites": ["disc", "venous"]}, "L2": {"defect": "unknown"}},
            # A row of an unpicked level is ignored, whatever it holds.
            **{"lvl-T5-cement_volume_ml": "999"},
        ),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    procedure = Procedure.objects.get(participant=pvp_participant)
    levels = {lv.level: lv for lv in procedure.levels.all()}
    assert set(levels) == {"L1", "L2"}
    assert levels["L1"].leakage_sites == ["disc", "venous"]
    assert levels["L2"].posterior_wall_defect is None
    with translation.override("en"):
        page = client.get(pvp_participant.get_absolute_url()).content.decode()
    assert "Planned, not treated: T12." in page
    assert "Treated, not planned: L2." in page
    assert "PVP procedure" in page  # the timeline


def test_the_form_shows_errors_of_the_picked_rows_and_saves_nothing(world, pvp_participant):
    client = _client(world.users[Role.SURGEON])
    url = reverse("trial:procedure", args=[pvp_participant.trial_number])
    response = client.post(
        url,
        _procedure_post({"L1": {"leakage": "yes"}, "L2": {"volume": "40"}}, biopsy_result=""),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Say where the cement leaked." in page
    assert "Ensure this value is less than or equal to 15" in page
    assert "Give the biopsy result" in page
    assert not Procedure.objects.exists()


def test_it_needs_at_least_one_level(world, pvp_participant):
    client = _client(world.users[Role.SURGEON])
    with translation.override("en"):
        response = client.post(
            reverse("trial:procedure", args=[pvp_participant.trial_number]), _procedure_post({})
        )
    assert "Pick at least one treated vertebra." in response.content.decode()


def test_the_conservative_arm_is_refused_a_procedure_with_a_clear_message(world):
    participant = randomised(world.own_participant, arm="conservative", days_ago=7)
    client = _client(world.users[Role.SURGEON])
    url = reverse("trial:procedure", args=[participant.trial_number])
    with translation.override("en"):
        response = client.get(url)
    assert "can be recorded only after a crossover" in response.content.decode()
    response = client.post(url, _procedure_post({"L1": {}}))
    assert response.status_code == 200
    assert not Procedure.objects.exists()


def test_only_the_surgeon_and_the_data_manager_write_procedures(world, pvp_participant):
    url = reverse("trial:procedure", args=[pvp_participant.trial_number])
    data = _procedure_post({"L1": {}})
    for role in (Role.NURSE, Role.HEMATOLOGIST, Role.COORDINATOR, Role.MONITOR):
        assert _client(world.users[role]).post(url, data).status_code == 403, role
    # The hematologist reads it.
    assert _client(world.users[Role.HEMATOLOGIST]).get(url).status_code == 200
    assert not Procedure.objects.exists()
    response = _client(world.users[Role.DATA_MANAGER]).post(url, data)
    assert response.status_code == 302


def test_another_sites_staff_get_404(world, pvp_participant):
    outsider = _client(world.outsider)
    event = AdverseEventFactory(participant=pvp_participant)
    url = reverse("trial:procedure", args=[pvp_participant.trial_number])
    assert outsider.get(url).status_code == 404  # the hematologist only reads procedures
    for url in (
        reverse("trial:adverse_event_create", args=[pvp_participant.trial_number]),
        reverse("trial:adverse_event_edit", args=[pvp_participant.trial_number, event.pk]),
        reverse("trial:crossover", args=[pvp_participant.trial_number]),
        reverse("trial:radiograph", args=[pvp_participant.trial_number, "m12"]),
    ):
        assert outsider.get(url).status_code == 404, url
        assert outsider.post(url, {}).status_code == 404, url


def test_an_event_of_another_participant_is_not_found_under_this_one(world, pvp_participant):
    other = AdverseEventFactory(participant=world.other_participant)
    url = reverse("trial:adverse_event_edit", args=[pvp_participant.trial_number, other.pk])
    assert _client(world.users[Role.DATA_MANAGER]).get(url).status_code == 404


def test_a_nurse_records_a_serious_adverse_event_and_the_coordinator_is_emailed(
    world, pvp_participant, django_capture_on_commit_callbacks
):
    world.users[Role.COORDINATOR].email = "karen@example.org"
    world.users[Role.COORDINATOR].save()
    client = _client(world.users[Role.NURSE])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("trial:adverse_event_create", args=[pvp_participant.trial_number]),
            {
                "description": "Pneumonia",
                "onset_date": _today().isoformat(),
                "grade": "3",
                "serious": "yes",
                "relation": "not_related",
                "outcome": "recovering",
                **sae_report(form=True),
            },
        )
    assert response.status_code == 302
    assert AdverseEvent.objects.get().serious is True
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["karen@example.org"]


def test_the_crossover_page_refuses_day_27_for_a_nurse_and_offers_the_override_to_the_coordinator(
    world,
):
    participant = randomised(world.own_participant, arm="conservative", days_ago=27)
    url = reverse("trial:crossover", args=[participant.trial_number])
    data = {"crossover_date": _today().isoformat(), "reason": "Pain"}
    with translation.override("en"):
        response = _client(world.users[Role.NURSE]).post(url, data)
    assert response.status_code == 200
    assert "this is day 27" in response.content.decode()
    assert "override_reason" not in response.content.decode()

    coordinator = _client(world.users[Role.COORDINATOR])
    assert 'name="override_reason"' in coordinator.get(url).content.decode()
    response = coordinator.post(url, {**data, "override_reason": "Severe pain"})
    assert response.status_code == 302
    assert Crossover.objects.get().early_override_by == world.users[Role.COORDINATOR]


def test_the_sae_list_shows_unacknowledged_first_and_the_coordinator_acknowledges(
    world, django_assert_max_num_queries
):
    own = randomised(world.own_participant, arm="pvp", days_ago=20)
    other = randomised(world.other_participant, arm="pvp", days_ago=20)
    old = AdverseEventFactory(
        participant=own, serious=True, grade=3, onset_date=_today() - dt.timedelta(days=10)
    )
    acknowledged = AdverseEventFactory(
        participant=other,
        serious=True,
        grade=3,
        acknowledged_at=timezone.now(),
        acknowledged_by=world.users[Role.COORDINATOR],
    )
    AdverseEventFactory(participant=own, serious=False, description="Not serious")
    for n in range(5):
        AdverseEventFactory(
            participant=randomised(ParticipantFactory(site=world.own, sequence=10 + n)),
            serious=True,
            grade=4,
        )
    url = reverse("trial:sae_list")
    coordinator = _client(world.users[Role.COORDINATOR])

    with django_assert_max_num_queries(12):
        page = coordinator.get(url).content.decode()
    assert "Not serious" not in page
    assert page.index(f'data-testid="sae-{old.pk}"') < page.index(
        f'data-testid="sae-{acknowledged.pk}"'
    )
    assert f'data-testid="acknowledge-{old.pk}"' in page

    assert _client(world.users[Role.DATA_MANAGER]).post(url, {"ae_id": old.pk}).status_code == 403
    assert _client(world.users[Role.NURSE]).get(url).status_code == 403
    response = coordinator.post(url, {"ae_id": old.pk})
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.acknowledged_by == world.users[Role.COORDINATOR]


def test_the_participant_page_shows_treatment_and_events_in_time_order(world, pvp_participant):
    from trial.treatment import services as tservices

    surgeon = world.users[Role.SURGEON]
    tservices.procedure_record(
        participant=pvp_participant,
        user=surgeon,
        procedure_date=_today() - dt.timedelta(days=5),
        facility="Aarhus",
        anaesthesia="general",
        biopsy_taken=False,
        complications=False,
        levels=[
            {"level": "L1", "cement_volume_ml": 3, "leakage": False, "leakage_sites": []},
        ],
    )
    AdverseEventFactory(
        participant=pvp_participant,
        description="Fever after PVP",
        onset_date=_today() - dt.timedelta(days=4),
    )
    with translation.override("en"):
        page = (
            _client(world.users[Role.NURSE])
            .get(pvp_participant.get_absolute_url())
            .content.decode()
        )
    assert 'data-testid="treatment-panel"' in page
    assert 'data-testid="adverse-events-panel"' in page
    timeline = page[page.index('data-testid="timeline"') :]
    assert timeline.index("PVP procedure") < timeline.index("Adverse event (grade 1)")
    # The nurse records adverse events but not procedures.
    assert 'data-testid="action-adverse-event"' in page
    assert 'data-testid="action-procedure"' not in page


def test_the_audit_history_of_the_participant_includes_the_treated_vertebrae(
    world, pvp_participant
):
    from trial.treatment import services as tservices

    tservices.procedure_record(
        participant=pvp_participant,
        user=world.users[Role.SURGEON],
        procedure_date=_today(),
        facility="Aarhus",
        anaesthesia="local",
        biopsy_taken=False,
        complications=False,
        levels=[{"level": "L4", "cement_volume_ml": 3, "leakage": False, "leakage_sites": []}],
    )
    url = reverse("trial:participant_history", args=[pvp_participant.trial_number])
    page = _client(world.users[Role.MONITOR]).get(url).content.decode()
    assert "Treated vertebra #" in page and "L4" in page
    assert "PVP procedure #" in page
