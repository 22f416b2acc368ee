"""Contacts appear at once: confirming the allocation creates every visit anchored on
randomisation, recording the procedure every visit anchored on it, in the same transaction;
the nightly job then only keeps statuses and catches up."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import transaction

from followup import services
from followup.models import Contact
from randomization import services as rservices
from tests.factories import randomised
from tests.randomization.conftest import make_batch, make_ready
from trial.models import ParticipantStatus, Role
from trial.protocol import active_schedule
from trial.treatment import services as tservices

pytestmark = pytest.mark.django_db


def _randomise_and_confirm(world):
    hematologist = world.users[Role.HEMATOLOGIST]
    participant = make_ready(world.own, hematologist)
    make_batch(world.own, "A1N", 4)
    allocation = rservices.participant_randomize(participant=participant, user=hematologist)
    before_confirm = Contact.objects.filter(participant=participant).count()
    rservices.allocation_confirm(
        allocation=allocation,
        user=hematologist,
        serial=allocation.envelope.serial,
        arm=allocation.arm,
    )
    return participant, allocation, before_confirm


def _windows(participant) -> dict[str, tuple]:
    return {
        c.visit_code: (c.window_opens, c.target_date, c.window_closes, c.status)
        for c in Contact.objects.filter(participant=participant)
    }


def test_confirming_the_allocation_creates_every_randomisation_visit_with_its_window(
    world, fixed_day
):
    participant, _allocation, before_confirm = _randomise_and_confirm(world)

    assert before_confirm == 0
    got = _windows(participant)
    expected_codes = {v.code for v in active_schedule().visits if v.anchor == "randomisation"}
    assert set(got) == expected_codes and len(got) == 14
    day = fixed_day
    assert got["W1"] == (
        day + dt.timedelta(days=4),
        day + dt.timedelta(days=7),
        day + dt.timedelta(days=10),
        "planned",
    )
    assert got["M3"][:3] == (
        day + dt.timedelta(days=77),
        day + dt.timedelta(days=91),
        day + dt.timedelta(days=105),
    )
    assert got["M12"][:3] == (
        day + dt.timedelta(days=335),
        day + dt.timedelta(days=365),
        day + dt.timedelta(days=395),
    )
    # The surgical control waits for a procedure.
    assert "SC" not in got


def test_the_contacts_roll_back_with_the_confirmation(world, fixed_day):
    with transaction.atomic():
        participant, _allocation, _ = _randomise_and_confirm(world)
        assert Contact.objects.filter(participant=participant).count() == 14
        transaction.set_rollback(True)
    assert Contact.objects.count() == 0


def test_the_nightly_job_creates_nothing_more_and_keeps_the_statuses(world, fixed_day):
    participant, _allocation, _ = _randomise_and_confirm(world)
    rows = list(Contact.objects.order_by("id").values())

    for days_later in (0, 1, 4, 30):
        day = fixed_day + dt.timedelta(days=days_later)
        assert services.contacts_create_due(today=day, catch_up_days=-1) == 0
    assert list(Contact.objects.order_by("id").values()) == rows

    # The nightly status pass still moves them: W1 is due when its window opens.
    services.contacts_update_status(today=fixed_day + dt.timedelta(days=4))
    assert Contact.objects.get(participant=participant, visit_code="W1").status == "due"
    # And a second call of the hook is a no-op too.
    assert services.contacts_create_for(participant=participant) == 0
    assert Contact.objects.filter(participant=participant).count() == 14


def test_contacts_the_nightly_job_made_first_are_kept(world, fixed_day):
    participant = randomised(world.own_participant, days_ago=0)
    assert services.contacts_create_due(today=fixed_day) == 1  # W1 opens within the week
    w1 = Contact.objects.get(participant=participant)

    assert services.contacts_create_for(participant=participant) == 13
    assert Contact.objects.get(participant=participant, visit_code="W1").pk == w1.pk


def test_only_participants_in_follow_up_get_contacts(world, fixed_day):
    participant = randomised(world.own_participant, days_ago=3)
    participant.status = ParticipantStatus.WITHDRAWN
    participant.save(update_fields=["status"])

    assert services.contacts_create_for(participant=participant) == 0
    assert not Contact.objects.exists()


def test_a_late_confirmation_creates_past_windows_as_missed(world, fixed_day):
    participant = randomised(world.own_participant, days_ago=12)

    services.contacts_create_for(participant=participant)

    got = _windows(participant)
    assert got["W1"][3] == "missed"  # closed on day 10
    assert got["W2"][3] == "due"  # open from day 11 to day 17
    assert got["W3"][3] == "planned"


def test_an_arm_specific_visit_is_created_only_in_its_arm(world, fixed_day, settings, tmp_path):
    def visit(code, arms):
        return {
            "code": code,
            "label": code,
            "anchor": "randomisation",
            "day": 7,
            "window_before": 2,
            "window_after": 2,
            "collects": ["vas_back"],
            "arms": arms,
        }

    path = tmp_path / "arms.json"
    path.write_text(
        json.dumps(
            {
                "code": "arms",
                "label": "arm test",
                "visits": [
                    visit("ALL", None),
                    visit("PVPONLY", ["pvp"]),
                    visit("CONSONLY", ["conservative"]),
                ],
            }
        )
    )
    settings.FOLLOWUP_SCHEDULE = str(path)

    participant, allocation, _ = _randomise_and_confirm(world)

    own_arm = "PVPONLY" if allocation.arm == "pvp" else "CONSONLY"
    assert set(_windows(participant)) == {"ALL", own_arm}


def _procedure(participant, user, day):
    return tservices.procedure_record(
        participant=participant,
        user=user,
        procedure_date=day,
        facility="Aarhus spine surgery",
        anaesthesia="local",
        biopsy_taken=False,
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
        reason="date typed wrong" if participant.contacts.filter(visit_code="SC").exists() else "",
    )


def test_recording_the_procedure_creates_the_surgical_control(world, fixed_day):
    surgeon = world.users[Role.SURGEON]
    participant = randomised(world.own_participant, arm="pvp", days_ago=5)
    services.contacts_create_for(participant=participant)
    assert not Contact.objects.filter(participant=participant, visit_code="SC").exists()

    procedure_day = fixed_day - dt.timedelta(days=2)
    _procedure(participant, surgeon, procedure_day)

    sc = Contact.objects.get(participant=participant, visit_code="SC")
    assert (sc.anchor, sc.anchor_date) == ("procedure", procedure_day)
    assert (sc.window_opens, sc.target_date, sc.window_closes) == (
        procedure_day + dt.timedelta(days=70),
        procedure_day + dt.timedelta(days=84),
        procedure_day + dt.timedelta(days=98),
    )
    assert sc.kind == "clinic" and sc.status == "planned"


def test_a_corrected_procedure_date_moves_the_open_surgical_control(world, fixed_day):
    surgeon = world.users[Role.SURGEON]
    participant = randomised(world.own_participant, arm="pvp", days_ago=5)
    _procedure(participant, surgeon, fixed_day - dt.timedelta(days=1))
    sc = Contact.objects.get(participant=participant, visit_code="SC")

    corrected = fixed_day - dt.timedelta(days=3)
    _procedure(participant, surgeon, corrected)

    moved = Contact.objects.get(participant=participant, visit_code="SC")
    assert moved.pk == sc.pk
    assert (moved.anchor_date, moved.target_date) == (corrected, corrected + dt.timedelta(84))
    assert moved.history.first().history_change_reason == "procedure date corrected"
    # The weekly calls, anchored on randomisation, did not move.
    assert Contact.objects.get(participant=participant, visit_code="W1").anchor_date == (
        fixed_day - dt.timedelta(days=5)
    )
